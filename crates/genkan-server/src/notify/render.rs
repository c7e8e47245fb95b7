//! Message templates: `assets/templates/email/<kind>/<locale>/{subject.txt, body.txt,
//! body.html}`, rendered with minijinja. HTML bodies are auto-escaped; subjects are
//! single lines.

use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

macro_rules! templates {
    ($($kind:literal),*) => {
        &[$(
            (concat!($kind, "/ja/subject.txt"), include_str!(concat!("../../../../assets/templates/email/", $kind, "/ja/subject.txt"))),
            (concat!($kind, "/ja/body.txt"), include_str!(concat!("../../../../assets/templates/email/", $kind, "/ja/body.txt"))),
            (concat!($kind, "/ja/body.html"), include_str!(concat!("../../../../assets/templates/email/", $kind, "/ja/body.html"))),
            (concat!($kind, "/en/subject.txt"), include_str!(concat!("../../../../assets/templates/email/", $kind, "/en/subject.txt"))),
            (concat!($kind, "/en/body.txt"), include_str!(concat!("../../../../assets/templates/email/", $kind, "/en/body.txt"))),
            (concat!($kind, "/en/body.html"), include_str!(concat!("../../../../assets/templates/email/", $kind, "/en/body.html"))),
        )*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "invitation",
    "cancellation",
    "appointment_update",
    "host_arrival",
    "user_invitation",
    "password_reset",
    "kiosk_silent",
    "reminder",
    "no_show",
    "invitation_failed",
    "notice",
    "operator_alert"
);

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// One-line subject.
    pub subject: String,
    /// Plain-text alternative.
    pub text: String,
    /// HTML alternative.
    pub html: String,
}

/// Why a template failed (a bug in a template, never user input).
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct RenderError {
    pub(crate) name: String,
    pub(crate) source: minijinja::Error,
}

/// The template set.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// Loads the built-in templates.
    pub fn new() -> Self {
        let mut env = Self::environment();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("built-in template {name} does not parse: {e}"));
        }
        Self { env }
    }

    /// The built-in source of one part (`subject.txt`, `body.txt`, `body.html`);
    /// a lookup, nothing is parsed.
    pub fn source(kind: MessageKind, locale: Locale, file: &str) -> Option<&'static str> {
        let name = format!("{}/{}/{file}", kind.as_str(), locale.as_str());
        TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    /// A fresh environment configured like the built-in one (escaping, strictness).
    pub(crate) fn environment<'a>() -> Environment<'a> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env
    }

    /// Renders the three parts of `kind` in `locale` with `ctx`.
    pub fn mail(
        &self,
        kind: MessageKind,
        locale: Locale,
        ctx: &impl Serialize,
    ) -> Result<RenderedMail, RenderError> {
        let part = |file: &str| -> Result<String, RenderError> {
            let name = format!("{}/{}/{file}", kind.as_str(), locale.as_str());
            self.env
                .get_template(&name)
                .and_then(|t| t.render(ctx))
                .map_err(|source| RenderError { name, source })
        };
        Ok(RenderedMail {
            subject: one_line(&part("subject.txt")?),
            text: part("body.txt")?,
            html: part("body.html")?,
        })
    }
}

/// A subject is one line, whatever the data held.
pub(crate) fn one_line(subject: &str) -> String {
    subject
        .split(['\r', '\n'])
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_owned()
}

/// A brand colour safe to put in a style attribute (`#rrggbb`), else the default.
pub fn safe_color(color: &str) -> String {
    let ok = color.len() == 7
        && color.starts_with('#')
        && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        color.to_owned()
    } else {
        "#1d4ed8".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invitation_ctx(name: &str) -> serde_json::Value {
        json!({
            "tenant_name": "Acme", "visitor_name": name, "host_name": "Tanaka", "site_name": "HQ",
            "site_address": "1-1 Chiyoda", "map_url": "https://www.google.com/maps/search/?api=1&query=x",
            "title": "Review", "date": "2026-11-23", "start": "10:00", "end": "11:00", "offset": "+09:00",
            "code": "1234 5678", "valid_from": "2026-11-23 00:00", "valid_until": "2026-11-24 00:00",
            "qr_cid": "pass-qr", "logo_cid": null, "color": "#1d4ed8",
        })
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        let r = Renderer::new();
        for kind in [MessageKind::Invitation, MessageKind::Cancellation] {
            for locale in [Locale::Ja, Locale::En] {
                let m = r.mail(kind, locale, &invitation_ctx("Sato")).unwrap();
                assert!(
                    m.text.contains("Sato") && m.html.contains("Sato"),
                    "{kind:?} {locale:?}"
                );
            }
        }
        let arrival = json!({"host_name": "Tanaka", "visitor_name": "Sato", "visitor_company": "X",
            "site_name": "HQ", "kiosk_name": "Lobby", "arrived_at": "2026-11-23 10:02 (+09:00)", "title": null,
            "reply_coming_url": null, "reply_wait_url": null, "reply_expires_at": ""});
        for locale in [Locale::Ja, Locale::En] {
            let m = r.mail(MessageKind::HostArrival, locale, &arrival).unwrap();
            assert!(m.subject.contains("Sato") && m.text.contains("+09:00"));
        }
    }

    #[test]
    fn html_escapes_visitor_text_and_subjects_stay_one_line() {
        let r = Renderer::new();
        let m = r
            .mail(
                MessageKind::Invitation,
                Locale::En,
                &invitation_ctx("<script>alert(1)</script>"),
            )
            .unwrap();
        assert!(!m.html.contains("<script>alert"));
        assert!(m.html.contains("&lt;script&gt;"));
        assert!(m.html.contains("cid:pass-qr") && !m.html.contains("data:"));
        let mut ctx = invitation_ctx("a");
        ctx["date"] = json!("x\r\nBcc: a@b.c");
        let odd = r.mail(MessageKind::Invitation, Locale::En, &ctx).unwrap();
        assert!(!odd.subject.contains('\n') && !odd.subject.contains('\r'));
    }

    #[test]
    fn colours_outside_the_hex_form_fall_back() {
        assert_eq!(safe_color("#A1b2C3"), "#A1b2C3");
        assert_eq!(safe_color("red;background:url(x)"), "#1d4ed8");
    }
}
