//! A tenant's own templates: rendering with overrides, validation at save time by
//! rendering with sample data (strict: an unknown variable is an error), and the
//! sample data the preview shows.

use chrono::{DateTime, Duration, Utc};
use genkan_core::id::TenantId;
use genkan_core::notification::MessageKind;
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use genkan_store::messages::{ArrivalContext, InvitationContext, InvitationState};
use genkan_store::templates::TemplateParts;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::render::{RenderedMail, Renderer, one_line};
use super::sandbox::{Sandbox, SandboxError, Urgency};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    /// `subject.txt`.
    Subject,
    /// `body.txt`.
    Text,
    /// `body.html`.
    Html,
}

impl Part {
    /// Every part, in the order of a mail.
    pub const ALL: [Self; 3] = [Self::Subject, Self::Text, Self::Html];

    /// The form field and file name of the part.
    pub fn field(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Text => "text",
            Self::Html => "html",
        }
    }

    /// The file the built-in part comes from (`subject.txt`, `body.txt`, `body.html`).
    pub fn file(self) -> &'static str {
        match self {
            Self::Subject => "subject.txt",
            Self::Text => "body.txt",
            Self::Html => "body.html",
        }
    }

    fn of(self, parts: &TemplateParts) -> Option<&str> {
        match self {
            Self::Subject => parts.subject.as_deref(),
            Self::Text => parts.text.as_deref(),
            Self::Html => parts.html.as_deref(),
        }
    }
}

/// Renders `kind` with the tenant's `overrides` over the built-in parts: the
/// built-in parts in-process (trusted), the tenant's own in the sandbox.
pub async fn render(
    sandbox: &Sandbox,
    tenant: TenantId,
    urgency: Urgency,
    kind: MessageKind,
    locale: Locale,
    ctx: &Value,
    overrides: &TemplateParts,
) -> Result<RenderedMail, SandboxError> {
    let name = |part: Part| format!("{}/{}/{}", kind.as_str(), locale.as_str(), part.file());
    let mut own = Vec::new();
    let mut out: [Option<String>; 3] = [None, None, None];
    for (i, part) in Part::ALL.into_iter().enumerate() {
        match part.of(overrides) {
            Some(source) => own.push((part, name(part), source.to_owned())),
            None => {
                let builtin = Renderer::source(kind, locale, part.file()).unwrap_or_default();
                out[i] = Some(render_builtin(&name(part), builtin, ctx).map_err(|e| {
                    SandboxError::Template {
                        part,
                        line: e.line(),
                        detail: describe(&e),
                    }
                })?);
            }
        }
    }
    let tenant_parts: Vec<Part> = own.iter().map(|(p, _, _)| *p).collect();
    let rendered = sandbox.render(tenant, urgency, own, ctx.clone()).await?;
    for (part, text) in tenant_parts.into_iter().zip(rendered) {
        out[part as usize] = Some(text);
    }
    let [subject, text, html] = out.map(Option::unwrap_or_default);
    Ok(RenderedMail {
        subject: one_line(&subject),
        text,
        html,
    })
}

fn render_builtin(name: &str, source: &str, ctx: &Value) -> Result<String, minijinja::Error> {
    let env = Renderer::environment();
    env.template_from_named_str(name, source)
        .and_then(|t| t.render(ctx))
}

/// Renders every part with the sample data of `kind` (the tenant's own parts in
/// the sandbox); the first problem names its part and says what is wrong.
pub async fn validate(
    sandbox: &Sandbox,
    tenant: TenantId,
    kind: MessageKind,
    locale: Locale,
    parts: &TemplateParts,
) -> Result<RenderedMail, SandboxError> {
    let ctx = sample(kind, locale);
    render(sandbox, tenant, Urgency::Preview, kind, locale, &ctx, parts).await
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{} ({detail})", e.kind()),
        None => e.kind().to_string(),
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
    use crate::config::TemplatesConfig;

    #[tokio::test]
    async fn every_editable_built_in_template_renders_with_its_sample_data_in_process() {
        // No sandbox program exists: built-in parts never need one.
        let sandbox = Sandbox::new(&TemplatesConfig {
            sandbox_program: "/nonexistent/genkan".into(),
            ..TemplatesConfig::default()
        });
        for kind in EDITABLE {
            for locale in [Locale::Ja, Locale::En] {
                let m = validate(
                    &sandbox,
                    TenantId(1),
                    *kind,
                    locale,
                    &TemplateParts::default(),
                )
                .await
                .unwrap_or_else(|e| panic!("{kind:?} {locale:?}: {e:?}"));
                assert!(!m.subject.is_empty() && !m.html.is_empty(), "{kind:?}");
            }
        }
        let own = TemplateParts {
            text: Some("mine".to_owned()),
            ..TemplateParts::default()
        };
        let err = validate(
            &sandbox,
            TenantId(1),
            MessageKind::Invitation,
            Locale::En,
            &own,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SandboxError::Unavailable(_)), "{err:?}");
    }
}
