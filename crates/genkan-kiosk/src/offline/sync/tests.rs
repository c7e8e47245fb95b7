//! Replaying the journal and the background schedule against a fake server: order,
//! idempotency (no duplicate however often a replay is repeated), resuming after the
//! server drops mid-way, and the link going down and coming back. A manual clock moves.

use chrono::TimeZone as _;

use super::*;
use crate::offline::testing::{self, FakeServer, scan};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

/// A desk with a roster of `n` passes and each of them checked in offline, a minute apart.
fn journaled(dir: &std::path::Path, n: usize) -> (Mutex<OfflineDesk>, Vec<DateTime<Utc>>) {
    let passes = testing::passes(n);
    let mut desk = OfflineDesk::open(dir, "gk_kiosk_test", 7);
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let times: Vec<_> = (0..n)
        .map(|i| t0() + Duration::hours(1) + Duration::minutes(i64::try_from(i).unwrap()))
        .collect();
    for (i, pass) in passes.iter().enumerate() {
        desk.check_in(&scan(pass, &format!("req-{i:08}")), times[i])
            .unwrap();
    }
    (Mutex::new(desk), times)
}

#[tokio::test]
async fn the_journal_is_replayed_in_order_with_the_real_arrival_times_then_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, times) = journaled(dir.path(), 5);
    let server = FakeServer::default();
    let report = replay(&server, &desk).await;
    assert_eq!(report.replayed.len(), 5);
    assert_eq!(report.remaining, 0);
    assert!(report.stopped.is_none());
    let visits = server.state().visits.clone();
    let ids: Vec<_> = visits.iter().map(|v| v.request_id.clone()).collect();
    assert_eq!(
        ids,
        (0..5).map(|i| format!("req-{i:08}")).collect::<Vec<_>>()
    );
    for (visit, at) in visits.iter().zip(&times) {
        assert_eq!(visit.offline_at.as_deref(), Some(at.to_rfc3339().as_str()));
    }
    assert!(
        !lock(&desk).journal().path().exists(),
        "an empty journal is deleted"
    );
}

#[tokio::test]
async fn a_replay_repeated_after_a_crash_makes_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = journaled(dir.path(), 3);
    let journal = lock(&desk).journal().path().to_owned();
    let copy = std::fs::read(&journal).unwrap();
    let server = FakeServer::default();
    replay(&server, &desk).await;
    // A crash after the server answered but before the journal was rewritten: the
    // same entries are replayed again.
    std::fs::write(&journal, &copy).unwrap();
    let again = replay(&server, &desk).await;
    assert_eq!(
        again.replayed.len(),
        3,
        "the server gives the first answers again"
    );
    assert_eq!(
        again.replayed.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(server.state().visits.len(), 3, "0 duplicates");
}

#[tokio::test]
async fn a_server_lost_mid_replay_keeps_the_rest_in_order_for_the_next_try() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = journaled(dir.path(), 5);
    let server = FakeServer::default();
    server.state().down_after = Some(2);
    let report = replay(&server, &desk).await;
    assert_eq!(report.replayed.len(), 2);
    assert_eq!(report.remaining, 3);
    assert!(report.stopped.is_some());
    let left: Vec<_> = lock(&desk)
        .journal()
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.request_id)
        .collect();
    assert_eq!(left, vec!["req-00000002", "req-00000003", "req-00000004"]);
    {
        let mut s = server.state();
        s.down = false;
        s.down_after = None;
    }
    let report = replay(&server, &desk).await;
    assert_eq!(report.replayed.len(), 3);
    let visits = server.state().visits.clone();
    assert_eq!(visits.len(), 5, "0 lost, 0 duplicates");
    assert_eq!(visits[4].request_id, "req-00000004");
}

#[tokio::test]
async fn a_check_in_refused_on_replay_is_dropped_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(2);
    let mut desk = OfflineDesk::open(dir.path(), "gk_kiosk_test", 7);
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let now = t0() + Duration::hours(1);
    desk.check_in(&scan(&passes[0], "req-00000001"), now)
        .unwrap();
    desk.check_in(&scan(&passes[1], "req-00000002"), now)
        .unwrap();
    let desk = Mutex::new(desk);
    let server = FakeServer::default();
    // The first visitor was checked in at the front desk meanwhile.
    server
        .check_in(&scan(&passes[0], "desk-0001"), None)
        .await
        .unwrap();
    let report = replay(&server, &desk).await;
    assert_eq!(
        report.refused,
        vec![("req-00000001".to_owned(), ErrorCode::AlreadyInside)]
    );
    assert_eq!(report.replayed.len(), 1);
    assert_eq!(report.remaining, 0);
}

#[tokio::test]
async fn the_background_goes_offline_probes_and_on_return_replays_and_refreshes_the_roster() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(2);
    let desk = Mutex::new(OfflineDesk::open(dir.path(), "gk_kiosk_test", 7));
    let server = FakeServer::default();
    server.state().roster = Some(testing::roster(&passes, t0()));
    let health = Health::default();
    let mut bg = Background::new();

    // Online: heartbeat and roster at once.
    assert!(bg.step(&server, &desk, &health, t0()).await.is_empty());
    assert_eq!(server.state().heartbeats.len(), 1);
    assert_eq!(lock(&desk).roster().unwrap().roster.passes.len(), 2);
    // Nothing is due a few seconds later.
    bg.step(&server, &desk, &health, t0() + Duration::seconds(5))
        .await;
    assert_eq!(server.state().heartbeats.len(), 1);

    // The server goes away: the next heartbeat finds out.
    server.state().down = true;
    let at = t0() + Duration::minutes(1);
    assert_eq!(
        bg.step(&server, &desk, &health, at).await,
        vec![LinkEvent::Offline]
    );
    assert!(!bg.online());
    // Visitors keep coming, checked in offline.
    lock(&desk)
        .check_in(&scan(&passes[0], "req-00000001"), at + Duration::seconds(2))
        .unwrap();
    // Probes wait their turn, and fail while the server is down.
    assert!(
        bg.step(&server, &desk, &health, at + Duration::seconds(5))
            .await
            .is_empty()
    );
    assert!(
        bg.step(&server, &desk, &health, at + Duration::seconds(10))
            .await
            .is_empty()
    );

    // Back: the probe succeeds, the journal is replayed, the roster refreshed.
    server.state().down = false;
    server.state().roster = Some(testing::roster(&passes[1..], t0()));
    let back = at + Duration::seconds(20);
    assert_eq!(
        bg.step(&server, &desk, &health, back).await,
        vec![LinkEvent::Online]
    );
    assert!(bg.online());
    let beat = server.state().heartbeats.last().cloned().unwrap();
    assert_eq!(
        beat.journal_length, 1,
        "the heartbeat reported the waiting check-in"
    );
    assert_eq!(server.state().visits.len(), 1);
    assert_eq!(lock(&desk).journal_len(), 0);
    assert_eq!(
        lock(&desk).roster().unwrap().roster.passes.len(),
        1,
        "refreshed at once after reconnecting"
    );
}

#[tokio::test]
async fn a_server_loss_noticed_by_a_check_in_is_announced_by_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Mutex::new(OfflineDesk::open(dir.path(), "gk_kiosk_test", 7));
    let server = FakeServer::default();
    server.state().roster = Some(testing::roster(&testing::passes(1), t0()));
    let mut bg = Background::new();
    bg.step(&server, &desk, &Health::default(), t0()).await;
    server.state().down = true;
    // A check-in task found the server gone and turned the shared flag off.
    bg.link().store(false, Ordering::Release);
    let events = bg
        .step(
            &server,
            &desk,
            &Health::default(),
            t0() + Duration::seconds(5),
        )
        .await;
    assert_eq!(events, vec![LinkEvent::Offline]);
    let events = bg
        .step(
            &server,
            &desk,
            &Health::default(),
            t0() + Duration::seconds(10),
        )
        .await;
    assert!(events.is_empty(), "announced once");
}

#[tokio::test]
async fn a_revoked_kiosk_deletes_its_roster_and_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, _) = journaled(dir.path(), 1);
    let server = FakeServer::default();
    server.state().revoked = true;
    let mut bg = Background::new();
    let events = bg.step(&server, &desk, &Health::default(), t0()).await;
    assert_eq!(events, vec![LinkEvent::Revoked]);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
