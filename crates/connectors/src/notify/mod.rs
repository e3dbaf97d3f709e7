//! Buyer notifications: one capability per channel, so a deployment can have email without SMS or the
//! reverse, and tests can swap in a local server without touching the dispatcher.

pub mod sms;
pub mod smtp;

use std::future::Future;

pub use sms::HttpSms;
pub use smtp::SmtpMailer;

/// One message to send. `id` is stable across retries so receivers can drop a repeat (it becomes the
/// email Message-ID and the SMS idempotency key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub id: String,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The receiver refused the message for good (bad address, rejected content): do not retry.
    #[error("refused: {0}")]
    Permanent(String),
    /// A failure that may pass: network, a busy server, rate limits.
    #[error("temporary failure: {0}")]
    Temporary(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub trait EmailSender: Send + Sync {
    fn send_email(&self, m: &Outgoing) -> impl Future<Output = Result<(), SendError>> + Send;
}

pub trait SmsSender: Send + Sync {
    fn send_sms(&self, m: &Outgoing) -> impl Future<Output = Result<(), SendError>> + Send;
}
