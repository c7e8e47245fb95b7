//! Retries with backoff and jitter, dead letters, `Retry-After`, timeouts, TLS and
//! leases, with the clock moved by the test.

use std::time::Instant;

use chrono::Duration;
use genkan_core::notification::{Channel, MessageKind};
use genkan_e2e::receiver::{Answer, Receiver};
use genkan_e2e::smtp::{Mode, SmtpSink};
use genkan_server::config::SmtpTls;

use crate::harness::{HOST, Harness, NowUtc as _, config, sys};

async fn invitation_state(h: &Harness) -> genkan_store::outbox::MessageState {
    h.messages()
        .await
        .into_iter()
        .find(|m| m.kind == MessageKind::Invitation)
        .unwrap()
}

#[tokio::test]
async fn failed_mail_is_retried_with_growing_jittered_delays_then_dead_lettered() {
    let smtp = SmtpSink::start(Mode::Refuse).await;
    let mut c = config(Some(smtp.port));
    c.notify.max_attempts = 4;
    let h = Harness::new(c).await;
    h.appointment(&["Sato Hanako"]).await;
    let mut previous_delay = 0;
    for attempt in 1..=3 {
        assert_eq!(h.deliver().await, 1, "attempt {attempt}");
        let m = invitation_state(&h).await;
        assert_eq!((m.status.as_str(), m.attempts), ("queued", attempt));
        let delay = (m.next_attempt_at - h.clock.now_utc()).num_seconds();
        let nominal = 5 * (1 << (attempt - 1));
        assert!(
            (nominal * 3 / 4..=nominal * 5 / 4 + 1).contains(&delay),
            "attempt {attempt}: {delay} s, nominal {nominal} s"
        );
        assert!(delay > previous_delay, "delays grow");
        previous_delay = delay;
        // Not due a second early…
        h.advance(delay - 1);
        assert_eq!(h.deliver().await, 0);
        // …and due on time.
        h.advance(1);
    }
    assert_eq!(h.deliver().await, 1);
    let m = invitation_state(&h).await;
    assert_eq!(m.status, "dead");
    assert!(m.last_error.unwrap().contains("gave up after 4 attempts"));
    assert!(smtp.messages().is_empty());
    // The host is told the invitation did not arrive.
    let notices: Vec<_> = h
        .messages()
        .await
        .into_iter()
        .filter(|m| m.kind == MessageKind::InvitationFailed)
        .collect();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].recipient, HOST);
}

#[tokio::test]
async fn jitter_spreads_the_retries_of_messages_that_failed_together() {
    let smtp = SmtpSink::start(Mode::Refuse).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    let names: Vec<String> = (0..20).map(|i| format!("Visitor{i} Test")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    h.appointment(&refs).await;
    assert_eq!(h.deliver().await, 20);
    let times: std::collections::BTreeSet<_> = h
        .messages()
        .await
        .into_iter()
        .map(|m| m.next_attempt_at)
        .collect();
    assert!(
        times.len() >= 2,
        "20 retries all at the same instant: {times:?}"
    );
}

#[tokio::test]
async fn a_rejected_address_dead_letters_the_invitation_at_once_and_tells_the_host() {
    let smtp = SmtpSink::start(Mode::RejectRecipients).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    h.appointment(&["Sato Hanako"]).await;
    assert_eq!(h.deliver().await, 1);
    let m = invitation_state(&h).await;
    assert_eq!((m.status.as_str(), m.attempts), ("dead", 1));
    assert!(m.last_error.unwrap().contains("550"));
    smtp.set_mode(Mode::Accept);
    assert_eq!(h.deliver().await, 1, "the notice to the host");
    let mail = &smtp.to(HOST)[0];
    let parsed = mail.parsed();
    let subject = parsed.subject().unwrap().to_owned();
    assert!(
        subject.contains("Sato Hanako") && subject.contains("could not be delivered"),
        "{subject}"
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    assert!(
        text.contains("550") && text.contains("/appointments/"),
        "{text}"
    );
}

#[tokio::test]
async fn slack_retry_after_holds_back_every_message_to_that_webhook() {
    let slack = Receiver::start(Answer::TooMany(120)).await;
    let h = Harness::new(config(None)).await;
    h.store
        .set_slack_webhook(
            h.tenant,
            Some(format!("{}/hook", slack.url)),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let passes = h
        .appointment(&["Alpha One", "Beta Two", "Gamma Three"])
        .await;
    h.check_in(&passes[0]).await;
    assert_eq!(h.deliver().await, 1);
    assert_eq!(slack.hits().len(), 1);
    let first = slack_state(&h).await;
    assert!((first[0].next_attempt_at - h.clock.now_utc()).num_seconds() >= 120);
    // Another alert to the same webhook is held back without a request.
    h.check_in(&passes[1]).await;
    assert_eq!(h.deliver().await, 1);
    assert_eq!(
        slack.hits().len(),
        1,
        "no request while the webhook asked to wait"
    );
    let held = slack_state(&h).await;
    assert_eq!(held[1].attempts, 0, "a deferral is not an attempt");
    assert!((held[1].next_attempt_at - h.clock.now_utc()).num_seconds() >= 119);
    h.advance(60);
    assert_eq!(h.deliver().await, 0);
    slack.set_answer(Answer::Ok);
    h.advance(61);
    h.check_in(&passes[2]).await;
    assert_eq!(h.deliver().await, 3);
    assert_eq!(slack.hits().len(), 4);
    assert!(
        slack_state(&h)
            .await
            .iter()
            .all(|m| m.status == "sent" && m.delivered_at.is_some())
    );
}

#[tokio::test]
async fn a_hanging_slack_times_out_and_is_retried_without_delaying_mail() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let slack = Receiver::start(Answer::Hang).await;
    let mut c = config(Some(smtp.port));
    c.outbound.timeout_secs = 1;
    let h = Harness::new(c).await;
    h.store
        .set_slack_webhook(
            h.tenant,
            Some(format!("{}/hook", slack.url)),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let passes = h.appointment(&["Sato Hanako"]).await;
    h.deliver().await; // the invitation
    h.check_in(&passes[0]).await;
    let t0 = Instant::now();
    assert_eq!(h.deliver().await, 2);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(smtp.to(HOST).len(), 1, "mail went out while Slack hung");
    let s = h
        .messages()
        .await
        .into_iter()
        .find(|m| m.channel == Channel::Slack)
        .unwrap();
    assert_eq!(s.status, "queued");
    assert!(s.last_error.unwrap().contains("timed out"));
}

#[tokio::test]
async fn a_stalled_smtp_server_times_out_and_the_mail_is_retried() {
    let smtp = SmtpSink::start(Mode::Stall).await;
    let mut c = config(Some(smtp.port));
    c.mail.timeout_secs = 1;
    let h = Harness::new(c).await;
    h.appointment(&["Sato Hanako"]).await;
    let t0 = Instant::now();
    assert_eq!(h.deliver().await, 1);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        t0.elapsed()
    );
    let m = invitation_state(&h).await;
    assert_eq!(m.status, "queued");
    assert!(m.next_attempt_at > h.clock.now_utc());
    smtp.set_mode(Mode::Accept);
    h.advance(10);
    assert_eq!(h.deliver().await, 1);
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn starttls_is_required_and_nothing_is_sent_in_plaintext() {
    // The loopback server offers no STARTTLS: Genkan must refuse to send.
    let smtp = SmtpSink::start(Mode::Accept).await;
    for tls in [SmtpTls::Starttls, SmtpTls::Tls] {
        let mut c = config(Some(smtp.port));
        c.mail.tls = tls;
        let h = Harness::new(c).await;
        h.appointment(&["Sato Hanako"]).await;
        assert_eq!(h.deliver().await, 1);
        let m = invitation_state(&h).await;
        assert_eq!(m.status, "queued", "{tls:?}: retried later, not given up");
        assert!(m.next_attempt_at > h.clock.now_utc());
        assert!(m.last_error.is_some());
    }
    assert!(smtp.messages().is_empty(), "0 plaintext sends");
}

#[tokio::test]
async fn a_message_held_by_a_crashed_worker_is_released_at_start_and_sent_once_more() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    h.appointment(&["Sato Hanako"]).await;
    // A worker claims it and dies before recording anything.
    let claimed = h
        .store
        .claim_due(
            h.clock.now_utc(),
            10,
            Duration::seconds(120),
            &[Channel::Email],
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    drop(claimed);
    assert_eq!(h.deliver().await, 0, "held under its lease");
    assert_eq!(h.store.release_leases(h.clock.now_utc()).await.unwrap(), 1);
    assert_eq!(h.deliver().await, 1);
    assert_eq!(smtp.messages().len(), 1);
    let m = invitation_state(&h).await;
    assert_eq!((m.status.as_str(), m.attempts), ("sent", 2));
}

#[tokio::test]
async fn the_ledger_shows_delivered_for_confirmed_channels_and_acknowledged_after_a_reply() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let hook = Receiver::start(Answer::Ok).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    h.store
        .set_channel(
            h.tenant,
            "webhook",
            Some(serde_json::json!({"url": format!("{}/in", hook.url), "secret": "whsec_x"})),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let passes = h.appointment(&["Sato Hanako"]).await;
    let visit = h.check_in(&passes[0]).await;
    while h.deliver().await > 0 {}
    let ledger = h.store.ledger(h.tenant, None, Some(visit)).await.unwrap();
    let status = |ch: &str| {
        ledger
            .iter()
            .find(|l| l.channel == ch)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status("email"), "sent");
    assert_eq!(status("webhook"), "delivered");
    let alert = h
        .store
        .message_ids(h.tenant)
        .await
        .unwrap()
        .into_iter()
        .last()
        .unwrap();
    let recorded = h
        .store
        .record_reply(
            genkan_store::replies::NewReply {
                tenant: h.tenant,
                visit,
                message: alert,
                kind: genkan_core::wire::v1::ReplyKind::Coming,
                channel: Channel::Email,
                link_hash: [7; 32],
                responder_hint: None,
            },
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    assert!(recorded.is_ok(), "{recorded:?}");
    let ledger = h.store.ledger(h.tenant, None, Some(visit)).await.unwrap();
    assert!(
        ledger.iter().all(|l| l.status == "acknowledged"),
        "{ledger:?}"
    );
    let counts = h
        .store
        .outbox_counts_since(h.tenant, h.clock.now_utc() - Duration::hours(1))
        .await
        .unwrap();
    assert!(
        counts
            .iter()
            .any(|(s, n)| s.as_str() == "acknowledged" && *n == 2),
        "{counts:?}"
    );
}

async fn slack_state(h: &Harness) -> Vec<genkan_store::outbox::MessageState> {
    h.messages()
        .await
        .into_iter()
        .filter(|m| m.channel == Channel::Slack)
        .collect()
}

/// An HTTPS peer with a certificate no authority signed (self-signed for 127.0.0.1);
/// counts the requests that got through the handshake.
async fn https_peer_with_a_bad_certificate()
-> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = genkan_server::tls::generate_self_signed(dir.path(), &[]).unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(
        genkan_server::tls::server_config(&cert, &key).unwrap(),
    );
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "ok" }
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        let _dir = dir;
        axum_server::from_tcp_rustls(listener, tls)
            .unwrap()
            .serve(app.into_make_service())
            .await
            .unwrap();
    });
    (url, hits)
}

/// SECURITY.md TLS-2 (HTTPS): a webhook whose server shows a certificate that does not
/// verify is never sent to; the alert stays queued for a later attempt with the reason.
#[tokio::test]
async fn https_with_a_bad_certificate_is_refused_and_retried_later() {
    let (url, hits) = https_peer_with_a_bad_certificate().await;
    // The peer does answer over TLS to a client that skips verification.
    let insecure = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(
        insecure
            .post(format!("{url}/probe"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(hits.swap(0, std::sync::atomic::Ordering::SeqCst), 1);

    let h = Harness::new(config(None)).await;
    for channel in ["teams", "webhook"] {
        h.store
            .set_channel(
                h.tenant,
                channel,
                Some(serde_json::json!({"url": format!("{url}/in"), "secret": "whsec_x"})),
                sys(h.tenant, h.clock.now_utc()),
            )
            .await
            .unwrap();
    }
    let passes = h.appointment(&["Sato Hanako"]).await;
    h.check_in(&passes[0]).await;
    h.deliver().await;
    let refused: Vec<_> = h
        .messages()
        .await
        .into_iter()
        .filter(|m| matches!(m.channel, Channel::Teams | Channel::Webhook))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    for m in &refused {
        assert_eq!(
            m.status, "queued",
            "{:?}: retried later, not given up",
            m.channel
        );
        assert!(m.next_attempt_at > h.clock.now_utc());
        let reason = m.last_error.as_deref().unwrap_or_default().to_lowercase();
        assert!(
            reason.contains("certificate") || reason.contains("tls"),
            "{reason}"
        );
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "0 requests sent"
    );
}
