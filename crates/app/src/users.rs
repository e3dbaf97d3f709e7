//! Console users: Argon2id password hashes, sessions behind an HttpOnly cookie, a CSRF token per session.
//! A session's cookie holds a random secret; only its SHA-256 is stored, as for API tokens.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use codflow_domain::zone::Zone;
use codflow_domain::{Actor, AuditRecord, Role, UserId, Username};
pub use codflow_store::users::Prefs;
use codflow_store::users::{self as ustore, StoredUser};
use codflow_store::{commit, orders};
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::auth::hash_token;
use crate::error::ConflictKind;
use crate::{Admin, Error, Result};

/// How long a session lives after login.
pub const SESSION_TTL: Duration = Duration::hours(12);
const MIN_PASSWORD: usize = 10;
/// Longer passwords are refused before they are hashed.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Who is signed in to the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleUser {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    /// The session's CSRF token: every form carries it, every POST must match it.
    pub csrf: String,
    pub expires_at: OffsetDateTime,
    pub prefs: Prefs,
    /// The zone times are shown in: the user's own, else the seller's.
    pub zone: Zone,
}

impl ConsoleUser {
    /// The name colleagues see: the display name, else the username.
    pub fn shown_name(&self) -> &str {
        if self.prefs.display_name.is_empty() { &self.username } else { &self.prefs.display_name }
    }
}

/// Languages the console speaks, by their tags.
pub const LOCALES: [&str; 2] = ["en", "zh"];
/// The seller's time zone setting's key.
const TIME_ZONE: &str = "time_zone";

/// A new session: the cookie's secret (shown to the browser only) and who it is for.
#[derive(Clone, Debug)]
pub struct Login {
    pub secret: String,
    pub user: ConsoleUser,
}

fn argon() -> Argon2<'static> {
    // OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// `bytes` random bytes as hex: session secrets, CSRF tokens, generated passwords.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(codflow_domain::text::hex(&b))
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Unavailable(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::invalid("password", e.to_string()))?;
    Ok(argon()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::invalid("password", e.to_string()))?
        .to_string())
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
}

/// Hashed once per process and verified against when a username is unknown, so a wrong username takes as
/// long as a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password never used").unwrap_or_default())
}

impl Admin {
    /// Adds a console user with a password of at least ten characters.
    pub async fn create_user(&self, username: &str, password: &str, role: Role, actor: Actor) -> Result<UserId> {
        let username = Username::parse(username).map_err(|e| Error::invalid("username", e.to_string()))?;
        if password.chars().count() < MIN_PASSWORD {
            return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD} characters")));
        }
        let password = password.to_owned();
        let turn = self.logins.hashing_turn().await?;
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| Error::Failed(e.to_string()))??;
        drop(turn);
        let user = StoredUser {
            id: UserId::generate(),
            username: username.as_str().to_owned(),
            password_hash: hash,
            role,
            disabled: false,
            prefs: Prefs::default(),
        };
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !ustore::insert(&mut tx, &user, now).await? {
            return Err(Error::Conflict { kind: ConflictKind::UsernameTaken, message: format!("{username} is taken") });
        }
        let a = AuditRecord::change("user", user.id.to_string(), "create", None, Some(role.to_string()), actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(user.id)
    }

    /// Checks a username and password; a session on success, None otherwise (which of the two was wrong
    /// is not told). Failures are counted per username and per client address `from`; past the limits
    /// the answer is `RateLimited` until the lock ends (see [`crate::throttle`]).
    pub async fn login(&self, username: &str, password: &str, from: Option<IpAddr>) -> Result<Option<Login>> {
        let started = std::time::Instant::now();
        self.logins.check(username, from, started)?;
        if password.len() > MAX_PASSWORD_BYTES {
            self.logins.failed(username, from, started);
            return Ok(None);
        }
        let user = ustore::by_username(&mut *self.store.read().await?, username.trim()).await?;
        let (phc, password) =
            (user.as_ref().map_or_else(|| decoy().to_owned(), |u| u.password_hash.clone()), password.to_owned());
        let turn = self.logins.hashing_turn().await?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false);
        drop(turn);
        let Some(user) = user.filter(|u| ok && !u.disabled) else {
            self.logins.failed(username, from, std::time::Instant::now());
            return Ok(None);
        };
        self.logins.succeeded(username);
        let (secret, csrf) = (random_hex(32)?, random_hex(16)?);
        let now = self.clock().now();
        let expires_at = now + SESSION_TTL;
        let mut tx = self.store.begin().await?;
        ustore::delete_expired(&mut tx, now).await?;
        ustore::insert_session(&mut tx, &hash_token(&secret), &user.id, &csrf, now, expires_at).await?;
        commit(tx).await?;
        let zone = self.zone_for(&user.prefs).await?;
        Ok(Some(Login {
            secret,
            user: ConsoleUser {
                id: user.id,
                username: user.username,
                role: user.role,
                csrf,
                expires_at,
                prefs: user.prefs,
                zone,
            },
        }))
    }

    /// The user behind a session cookie, while the session lives.
    pub async fn console_session(&self, secret: &str) -> Result<Option<ConsoleUser>> {
        let found = ustore::session(&mut *self.store.read().await?, &hash_token(secret), self.clock().now()).await?;
        let Some((u, csrf, expires_at)) = found else { return Ok(None) };
        let zone = self.zone_for(&u.prefs).await?;
        Ok(Some(ConsoleUser { id: u.id, username: u.username, role: u.role, csrf, expires_at, prefs: u.prefs, zone }))
    }

    /// The zone a user sees times in: their own when they chose one, else the seller's.
    async fn zone_for(&self, prefs: &Prefs) -> Result<Zone> {
        if let (false, Ok(z)) = (prefs.time_zone.is_empty(), Zone::parse(&prefs.time_zone)) {
            return Ok(z);
        }
        self.seller_time_zone().await
    }

    /// The seller's time zone (UTC until one is set).
    pub async fn seller_time_zone(&self) -> Result<Zone> {
        let found = codflow_store::review::settings_of(&mut *self.store.read().await?, &[TIME_ZONE]).await?;
        crate::settings::stored(&found, TIME_ZONE, Zone::utc(), |v| Zone::parse(v).ok())
    }

    pub async fn set_seller_time_zone(&self, name: &str, actor: Actor) -> Result<Zone> {
        let zone = Zone::parse(name).map_err(|e| Error::invalid("time_zone", e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        codflow_store::review::set_setting(&mut tx, TIME_ZONE, zone.name(), now).await?;
        let a =
            AuditRecord::change("setting", TIME_ZONE.into(), "update", None, Some(zone.name().to_owned()), actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(zone)
    }

    /// Sets a user's own name, language and time zone (empty: the seller's setting, the browser's language).
    pub async fn set_prefs(&self, user: &UserId, prefs: Prefs) -> Result<Prefs> {
        let prefs = Prefs {
            display_name: {
                let name = prefs.display_name.trim();
                codflow_domain::text::line(name, 80).map_err(|e| Error::invalid("display_name", e.to_string()))?;
                name.to_owned()
            },
            locale: match prefs.locale.trim() {
                "" => String::new(),
                l if LOCALES.contains(&l) => l.to_owned(),
                _ => return Err(Error::invalid("locale", format!("must be one of {}", LOCALES.join(", ")))),
            },
            time_zone: match prefs.time_zone.trim() {
                "" => String::new(),
                z => Zone::parse(z).map_err(|e| Error::invalid("time_zone", e.to_string()))?.name().to_owned(),
            },
        };
        let mut tx = self.store.begin().await?;
        if !ustore::set_prefs(&mut tx, user, &prefs, self.clock().now()).await? {
            return Err(Error::NotFound("user"));
        }
        commit(tx).await?;
        Ok(prefs)
    }

    /// The name each user is shown by, keyed by user id.
    pub async fn user_names(&self) -> Result<std::collections::HashMap<String, String>> {
        Ok(ustore::names(&mut *self.store.read().await?).await?.into_iter().collect())
    }

    /// Disables a user (every session ends at once; logins are refused) or enables one again.
    pub async fn set_user_disabled(&self, username: &str, disabled: bool, actor: Actor) -> Result<UserId> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let id = ustore::set_disabled(&mut tx, username.trim(), disabled, now).await?.ok_or(Error::NotFound("user"))?;
        let what = if disabled { "disable" } else { "enable" };
        let a = AuditRecord::change("user", id.to_string(), what, None, None, actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(id)
    }

    /// Every console user, by name (without password hashes).
    pub async fn users(&self) -> Result<Vec<(UserId, String, Role, bool)>> {
        let all = ustore::list(&mut *self.store.read().await?).await?;
        Ok(all.into_iter().map(|u| (u.id, u.username, u.role, u.disabled)).collect())
    }

    pub async fn logout(&self, secret: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        ustore::delete_session(&mut tx, &hash_token(secret)).await?;
        commit(tx).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_argon2id_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery!", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }
}
