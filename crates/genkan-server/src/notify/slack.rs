//! Slack incoming webhooks: Block Kit messages in which everything a visitor typed
//! is inert (no mentions, no links, no formatting tricks).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::email::SendError;
use crate::outbound::literal_allowed;

/// Escapes text for Slack `mrkdwn`: `& < >` per Slack's rules, and breaks `@` and
/// `!` mentions so `@here`, `@channel` or `<!channel>` typed into a name do nothing.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@\u{200B}"),
            '*' | '_' | '~' | '`' => {
                out.push('\u{200B}');
                out.push(c);
                out.push('\u{200B}');
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// What a host arrival message says.
#[derive(Debug, Clone)]
pub struct ArrivalMessage<'a> {
    /// Headline, e.g. "Sato Hanako has arrived" (already localised).
    pub headline: &'a str,
    /// Label/value pairs (already localised), values are visitor-supplied text.
    pub fields: Vec<(&'a str, String)>,
}

/// The Block Kit payload of an arrival alert. Visitor text goes only into
/// `plain_text` objects or through [`escape`].
pub fn arrival_payload(msg: &ArrivalMessage<'_>) -> Value {
    let fields: Vec<Value> = msg
        .fields
        .iter()
        .map(|(label, value)| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", escape(label), escape(value))}))
        .collect();
    json!({
        "text": escape(msg.headline),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": msg.headline.chars().take(150).collect::<String>(), "emoji": false}},
            {"type": "section", "fields": fields},
        ],
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// Posts `payload` to an incoming webhook.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    payload: &Value,
    allow_private: bool,
) -> Result<String, SendError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| SendError::Permanent("invalid webhook URL".to_owned()))?;
    if !literal_allowed(&parsed, allow_private) {
        return Err(SendError::Permanent(
            "webhook address is not public".to_owned(),
        ));
    }
    let response = client
        .post(parsed)
        .json(payload)
        .send()
        .await
        .map_err(|e| SendError::transient(format!("Slack: {}", without_url(&e))))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    match status {
        s if s.is_success() => Ok(format!("{} {body}", s.as_u16())),
        StatusCode::TOO_MANY_REQUESTS => Err(SendError::Transient {
            message: format!("Slack rate limit (429) {body}"),
            retry_after: retry_after.or(Some(30)),
        }),
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Err(SendError::Transient {
            message: format!("Slack answered {} {body}", s.as_u16()),
            retry_after,
        }),
        s if s.is_redirection() => Err(SendError::Permanent(format!(
            "Slack answered a redirect ({}); not followed",
            s.as_u16()
        ))),
        s => Err(SendError::Permanent(format!(
            "Slack refused: {} {body}",
            s.as_u16()
        ))),
    }
}

/// A reqwest error without the URL (webhook URLs are secrets).
pub fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_request() {
        "request failed"
    } else {
        "failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    format!("{kind}: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_inert() {
        let e = escape("<!channel> @here <https://evil.example|click> *bold*");
        assert!(!e.contains("<!channel>"));
        assert!(!e.contains("@here"));
        assert!(!e.contains("<https://"));
        assert!(e.contains("&lt;!channel&gt;"));
        let payload = arrival_payload(&ArrivalMessage {
            headline: "<!here> arrived",
            fields: vec![("Company", "<@U123>".to_owned())],
        });
        assert!(!payload["text"].as_str().unwrap().contains("<!here>"));
        assert!(!payload.to_string().contains("<@U123>"));
        assert_eq!(payload["blocks"][0]["text"]["type"], "plain_text");
    }
}
