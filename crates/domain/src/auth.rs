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
