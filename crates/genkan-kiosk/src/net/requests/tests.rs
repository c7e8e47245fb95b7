//! A check-in through the network side with a fake server: online, then the server
//! gone (the offline desk answers), and the long-poll for the host's reply.

use std::sync::atomic::AtomicBool;

use chrono::{Duration as Span, TimeZone as _};
use genkan_core::wire::v1::ReplyKind;

use super::*;
use crate::offline::testing::{self, FakeServer, scan};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

#[tokio::test]
async fn a_check_in_goes_to_the_server_and_to_the_offline_desk_when_the_server_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(2);
    let mut desk = OfflineDesk::open(dir.path(), "gk_kiosk_test", 7);
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let desk = Mutex::new(desk);
    let link = AtomicBool::new(true);
    let server = FakeServer::default();
    let now = || t0() + Span::hours(1);

    let online = check_in(
        &server,
        &desk,
        &link,
        &scan(&passes[0], "req-00000001"),
        now,
    )
    .await;
    assert!(matches!(online, Answer::CheckedIn(_)), "{online:?}");
    assert!(link.load(Ordering::Acquire));

    server.state().down = true;
    let offline = check_in(
        &server,
        &desk,
        &link,
        &scan(&passes[1], "req-00000002"),
        now,
    )
    .await;
    let Answer::OfflineCheckedIn(welcome) = offline else {
        panic!("not an offline welcome: {offline:?}");
    };
    assert_eq!(welcome.visitor_name, "Visitor 1");
    assert!(
        !link.load(Ordering::Acquire),
        "the kiosk knows it is offline"
    );
    assert_eq!(lock(&desk).journal_len(), 1);
}

#[tokio::test]
async fn the_hosts_reply_is_long_polled_until_it_comes() {
    let server = FakeServer::default();
    let reply = HostReply {
        kind: ReplyKind::Coming,
        host_name: "Tanaka Ichiro".to_owned(),
        at: "2026-11-23T10:00:00+09:00".to_owned(),
    };
    server
        .state()
        .replies
        .extend([Ok(None), Ok(Some(reply.clone()))]);
    let got = watch_reply(&server, 1, Duration::from_secs(30)).await;
    assert_eq!(got, Some(reply));
    assert_eq!(server.state().reply_polls, 2);
}

#[tokio::test]
async fn a_server_without_replies_ends_the_watch_at_once() {
    let server = FakeServer::default();
    server.state().replies.push_back(Err(ErrorCode::NotFound));
    assert_eq!(watch_reply(&server, 1, Duration::from_secs(30)).await, None);
    assert_eq!(server.state().reply_polls, 1);
    // Unreachable: no reply, no retry storm.
    server.state().down = true;
    assert_eq!(watch_reply(&server, 1, Duration::from_secs(30)).await, None);
}
