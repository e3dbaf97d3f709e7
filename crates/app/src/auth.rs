//! API tokens: random secrets shown once, stored as SHA-256 hashes. A hash is enough (no Argon2) because a
//! token has 256 bits of entropy; nobody can guess one from its hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use codflow_domain::{Actor, AuditRecord, Role, TokenId};
use codflow_store::tokens;
use sha2::{Digest, Sha256};

use crate::{Admin, Error, Result};

/// Who is calling, as proven by a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token: TokenId,
    pub role: Role,
}

/// Recently verified tokens, so the hot path does not hit the database per request. A revocation through
/// this process empties the cache at once; one made by another process (the CLI, another node) is seen
/// by the count of revoked tokens, read at most every `REVOCATION_CHECK`.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
    /// The count of revoked tokens the entries were verified under, and when it was last read.
    revoked: Mutex<Option<(i64, Instant)>>,
}

const TOKEN_TTL: Duration = Duration::from_secs(30);
pub const REVOCATION_CHECK: Duration = Duration::from_millis(500);

impl TokenCache {
    fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }

    /// Whether the revoked count must be read again before a cached entry is trusted.
    fn revocations_due(&self) -> bool {
        self.revoked.lock().map_or(true, |r| r.is_none_or(|(_, at)| at.elapsed() >= REVOCATION_CHECK))
    }

    /// Records the count just read; a change empties the cache.
    fn revocations_seen(&self, count: i64) {
        if let Ok(mut r) = self.revoked.lock() {
            if r.is_some_and(|(c, _)| c != count) {
                self.clear();
            }
            *r = Some((count, Instant::now()));
        }
    }
}

pub fn hash_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    codflow_domain::text::hex(&digest)
}

fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(format!("cf_{}", codflow_domain::text::hex(&bytes)))
}

impl Admin {
    /// Creates a token and returns its secret: the only time the secret is ever visible.
    pub async fn create_token(&self, role: Role, name: &str) -> Result<(TokenId, String)> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Error::invalid("name", "a token name is 1 to 100 characters"));
        }
        let secret = random_secret()?;
        let id = TokenId::generate();
        let mut tx = self.store.begin().await?;
        tokens::insert(&mut tx, &id, name, role, &hash_token(&secret)).await?;
        codflow_store::commit(tx).await?;
        Ok((id, secret))
    }

    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>> {
        let hash = hash_token(secret);
        if self.tokens.revocations_due() {
            let count = tokens::revoked_count(&mut *self.store.read().await?).await?;
            self.tokens.revocations_seen(count);
        }
        if let Ok(cache) = self.tokens.entries.lock()
            && let Some((p, at)) = cache.get(&hash)
            && at.elapsed() < TOKEN_TTL
        {
            return Ok(Some(p.clone()));
        }
        let mut conn = self.store.read().await?;
        let found = tokens::find_by_hash(&mut conn, &hash).await?;
        let principal = found.map(|(token, role)| Principal { token, role });
        if let (Some(p), Ok(mut cache)) = (&principal, self.tokens.entries.lock()) {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash, (p.clone(), Instant::now()));
        }
        Ok(principal)
    }
}

impl Admin {
    /// Every token, newest last, without secrets.
    pub async fn tokens(&self) -> Result<Vec<tokens::StoredToken>> {
        Ok(tokens::list(&mut *self.store.read().await?).await?)
    }

    /// Revokes a token: no request with it succeeds after this returns, in this process, and in any
    /// other within `REVOCATION_CHECK`.
    pub async fn revoke_token(&self, id: &TokenId, actor: Actor) -> Result<()> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !tokens::revoke(&mut tx, id, now).await? {
            return Err(Error::NotFound("live token"));
        }
        let a = AuditRecord::change("api_token", id.to_string(), "revoke", None, None, actor, now);
        codflow_store::orders::insert_audit(&mut tx, &[a]).await?;
        codflow_store::commit(tx).await?;
        self.tokens.clear();
        Ok(())
    }
}
