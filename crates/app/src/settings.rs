//! Settings read back from their table. Each is checked by the use case that writes it; a stored value that
//! does not read (a hand edit, a bad migration) is an error naming its key, never a silent default.

use std::collections::HashMap;

use crate::Result;

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
