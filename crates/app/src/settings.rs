//! Settings read back from their table. Each is checked by the use case that writes it; a stored value that
//! does not read (a hand edit, a bad migration) is an error naming its key, never a silent default.

use std::collections::HashMap;

use codflow_domain::Actor;
use codflow_store::{Conn, Store, commit};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Result;

/// Where the public tracking page lives until a deployment sets `public_base_url` and `serve` has said
/// where it is reachable.
const FALLBACK_PUBLIC_URL: &str = "http://localhost:8080";

static PUBLIC_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The address this process is reached at from outside (`serve --public-url`, or its listen address),
/// used for tracking links and label QR codes until the seller sets `public_base_url`. Set once per
/// process, at start; later calls change nothing.
pub fn set_public_url_default(url: &str) {
    let _ = PUBLIC_URL.set(url.trim().trim_end_matches('/').to_owned());
}

pub(crate) fn default_public_url() -> String {
    PUBLIC_URL.get().cloned().unwrap_or_else(|| FALLBACK_PUBLIC_URL.into())
}

/// Where the public tracking page lives.
pub(crate) async fn public_url(conn: &mut Conn) -> Result<String> {
    Ok(public_url_of(&codflow_store::review::settings_of(conn, &["public_base_url"]).await?))
}

pub(crate) fn public_url_of(found: &HashMap<String, String>) -> String {
    found.get("public_base_url").filter(|u| !u.is_empty()).cloned().unwrap_or_else(default_public_url)
}

/// The value under `key`, `default` when the key was never written.
pub(crate) fn stored<T>(
    found: &HashMap<String, String>,
    key: &str,
    default: T,
    read: impl FnOnce(&str) -> Option<T>,
) -> Result<T> {
    match found.get(key) {
        None => Ok(default),
        Some(v) => read(v).ok_or_else(|| {
            let shown: String = v.chars().take(60).collect();
            codflow_store::Error::Corrupt(format!("setting {key} holds {shown:?}, which does not read")).into()
        }),
    }
}

/// A whole number under `key`.
pub(crate) fn int(found: &HashMap<String, String>, key: &str, default: i64) -> Result<i64> {
    stored(found, key, default, |v| v.trim().parse().ok())
}

/// A setting kept as JSON, its default when never written.
pub(crate) async fn json_setting<T: Default + for<'de> Deserialize<'de>>(store: &Store, key: &str) -> Result<T> {
    match codflow_store::review::setting(&mut *store.read().await?, key).await? {
        Some(json) => {
            Ok(serde_json::from_str(&json).map_err(|e| codflow_store::Error::Corrupt(format!("setting {key}: {e}")))?)
        }
        None => Ok(T::default()),
    }
}

/// Writes a JSON setting (checked by the caller) and audits it.
pub(crate) async fn put_json_setting<T: Serialize>(
    store: &Store,
    key: &str,
    v: &T,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<()> {
    let json = serde_json::to_string(v).map_err(|e| codflow_store::Error::Corrupt(e.to_string()))?;
    let mut tx = store.begin().await?;
    codflow_store::review::set_setting(&mut tx, key, &json, now).await?;
    let audit = codflow_domain::AuditRecord {
        id: codflow_domain::AuditId::generate(),
        entity: "setting",
        entity_id: key.to_owned(),
        action: "update".into(),
        from_status: None,
        to_status: None,
        actor: actor.clone(),
        reason: Some(json),
        at: now,
    };
    codflow_store::orders::insert_audit(&mut tx, &[audit]).await?;
    commit(tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_its_default_and_a_bad_value_is_an_error_naming_the_key() {
        let found =
            HashMap::from([("grace".to_owned(), "14".to_owned()), ("auto".to_owned(), "yes please".to_owned())]);
        assert_eq!(int(&found, "grace", 7).unwrap(), 14);
        assert_eq!(int(&found, "absent", 7).unwrap(), 7);
        let e = stored(&found, "auto", false, |v| v.parse::<bool>().ok()).unwrap_err();
        assert!(e.to_string().contains("setting auto holds \"yes please\""), "{e}");
    }
}
