use codflow_domain::FieldErrors;

/// What a use case can answer besides success. The web layer maps each to one status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A signature or signed link that does not verify.
    #[error("the signature does not match")]
    Unauthorized,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many attempts (logins): try again after the given seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(#[from] codflow_store::Error),
}

impl Error {
    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::default();
        e.push(path, message);
        Error::Invalid(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
