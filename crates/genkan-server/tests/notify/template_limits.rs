//! TPL-1 for real sends: a tenant's template that passes with the editor's sample
//! data but explodes on real data is given up (dead letter) with the limit in the
//! ledger after one attempt; neither a later run nor a restarted worker fires it
//! again. Template errors name their part and line; custom HTML is escaped like the
//! built-in one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use genkan_e2e::smtp::{Mode, SmtpSink};
use genkan_server::notify::Notifier;
use genkan_server::notify::custom::{self, Part};
use genkan_server::notify::sandbox::{Limit, SandboxError, Urgency};
use genkan_store::templates::TemplateParts;

use crate::harness::{HOST, Harness, NowUtc as _, config, sys};

/// Harmless for the sample visitor (Hanako Sato); for anyone else it doubles a
/// 100 MB string until memory runs out.
const BOMB_ON_REAL_DATA: &str = "{% set n = 0 if visitor_name == 'Hanako Sato' else 100000000 %}{% set s = 'x' * n %}{% set s = s ~ s %}{% set s = s ~ s %}<p>{{ visitor_name }}</p>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_explodes_on_real_data_is_dead_lettered_once_with_its_reason() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    let parts = TemplateParts {
        html: Some(BOMB_ON_REAL_DATA.to_owned()),
        ..TemplateParts::default()
    };
    // The editor's check with the sample data lets it through.
    let sample = custom::validate(
        h.notifier.sandbox(),
        h.tenant,
        MessageKind::Invitation,
        Locale::En,
        &parts,
    )
    .await
    .unwrap();
    assert_eq!(sample.html, "<p>Hanako Sato</p>");
    h.store
        .set_template(
            h.tenant,
            MessageKind::Invitation,
            Locale::En,
            parts,
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();

    h.appointment(&["Jiro Sato"]).await;
    let started = Instant::now();
    while h.deliver().await > 0 {}
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "given up after {:?}",
        started.elapsed()
    );
    let messages = h.messages().await;
    let invitation = messages
        .iter()
        .find(|m| m.kind == MessageKind::Invitation)
        .unwrap();
    assert_eq!(invitation.status, "dead", "{invitation:?}");
    assert_eq!(invitation.attempts, 1, "never retried");
    let why = invitation.last_error.as_deref().unwrap();
    assert!(
        why.contains("body.html") && why.contains("memory limit"),
        "{why}"
    );
    // The host is told the visitor got no pass (with the built-in notice).
    let notice = messages
        .iter()
        .find(|m| m.kind == MessageKind::InvitationFailed)
        .unwrap();
    assert_eq!(notice.status, "sent", "{notice:?}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, [HOST]);

    // A day later nothing is due; a restarted worker (which releases every lease
    // first) finds nothing to fire either.
    h.advance(86_400);
    assert_eq!(h.deliver().await, 0);
    let restarted = Arc::new(
        Notifier::new(
            h.store.clone(),
            Arc::new(h.clock.clone()),
            Arc::new(h.config.clone()),
        )
        .unwrap(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(Arc::clone(&restarted).run(stopped));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    running.await.unwrap();
    assert_eq!(restarted.run_once().await.unwrap(), 0);
    let after = h.messages().await;
    let invitation = after
        .iter()
        .find(|m| m.kind == MessageKind::Invitation)
        .unwrap();
    assert_eq!(
        (invitation.status.as_str(), invitation.attempts),
        ("dead", 1)
    );
    assert_eq!(smtp.messages().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn tenant_template_errors_name_their_part_and_line_and_custom_html_is_escaped() {
    let h = Harness::new(config(None)).await;
    let check = |parts: TemplateParts| {
        let (sandbox, tenant) = (h.notifier.sandbox(), h.tenant);
        async move {
            custom::validate(sandbox, tenant, MessageKind::Invitation, Locale::En, &parts).await
        }
    };
    let unknown = check(TemplateParts {
        subject: Some("Hello {{ visitor_nam }}".to_owned()),
        ..TemplateParts::default()
    })
    .await
    .unwrap_err();
    let SandboxError::Template { part, detail, .. } = &unknown else {
        panic!("{unknown:?}");
    };
    assert_eq!(*part, Part::Subject);
    assert!(detail.contains("undefined"), "{detail}");
    let broken = check(TemplateParts {
        html: Some("<p>\n{% if code %}</p>".to_owned()),
        ..TemplateParts::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            &broken,
            SandboxError::Template {
                part: Part::Html,
                line: Some(2),
                ..
            }
        ),
        "{broken:?}"
    );
    let deep = check(TemplateParts {
        text: Some("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}".to_owned()),
        ..TemplateParts::default()
    })
    .await
    .unwrap_err();
    assert_eq!(
        deep,
        SandboxError::Limit {
            part: Part::Text,
            limit: Limit::Depth
        }
    );

    let mut ctx = custom::sample(MessageKind::HostArrival, Locale::En);
    ctx["visitor_name"] = serde_json::json!("<script>x</script>");
    let parts = TemplateParts {
        html: Some("<b>{{ visitor_name }}</b>".to_owned()),
        subject: Some("{{ visitor_name }}\r\nBcc: x@y".to_owned()),
        text: None,
    };
    let m = custom::render(
        h.notifier.sandbox(),
        h.tenant,
        Urgency::Delivery,
        MessageKind::HostArrival,
        Locale::En,
        &ctx,
        &parts,
    )
    .await
    .unwrap();
    assert_eq!(m.html, "<b>&lt;script&gt;x&lt;&#x2f;script&gt;</b>");
    assert!(!m.subject.contains('\n'));
    assert!(m.text.contains("<script>x</script>"), "built-in text part");
}
