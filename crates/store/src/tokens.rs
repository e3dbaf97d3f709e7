//! API tokens. Only a hash of each token is stored: a leaked database does not leak working tokens.

use codflow_domain::{Role, TokenId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::Result;
use crate::db::micros;

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
