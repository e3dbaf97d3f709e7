//! API tokens. Only a hash of each token is stored: a leaked database does not leak working tokens.

use codflow_domain::{Role, TokenId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::Result;
use crate::db::{from_micros, micros};

pub async fn insert(conn: &mut AnyConnection, id: &TokenId, name: &str, role: Role, token_hash: &str) -> Result<()> {
    sqlx::query("INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(name)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(micros(OffsetDateTime::now_utc()))
        .execute(conn)
        .await?;
    Ok(())
}

/// The live (not revoked) token with this hash.
pub async fn find_by_hash(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<(TokenId, Role)>> {
    let row = sqlx::query("SELECT id, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((TokenId::parse(&r.try_get::<String, _>("id")?)?, Role::parse(&r.try_get::<String, _>("role")?)?)))
        .transpose()
}

/// A token as listed: never its secret or hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<StoredToken>> {
    let rows = sqlx::query("SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY id")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredToken {
                id: TokenId::parse(&r.try_get::<String, _>("id")?)?,
                name: r.try_get("name")?,
                role: Role::parse(&r.try_get::<String, _>("role")?)?,
                created_at: from_micros(r.try_get("created_at")?),
                revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_micros),
            })
        })
        .collect()
}

/// Revokes a live token; false when there is no such live token.
pub async fn revoke(conn: &mut AnyConnection, id: &TokenId, at: OffsetDateTime) -> Result<bool> {
    Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(micros(at))
        .bind(id.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// How many tokens have ever been revoked: a process's token cache is stale once this moves.
pub async fn revoked_count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NOT NULL")
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}
