//! Reminders the day before and no-show notices, with the clock moved.

use chrono::Duration;
use genkan_core::notification::MessageKind;
use genkan_e2e::smtp::{Mode, SmtpSink};
use genkan_store::channels::NotificationPolicy;

use crate::harness::{HOST, Harness, NowUtc as _, config, sys};

#[tokio::test]
async fn reminders_go_out_once_the_day_before_from_the_tenants_hour() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    h.store
        .set_notification_policy(
            h.tenant,
            NotificationPolicy {
                reminder_enabled: true,
                reminder_hour: 17,
                no_show_minutes: 0,
            },
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    // 10:00 today; the visit is tomorrow at 10:00.
    h.appointment_at(Duration::hours(24), &["Sato Hanako"])
        .await;
    while h.deliver().await > 0 {}
    h.advance(6 * 3600); // 16:00
    assert_eq!(h.store.queue_reminders(h.clock.now_utc()).await.unwrap(), 0);
    h.advance(3600 + 300); // 17:05
    assert_eq!(h.store.queue_reminders(h.clock.now_utc()).await.unwrap(), 1);
    assert_eq!(
        h.store.queue_reminders(h.clock.now_utc()).await.unwrap(),
        0,
        "once"
    );
    h.advance(3600);
    assert_eq!(
        h.store.queue_reminders(h.clock.now_utc()).await.unwrap(),
        0,
        "once per visit date"
    );
    assert_eq!(h.deliver().await, 1);
    let mails = smtp.to("sato@visitor.example");
    assert_eq!(mails.len(), 2, "invitation and reminder");
    let subject = mails[1].parsed().subject().unwrap().to_owned();
    assert!(
        subject.starts_with("Reminder") && subject.contains("2026-11-24 10:00"),
        "{subject}"
    );
}

#[tokio::test]
async fn no_show_notice_tells_the_host_with_the_invitation_state() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    h.store
        .set_notification_policy(
            h.tenant,
            NotificationPolicy {
                reminder_enabled: false,
                reminder_hour: 17,
                no_show_minutes: 15,
            },
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let passes = h.appointment(&["Sato Hanako", "John Smith"]).await;
    while h.deliver().await > 0 {}
    h.check_in(&passes[1]).await; // John arrives; Sato does not.
    h.advance(10 * 60);
    assert_eq!(h.store.queue_no_shows(h.clock.now_utc()).await.unwrap(), 0);
    h.advance(6 * 60);
    assert_eq!(h.store.queue_no_shows(h.clock.now_utc()).await.unwrap(), 1);
    assert_eq!(
        h.store.queue_no_shows(h.clock.now_utc()).await.unwrap(),
        0,
        "once"
    );
    while h.deliver().await > 0 {}
    let notices: Vec<_> = h
        .messages()
        .await
        .into_iter()
        .filter(|m| m.kind == MessageKind::NoShow)
        .collect();
    assert_eq!(notices.len(), 1);
    let mail = smtp
        .to(HOST)
        .into_iter()
        .find(|m| {
            m.parsed()
                .subject()
                .unwrap_or("")
                .contains("has not arrived")
        })
        .expect("no-show mail");
    let text = mail.parsed().body_text(0).unwrap().into_owned();
    assert!(
        text.contains("Sato Hanako")
            && text.contains("15 minutes")
            && text.contains("Invitation: sent"),
        "{text}"
    );
}
