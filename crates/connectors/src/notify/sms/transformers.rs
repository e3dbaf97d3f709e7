//! Wire types of the Twilio-style SMS request and its error reply.

use serde::Deserialize;

use crate::notify::Outgoing;

/// The form fields of a message create request.
pub fn form<'a>(m: &'a Outgoing, from: &'a str) -> [(&'static str, &'a str); 3] {
    [("To", m.to.as_str()), ("From", from), ("Body", m.body.as_str())]
}

/// An error reply (`{"code": 21211, "message": "...", "status": 400}`); other providers send other shapes,
/// so every field is optional and a reply that is not JSON is quoted as text.
#[derive(Debug, Default, Deserialize)]
pub struct ProviderReply {
    pub code: Option<i64>,
    pub message: Option<String>,
}

impl ProviderReply {
    pub fn explain(status: u16, body: &str) -> String {
        match serde_json::from_str::<ProviderReply>(body) {
            Ok(ProviderReply { code, message: Some(m) }) => match code {
                Some(c) => format!("HTTP {status}: {m} (provider code {c})"),
                None => format!("HTTP {status}: {m}"),
            },
            _ => {
                let text: String = body.chars().take(200).collect();
                format!("HTTP {status}: {}", if text.trim().is_empty() { "no explanation" } else { text.trim() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_are_explained_from_json_or_text() {
        assert_eq!(
            ProviderReply::explain(400, r#"{"code":21211,"message":"Invalid 'To' Phone Number","status":400}"#),
            "HTTP 400: Invalid 'To' Phone Number (provider code 21211)"
        );
        assert_eq!(ProviderReply::explain(503, "busy"), "HTTP 503: busy");
        assert_eq!(ProviderReply::explain(500, ""), "HTTP 500: no explanation");
    }
}
