use std::fmt;

/// Every way a domain value or rule can refuse its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Invalid { what: &'static str, message: String },
    #[error("currency {found} differs from {expected}")]
    CurrencyMismatch { expected: String, found: String },
    #[error("amount out of range")]
    Overflow,
    #[error("an order cannot go from {from} to {to}")]
    IllegalTransition { from: String, to: String },
}

impl Error {
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { what, message: message.into() }
    }
}

/// One problem with one field of a larger input, addressed by a JSON-style path (`lines[0].quantity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects field problems so a caller sees all of them at once rather than one per attempt.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { path: path.into(), message: message.into() });
    }

    /// Keeps the value when `r` is Ok, records the error under `path` otherwise.
    pub fn take<T>(&mut self, path: impl Into<String>, r: Result<T, Error>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(path, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
