//! Microsoft Teams (incoming webhook or Workflows URL): an Adaptive Card in which
//! visitor text cannot format, link or mention (`[`, `]`, `*`, `_`, `<`, `>` and
//! URL schemes are broken with zero-width spaces; Teams only mentions through
//! explicit `msteams` entities, which are never sent).

use serde_json::{Value, json};

use super::email::SendError;

/// Makes visitor-supplied text inert in Adaptive Card markdown.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '[' | ']' | '(' | ')' | '*' | '_' | '~' | '`' | '#' | '<' | '>' | '!' => {
                out.push(c);
                out.push('\u{200B}');
            }
            ':' => out.push_str(":\u{200B}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Teams message: a headline and facts.
pub fn payload(headline: &str, facts: &[(&str, String)]) -> Value {
    let facts: Vec<Value> = facts
        .iter()
        .map(|(title, value)| json!({"title": escape(title), "value": escape(value)}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": escape(headline), "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "FactSet", "facts": facts},
                ],
            },
        }],
    })
}

/// Posts to the Teams URL; Teams answers 200 or 202 ("accepted", not a delivery
/// confirmation).
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    payload: &Value,
    allow_private: bool,
) -> Result<String, SendError> {
    let target = super::http::target(url, allow_private)?;
    let answer = super::http::send(client.post(target).json(payload), "Teams").await?;
    Ok(answer.detail())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_text_cannot_link_or_format_in_a_card() {
        let e = escape("[click](https://evil.example) **bold** <at>x</at>");
        assert!(!e.contains("](") && !e.contains("**") && !e.contains("https://"));
        let p = payload("Sato [x](y)", &[("Company", "<at>all</at>".to_owned())]);
        let text = p.to_string();
        assert!(!text.contains("[x](y)") && !text.contains("<at>"));
        assert_eq!(p["attachments"][0]["content"]["type"], "AdaptiveCard");
    }
}
