//! OAuth 2.0 refresh-token grant (RFC 6749 §6), as Login with Amazon and eBay use it: a long-lived refresh
//! token buys short-lived access tokens, kept until shortly before they expire.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{SalesError, fetch, json, transport};

#[derive(serde::Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

pub(crate) struct RefreshToken {
    pub url: reqwest::Url,
    /// Form fields of the exchange besides `grant_type`.
    pub form: Vec<(&'static str, String)>,
    /// eBay wants the client id and secret as HTTP Basic; Amazon in the form.
    pub basic: Option<(String, String)>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl RefreshToken {
    pub fn new(url: reqwest::Url, form: Vec<(&'static str, String)>, basic: Option<(String, String)>) -> Self {
        RefreshToken { url, form, basic, cached: Mutex::new(None) }
    }

    pub async fn access_token(&self, client: &reqwest::Client, timeout_s: u64) -> Result<String, SalesError> {
        if let Some((t, until)) = self.cached.lock().expect("token cache").as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "refresh_token")];
        form.extend(self.form.iter().map(|(k, v)| (*k, v.as_str())));
        let mut req = client.post(self.url.clone()).form(&form);
        if let Some((id, secret)) = &self.basic {
            req = req.basic_auth(id, Some(secret));
        }
        let r = req.send().await.map_err(|e| transport(e, timeout_s))?;
        let (_, body) = fetch(r, "token", timeout_s).await?;
        let t: TokenReply = json(&body)?;
        // A minute early, so a token never expires in flight.
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600).saturating_sub(60).max(30));
        *self.cached.lock().expect("token cache") = Some((t.access_token.clone(), Instant::now() + life));
        Ok(t.access_token)
    }
}
