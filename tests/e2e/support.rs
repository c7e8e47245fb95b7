//! Helpers shared by the end-to-end tests: running the kiosk binary, reading mails.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use genkan_e2e::binaries;
use genkan_e2e::smtp::{Received, SmtpSink};
use mail_parser::MimeHeaders as _;
use serde_json::Value;

/// Runs `genkan-kiosk <args>`.
pub(crate) fn kiosk(args: &[&str]) -> Output {
    Command::new(binaries::kiosk()).args(args).output().unwrap()
}

/// Runs `genkan-kiosk <args>` and parses its stdout as one JSON document.
pub(crate) fn kiosk_json(args: &[&str]) -> (i32, Value) {
    let out = kiosk(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "genkan-kiosk {args:?} printed no JSON ({e}): stdout={stdout:?} stderr={}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

/// Waits until `count` messages reached `address`.
pub(crate) async fn mails_to(smtp: &SmtpSink, address: &str, count: usize) -> Vec<Received> {
    genkan_e2e::eventually(Duration::from_secs(20), || {
        let m = smtp.to(address);
        (m.len() >= count).then_some(m)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no {count} mail(s) to {address}; got {}",
            smtp.to(address).len()
        )
    })
}

/// What a test needs from an invitation mail.
pub(crate) struct Invitation {
    /// The inline QR image (Content-ID `pass-qr`).
    pub(crate) inline_png: Vec<u8>,
    /// The attached pass image.
    pub(crate) attached_png: Vec<u8>,
    /// The 8 digits of the fallback code.
    pub(crate) code: String,
    /// The HTML body.
    pub(crate) html: String,
    /// The calendar attachment.
    pub(crate) ics: String,
}

/// Takes an invitation mail apart.
pub(crate) fn invitation(mail: &Received) -> Invitation {
    let parsed = mail.parsed();
    let mut inline_png = None;
    let mut attached_png = None;
    let mut ics = None;
    for part in parsed.parts.iter() {
        let ct = part
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_default();
        if ct == "image/png" {
            if part.content_id() == Some("pass-qr") {
                inline_png = Some(part.contents().to_vec());
            } else if part.attachment_name() == Some("pass.png") {
                attached_png = Some(part.contents().to_vec());
            }
        } else if ct == "text/calendar" {
            ics = Some(String::from_utf8_lossy(part.contents()).into_owned());
        }
    }
    let text = parsed.body_text(0).unwrap().into_owned();
    let html = parsed.body_html(0).unwrap().into_owned();
    let code = find_code(&text).unwrap_or_else(|| panic!("no 8-digit code in {text}"));
    Invitation {
        inline_png: inline_png.expect("inline QR image with Content-ID pass-qr"),
        attached_png: attached_png.expect("pass.png attachment"),
        code,
        html,
        ics: ics.expect("invitation.ics attachment"),
    }
}

/// Finds a "dddd dddd" group in text.
fn find_code(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let t = line.trim();
        let bytes = t.as_bytes();
        (t.len() == 9 && bytes[4] == b' ' && t.chars().filter(char::is_ascii_digit).count() == 8)
            .then(|| t.replace(' ', ""))
    })
}

/// Writes bytes to `dir/name` and returns the path as a string.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}
