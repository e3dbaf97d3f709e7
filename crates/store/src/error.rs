/// Everything the store can fail with. Callers map these to their own layer's errors; none of the text
/// here is meant for an API client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration { version: i64, name: &'static str, source: sqlx::Error },
    #[error("stored row is not valid: {0}")]
    Corrupt(String),
    #[error("unsupported database url {0:?}: use sqlite://PATH or postgres://...")]
    Url(String),
}

impl Error {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    pub fn is_check_violation(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(e)) if e.is_check_violation())
    }
}

impl From<codflow_domain::Error> for Error {
    fn from(e: codflow_domain::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
