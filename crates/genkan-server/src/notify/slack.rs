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

/// Button values of an alert's reply buttons: signed reply tokens.
#[derive(Debug, Clone)]
pub struct Buttons {
    /// "I'm coming" label (localised).
    pub coming_label: String,
    /// Its signed token.
    pub coming: String,
    /// "Please wait" label (localised).
    pub wait_label: String,
    /// Its signed token.
    pub wait: String,
}

/// `action_id` of the reply buttons.
pub const ACTION_COMING: &str = "genkan_reply_coming";
/// `action_id` of the reply buttons.
pub const ACTION_WAIT: &str = "genkan_reply_wait";

/// A notice's Block Kit payload: headline, fields, and the reply buttons when the
/// tenant's Slack app can receive their clicks.
pub fn notice_payload(msg: &ArrivalMessage<'_>, buttons: Option<&Buttons>) -> Value {
    let mut payload = arrival_payload(msg);
    if let (Some(b), Some(blocks)) = (buttons, payload["blocks"].as_array_mut()) {
        blocks.push(json!({
            "type": "actions",
            "block_id": "genkan_reply",
            "elements": [
                {"type": "button", "style": "primary", "action_id": ACTION_COMING, "value": b.coming,
                 "text": {"type": "plain_text", "text": b.coming_label, "emoji": false}},
                {"type": "button", "action_id": ACTION_WAIT, "value": b.wait,
                 "text": {"type": "plain_text", "text": b.wait_label, "emoji": false}},
            ],
        }));
    }
    payload
}

/// The Slack Web API answer of a call: `ok` or the error name.
async fn api_call(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
) -> Result<Value, SendError> {
    let _ = client;
    let answer = super::http::send(request, "Slack API").await?;
    let body: Value = serde_json::from_str(&answer.body)
        .map_err(|_| SendError::transient("Slack API answered something that is not JSON"))?;
    if body["ok"].as_bool() == Some(true) {
        return Ok(body);
    }
    let error = body["error"].as_str().unwrap_or("unknown_error").to_owned();
    // Errors that another attempt cannot fix.
    const PERMANENT: &[&str] = &[
        "users_not_found",
        "user_not_found",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_arguments",
        "invalid_blocks",
        "user_disabled",
        "cannot_dm_bot",
    ];
    if PERMANENT.contains(&error.as_str()) {
        Err(SendError::Permanent(format!("Slack API: {error}")))
    } else {
        Err(SendError::transient(format!("Slack API: {error}")))
    }
}

/// Finds the Slack user with `email` and opens (or reuses) the direct-message
/// channel with them; returns the channel id.
pub async fn open_dm(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    email: &str,
    allow_private: bool,
) -> Result<String, SendError> {
    let base = api.trim_end_matches('/');
    let lookup = super::http::target(&format!("{base}/users.lookupByEmail"), allow_private)?;
    let user = api_call(
        client,
        client
            .post(lookup)
            .bearer_auth(token)
            .form(&[("email", email)]),
    )
    .await?;
    let user_id = user["user"]["id"]
        .as_str()
        .ok_or_else(|| SendError::transient("Slack API: no user id"))?
        .to_owned();
    let open = super::http::target(&format!("{base}/conversations.open"), allow_private)?;
    let channel = api_call(
        client,
        client
            .post(open)
            .bearer_auth(token)
            .json(&json!({"users": user_id})),
    )
    .await?;
    channel["channel"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| SendError::transient("Slack API: no channel id"))
}

/// Posts `payload` to `channel` with the bot token; returns the message's `ts`.
pub async fn post_message(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    channel: &str,
    payload: &Value,
    allow_private: bool,
) -> Result<String, SendError> {
    let url = super::http::target(
        &format!("{}/chat.postMessage", api.trim_end_matches('/')),
        allow_private,
    )?;
    let mut body = payload.clone();
    body["channel"] = json!(channel);
    let answer = api_call(client, client.post(url).bearer_auth(token).json(&body)).await?;
    Ok(format!("ts {}", answer["ts"].as_str().unwrap_or_default()))
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

    #[test]
    fn mentions_and_links_in_names_stay_text_in_every_mrkdwn_field_and_the_fallback() {
        for hostile in [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "@here",
            "@channel",
            "<@U024BE7LH>",
            "<#C024BE7LR>",
            "<https://evil.example|Click here>",
            "<mailto:x@evil.example|mail>",
            "*bold* _it_ ~s~ `code`",
        ] {
            let payload = notice_payload(
                &ArrivalMessage {
                    headline: &format!("{hostile} has arrived"),
                    fields: vec![("Company", hostile.to_owned())],
                },
                None,
            );
            let mut texts = vec![payload["text"].as_str().unwrap().to_owned()];
            for f in payload["blocks"][1]["fields"].as_array().unwrap() {
                assert_eq!(f["type"], "mrkdwn");
                texts.push(f["text"].as_str().unwrap().to_owned());
            }
            for t in texts {
                assert!(!t.contains('<') && !t.contains('>'), "{hostile}: {t}");
                assert!(
                    !t.contains("@here") && !t.contains("@channel"),
                    "{hostile}: {t}"
                );
            }
            // The header is plain_text: Slack never parses mentions or links there.
            assert_eq!(payload["blocks"][0]["text"]["type"], "plain_text");
        }
    }
}
