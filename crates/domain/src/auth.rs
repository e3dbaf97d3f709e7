use std::fmt;

use crate::Error;

/// What a token may do. Ordered by nothing: each endpoint names the roles it admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Ops,
    Warehouse,
    Finance,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Ops, Role::Warehouse, Role::Finance, Role::Viewer];

    pub fn parse(s: &str) -> Result<Role, Error> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            Error::invalid("role", format!("unknown role {s:?} (admin, ops, warehouse, finance or viewer)"))
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Ops => "ops",
            Role::Warehouse => "warehouse",
            Role::Finance => "finance",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A console login name: 3 to 64 characters of lowercase letters, digits, `.`, `_` and `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, Error> {
        let s = s.trim();
        let ok = (3..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(Error::invalid("username", "3 to 64 of a-z, 0-9, '.', '_' and '-'"));
        }
        Ok(Username(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_short_lowercase_words() {
        assert_eq!(Username::parse(" amina.k ").unwrap().as_str(), "amina.k");
        for bad in ["ab", "Amina", "a b", "x".repeat(65).as_str(), "amina@shop"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
