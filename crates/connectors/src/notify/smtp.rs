//! Email over SMTP (RFC 5321; submission per RFC 6409) with lettre. `smtp://host:port` sends in the clear
//! (a local relay), `smtp://host?tls=required` upgrades with STARTTLS, `smtps://host` uses implicit TLS;
//! credentials go in the URL's user info.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{ConfigError, EmailSender, Outgoing, SendError};

#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, ConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| ConfigError(format!("SMTP url {url:?}: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|e| ConfigError(format!("sender address {from:?}: {e}")))?;
        Ok(SmtpMailer { transport, from })
    }
}

impl EmailSender for SmtpMailer {
    async fn send_email(&self, m: &Outgoing) -> Result<(), SendError> {
        let to: Mailbox = m.to.parse().map_err(|e| SendError::Permanent(format!("recipient {:?}: {e}", m.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone().unwrap_or_default())
            .message_id(Some(format!("<{}@codflow>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Temporary(e.to_string())),
        }
    }
}
