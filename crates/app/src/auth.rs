//! API tokens: random secrets shown once, stored as SHA-256 hashes. A hash is enough (no Argon2) because a
//! token has 256 bits of entropy; nobody can guess one from its hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use codflow_domain::{Role, TokenId};
use codflow_store::tokens;
use sha2::{Digest, Sha256};

use crate::{App, Error, Result};

/// Who is calling, as proven by a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token: TokenId,
    pub role: Role,
}

/// Recently verified tokens, so the hot path does not hit the database per request. Entries live briefly
/// so a revoked token stops working within the TTL.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

const TOKEN_TTL: Duration = Duration::from_secs(30);

pub fn hash_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Conflict { code: "no_entropy", message: e.to_string() })?;
    Ok(format!("cf_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

impl App {
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
