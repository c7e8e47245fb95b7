//! Chatwork: `POST /v2/rooms/{room_id}/messages` with the API token in
//! `X-ChatWorkToken`. Visitor text cannot use Chatwork tags (`[toall]`, `[To:…]`,
//! `[info]`): every `[` is followed by a zero-width space.

use super::email::SendError;

/// Makes visitor-supplied text inert in Chatwork's message notation.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            '[' => out.push_str("[\u{200B}"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Whether `room` is a Chatwork room id (digits only, so it cannot change the path).
pub fn valid_room(room: &str) -> bool {
    (1..=20).contains(&room.len()) && room.bytes().all(|b| b.is_ascii_digit())
}

/// The message body: an `[info]` box whose content is escaped visitor text.
pub fn body(headline: &str, facts: &[(&str, String)]) -> String {
    let lines: Vec<String> = facts
        .iter()
        .map(|(k, v)| format!("{}: {}", escape(k), escape(v)))
        .collect();
    format!(
        "[info][title]{}[/title]{}[/info]",
        escape(headline),
        lines.join("\n")
    )
}

/// Posts `text` to `room`; Chatwork answers the new message's id (delivered).
pub async fn post(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    room: &str,
    text: &str,
    allow_private: bool,
) -> Result<String, SendError> {
    if !valid_room(room) {
        return Err(SendError::Permanent("invalid Chatwork room id".to_owned()));
    }
    let url = super::http::target(
        &format!("{}/rooms/{room}/messages", api.trim_end_matches('/')),
        allow_private,
    )?;
    let answer = super::http::send(
        client
            .post(url)
            .header("X-ChatWorkToken", token)
            .form(&[("body", text), ("self_unread", "0")]),
        "Chatwork",
    )
    .await?;
    let id = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v["message_id"].as_str().map(str::to_owned));
    Ok(match id {
        Some(id) => format!("message_id {id}"),
        None => answer.detail(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatwork_tags_in_names_are_inert() {
        let b = body(
            "[toall] arrived",
            &[("Company", "[To:123] x [info]".to_owned())],
        );
        assert!(!b.contains("[toall]") && !b.contains("[To:123]"));
        assert!(b.starts_with("[info][title]"));
        assert!(valid_room("123456") && !valid_room("1/../x") && !valid_room(""));
    }
}
