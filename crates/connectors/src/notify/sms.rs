//! SMS through an HTTP provider, Twilio's Messages resource by default
//! (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource): a form POST of
//! `To`, `From` and `Body` with HTTP basic auth. Providers with the same shape (most of them) work by
//! pointing the URL elsewhere.

pub mod transformers;

use std::time::Duration;

use super::{ConfigError, Outgoing, SendError, SmsSender};
use transformers::{ProviderReply, form};

#[derive(Clone)]
pub struct HttpSms {
    client: reqwest::Client,
    url: reqwest::Url,
    user: Option<String>,
    password: Option<String>,
    from: String,
}

impl HttpSms {
    pub fn new(url: &str, user: Option<String>, password: Option<String>, from: &str) -> Result<HttpSms, ConfigError> {
        let url = reqwest::Url::parse(url).map_err(|e| ConfigError(format!("SMS url {url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError(format!("SMS url {url}: use http or https")));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        Ok(HttpSms { client, url, user, password, from: from.to_owned() })
    }
}

impl SmsSender for HttpSms {
    async fn send_sms(&self, m: &Outgoing) -> Result<(), SendError> {
        let mut req = self.client.post(self.url.clone()).header("Idempotency-Key", &m.id).form(&form(m, &self.from));
        if let Some(user) = &self.user {
            req = req.basic_auth(user, self.password.as_deref());
        }
        let resp = req.send().await.map_err(|e| SendError::Temporary(format!("SMS provider unreachable: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.text().await.unwrap_or_default();
        let why = ProviderReply::explain(status.as_u16(), &body);
        // Rate limits and server trouble pass; anything else the provider refused will be refused again.
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Temporary(why))
        } else {
            Err(SendError::Permanent(why))
        }
    }
}
