//! Console users and their sessions.

use codflow_domain::{Role, UserId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::Result;
use crate::db::{from_micros, micros};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUser {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub prefs: Prefs,
}

/// What a user chose for themselves; empty strings when they left it to the seller's settings or the browser.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefs {
    pub display_name: String,
    pub locale: String,
    pub time_zone: String,
}

/// Adds a user; false when the username is taken.
pub async fn insert(conn: &mut AnyConnection, u: &StoredUser, at: OffsetDateTime) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (username) DO NOTHING",
    )
    .bind(u.id.as_str())
    .bind(&u.username)
    .bind(&u.password_hash)
    .bind(u.role.as_str())
    .bind(i64::from(u.disabled))
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

fn user_of(r: &sqlx::any::AnyRow) -> Result<StoredUser> {
    Ok(StoredUser {
        id: UserId::parse(r.try_get::<&str, _>("id")?)?,
        username: r.try_get("username")?,
        password_hash: r.try_get("password_hash")?,
        role: Role::parse(r.try_get::<&str, _>("role")?)?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        prefs: Prefs {
            display_name: r.try_get("display_name")?,
            locale: r.try_get("locale")?,
            time_zone: r.try_get("time_zone")?,
        },
    })
}

pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<StoredUser>> {
    let r = sqlx::query("SELECT id, username, password_hash, role, disabled, display_name, locale, time_zone FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await?;
    r.as_ref().map(user_of).transpose()
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    user: &UserId,
    csrf: &str,
    at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash)
        .bind(user.as_str())
        .bind(csrf)
        .bind(micros(at))
        .bind(micros(expires_at))
        .execute(conn)
        .await?;
    Ok(())
}

/// The user of a live session (not expired at `now`, user not disabled), with the session's CSRF token
/// and expiry.
pub async fn session(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<(StoredUser, String, OffsetDateTime)>> {
    let r = sqlx::query(
        "SELECT u.id, u.username, u.password_hash, u.role, u.disabled, u.display_name, u.locale, u.time_zone, \
                s.csrf, s.expires_at \
           FROM sessions s JOIN users u ON u.id = s.user_id \
          WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
    )
    .bind(token_hash)
    .bind(micros(now))
    .fetch_optional(conn)
    .await?;
    r.map(|r| Ok((user_of(&r)?, r.try_get("csrf")?, from_micros(r.try_get("expires_at")?)))).transpose()
}

pub async fn delete_session(conn: &mut AnyConnection, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(conn).await?;
    Ok(())
}

/// Forgets sessions expired before `now`.
pub async fn delete_expired(conn: &mut AnyConnection, now: OffsetDateTime) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(micros(now))
        .execute(conn)
        .await?
        .rows_affected())
}

/// Disables or enables a user by name, ending every session of a disabled one; the user's id when found.
pub async fn set_disabled(
    conn: &mut AnyConnection,
    username: &str,
    disabled: bool,
    at: OffsetDateTime,
) -> Result<Option<UserId>> {
    let r = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE username = $3 RETURNING id")
        .bind(i64::from(disabled))
        .bind(micros(at))
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = r else { return Ok(None) };
    let id = UserId::parse(&r.try_get::<String, _>("id")?)?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.as_str()).execute(conn).await?;
    }
    Ok(Some(id))
}

/// Every user, by name.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<StoredUser>> {
    let rows = sqlx::query("SELECT id, username, password_hash, role, disabled, display_name, locale, time_zone FROM users ORDER BY username")
        .fetch_all(conn)
        .await?;
    rows.iter().map(user_of).collect()
}

/// Sets a user's own preferences; false when there is no such user.
pub async fn set_prefs(conn: &mut AnyConnection, user: &UserId, p: &Prefs, at: OffsetDateTime) -> Result<bool> {
    let r =
        sqlx::query("UPDATE users SET display_name = $1, locale = $2, time_zone = $3, updated_at = $4 WHERE id = $5")
            .bind(&p.display_name)
            .bind(&p.locale)
            .bind(&p.time_zone)
            .bind(micros(at))
            .bind(user.as_str())
            .execute(conn)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// The names people are shown by, keyed by user id: the display name, else the username.
pub async fn names(conn: &mut AnyConnection) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT id, username, display_name FROM users").fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let shown: String = r.try_get("display_name")?;
            let shown = if shown.is_empty() { r.try_get("username")? } else { shown };
            Ok((r.try_get("id")?, shown))
        })
        .collect()
}
