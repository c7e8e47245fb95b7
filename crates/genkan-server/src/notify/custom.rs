//! A tenant's own templates: rendering with overrides, validation at save time by
//! rendering with sample data (strict: an unknown variable is an error), and the
//! sample data the preview shows.

use chrono::{DateTime, Duration, Utc};
use genkan_core::notification::MessageKind;
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use genkan_store::messages::{ArrivalContext, InvitationContext, InvitationState};
use genkan_store::templates::TemplateParts;
use serde::Serialize;
use serde_json::Value;

use super::render::{RenderError, RenderedMail, Renderer, one_line};
use super::views;

/// The kinds a tenant may customise (staff mails with sign-in links may not).
pub const EDITABLE: &[MessageKind] = &[
    MessageKind::Invitation,
    MessageKind::AppointmentUpdate,
    MessageKind::Cancellation,
    MessageKind::Reminder,
    MessageKind::HostArrival,
    MessageKind::NoShow,
    MessageKind::InvitationFailed,
];

/// Which part of a template a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `subject.txt`.
    Subject,
    /// `body.txt`.
    Text,
    /// `body.html`.
    Html,
}

impl Part {
    /// The form field and file name of the part.
    pub fn field(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Text => "text",
            Self::Html => "html",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::Subject => "subject.txt",
            Self::Text => "body.txt",
            Self::Html => "body.html",
        }
    }
}

/// Renders one part from `source`, or the built-in part when `source` is `None`.
fn part(
    renderer: &Renderer,
    kind: MessageKind,
    locale: Locale,
    ctx: &impl Serialize,
    which: Part,
    source: Option<&str>,
) -> Result<String, RenderError> {
    let name = format!("{}/{}/{}", kind.as_str(), locale.as_str(), which.file());
    let Some(source) = source else {
        let builtin = renderer
            .source(kind, locale, which.file())
            .unwrap_or_default();
        return render_source(&name, builtin, ctx);
    };
    render_source(&name, source, ctx)
}

fn render_source(name: &str, source: &str, ctx: &impl Serialize) -> Result<String, RenderError> {
    let env = Renderer::environment();
    env.template_from_named_str(name, source)
        .and_then(|t| t.render(ctx))
        .map_err(|source| RenderError {
            name: name.to_owned(),
            source,
        })
}

/// Renders `kind` with the tenant's `overrides` over the built-in parts.
pub(crate) fn render(
    renderer: &Renderer,
    kind: MessageKind,
    locale: Locale,
    ctx: &impl Serialize,
    overrides: &TemplateParts,
) -> Result<RenderedMail, RenderError> {
    Ok(RenderedMail {
        subject: one_line(&part(
            renderer,
            kind,
            locale,
            ctx,
            Part::Subject,
            overrides.subject.as_deref(),
        )?),
        text: part(
            renderer,
            kind,
            locale,
            ctx,
            Part::Text,
            overrides.text.as_deref(),
        )?,
        html: part(
            renderer,
            kind,
            locale,
            ctx,
            Part::Html,
            overrides.html.as_deref(),
        )?,
    })
}

/// Renders every part with the sample data of `kind`; the first problem names its
/// part and says what is wrong (line and cause).
pub fn validate(
    renderer: &Renderer,
    kind: MessageKind,
    locale: Locale,
    parts: &TemplateParts,
) -> Result<RenderedMail, (Part, String)> {
    let ctx = sample(kind, locale);
    let mut out = RenderedMail {
        subject: String::new(),
        text: String::new(),
        html: String::new(),
    };
    for (which, source) in [
        (Part::Subject, parts.subject.as_deref()),
        (Part::Text, parts.text.as_deref()),
        (Part::Html, parts.html.as_deref()),
    ] {
        let rendered = part(renderer, kind, locale, &ctx, which, source).map_err(|e| {
            let line = e
                .source
                .line()
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            (which, format!("{line}{}", e.source.kind_description()))
        })?;
        match which {
            Part::Subject => out.subject = one_line(&rendered),
            Part::Text => out.text = rendered,
            Part::Html => out.html = rendered,
        }
    }
    Ok(out)
}

trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for minijinja::Error {
    fn kind_description(&self) -> String {
        match self.detail() {
            Some(detail) => format!("{} ({detail})", self.kind()),
            None => self.kind().to_string(),
        }
    }
}

fn sample_time() -> DateTime<Utc> {
    "2026-11-24T01:00:00Z".parse().unwrap_or_default()
}

fn sample_invitation(ja: bool) -> InvitationContext {
    let start = sample_time();
    InvitationContext {
        tenant_name: if ja {
            "株式会社サンプル"
        } else {
            "Example Corp"
        }
        .to_owned(),
        primary_color: "#1d4ed8".to_owned(),
        visitor_name: if ja { "佐藤 花子" } else { "Hanako Sato" }.to_owned(),
        visitor_company: Some(if ja { "来訪商事" } else { "Visitor Ltd" }.to_owned()),
        host_name: if ja { "田中 一郎" } else { "Ichiro Tanaka" }.to_owned(),
        host_email: "tanaka@example.com".to_owned(),
        site_name: if ja { "東京本社" } else { "Tokyo HQ" }.to_owned(),
        site_address: "1-1 Chiyoda, Chiyoda-ku, Tokyo".to_owned(),
        time_zone: TimeZone::default(),
        title: Some(
            if ja {
                "打ち合わせ"
            } else {
                "Design review"
            }
            .to_owned(),
        ),
        starts_at: start,
        ends_at: start + Duration::hours(1),
        valid_from: start - Duration::hours(10),
        valid_until: start + Duration::hours(14),
        appointment_id: 42,
    }
}

/// The variables a template of `kind` gets, filled with sample data.
pub fn sample(kind: MessageKind, locale: Locale) -> Value {
    let ja = locale == Locale::Ja;
    let inv = sample_invitation(ja);
    match kind {
        MessageKind::HostArrival => {
            let ctx = ArrivalContext {
                tenant_name: inv.tenant_name.clone(),
                visitor_name: inv.visitor_name.clone(),
                visitor_company: inv.visitor_company.clone(),
                host_name: inv.host_name.clone(),
                site_name: inv.site_name.clone(),
                kiosk_name: Some(if ja { "1階ロビー" } else { "Lobby" }.to_owned()),
                time_zone: inv.time_zone,
                checked_in_at: inv.starts_at - Duration::minutes(3),
                title: inv.title.clone(),
                checked_out_at: None,
                tenant_slug: "example".to_owned(),
                site_id: 1,
                appointment_id: Some(inv.appointment_id),
            };
            views::arrival(
                &ctx,
                &views::ReplyUrls {
                    coming: Some("https://genkan.example.com/reply/sample-coming".to_owned()),
                    wait: Some("https://genkan.example.com/reply/sample-wait".to_owned()),
                    expires_at: inv
                        .time_zone
                        .format_human(inv.starts_at + Duration::hours(8)),
                },
            )
        }
        MessageKind::NoShow => views::no_show(
            &inv,
            15,
            Some(&InvitationState {
                status: "delivered".to_owned(),
                last_error: None,
            }),
            ja,
        ),
        MessageKind::InvitationFailed => views::invitation_failed(
            &inv,
            "SMTP refused: 550 5.1.1 No such user",
            "https://genkan.example.com/appointments/42",
        ),
        MessageKind::Invitation => views::invitation(&inv, "1234 5678", super::QR_CID, None),
        _ => views::invitation(&inv, "", super::QR_CID, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_editable_built_in_template_renders_with_its_sample_data() {
        let r = Renderer::new();
        for kind in EDITABLE {
            for locale in [Locale::Ja, Locale::En] {
                let m = validate(&r, *kind, locale, &TemplateParts::default())
                    .unwrap_or_else(|e| panic!("{kind:?} {locale:?}: {e:?}"));
                assert!(!m.subject.is_empty() && !m.html.is_empty(), "{kind:?}");
            }
        }
    }

    #[test]
    fn a_template_with_an_unknown_variable_or_bad_syntax_is_refused_with_its_part() {
        let r = Renderer::new();
        let bad = TemplateParts {
            subject: Some("Hello {{ visitor_nam }}".to_owned()),
            ..TemplateParts::default()
        };
        let (part, why) = validate(&r, MessageKind::Invitation, Locale::En, &bad).unwrap_err();
        assert_eq!(part, Part::Subject);
        assert!(why.contains("undefined"), "{why}");
        let broken = TemplateParts {
            html: Some("<p>{% if code %}</p>".to_owned()),
            ..TemplateParts::default()
        };
        let (part, why) = validate(&r, MessageKind::Invitation, Locale::En, &broken).unwrap_err();
        assert_eq!(part, Part::Html);
        assert!(why.contains("line 1"), "{why}");
    }

    #[test]
    fn custom_html_is_escaped_like_the_built_in_one() {
        let r = Renderer::new();
        let mut ctx = sample(MessageKind::HostArrival, Locale::En);
        ctx["visitor_name"] = serde_json::json!("<script>x</script>");
        let parts = TemplateParts {
            html: Some("<b>{{ visitor_name }}</b>".to_owned()),
            subject: Some("{{ visitor_name }}\r\nBcc: x@y".to_owned()),
            text: None,
        };
        let m = r
            .mail_with(MessageKind::HostArrival, Locale::En, &ctx, &parts)
            .unwrap();
        assert_eq!(m.html, "<b>&lt;script&gt;x&lt;&#x2f;script&gt;</b>");
        assert!(!m.subject.contains('\n'));
    }
}
