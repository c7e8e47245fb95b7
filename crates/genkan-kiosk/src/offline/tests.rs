//! The offline desk: a check-in verified, journaled (durably, before the welcome) and
//! marked; refusals; tidying what is no longer needed.

use chrono::{Duration, TimeZone as _};
use genkan_core::wire::v1::ErrorCode;

use super::*;
use crate::offline::testing::{self, scan};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

fn desk_in(dir: &Path) -> OfflineDesk {
    OfflineDesk::open(dir, "gk_kiosk_test", 7)
}

#[test]
fn an_offline_check_in_is_journaled_before_the_welcome_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(2);
    let mut desk = desk_in(dir.path());
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let now = t0() + Duration::hours(3);
    let welcome = desk
        .check_in(&scan(&passes[0], "req-00000001"), now)
        .unwrap();
    assert_eq!(welcome.visitor_name, "Visitor 0");
    assert_eq!(welcome.offline_at, now);
    assert!(welcome.host_reachable);
    desk.check_in(
        &scan(&passes[1], "req-00000002"),
        now + Duration::minutes(1),
    )
    .unwrap();
    drop(desk);

    // The kiosk restarts (or the power was cut): everything is still there.
    let desk = desk_in(dir.path());
    let entries = desk.journal().entries().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].request_id, "req-00000001");
    assert_eq!(entries[0].token_hash, passes[0].token.hash().to_hex());
    assert_eq!(entries[0].offline_at, now);
    assert_eq!(entries[1].token_hash, passes[1].token.hash().to_hex());
    assert_eq!(desk.journal_len(), 2);
    let journal = std::fs::read_to_string(desk.journal().path()).unwrap();
    assert!(!journal.contains("Visitor"), "the journal holds no names");
}

#[test]
fn a_typed_code_is_never_taken_offline_and_the_visitor_is_told_it_needs_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let mut desk = desk_in(dir.path());
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let by_code = PresentPass {
        request_id: "req-00000001".to_owned(),
        token: None,
        code: Some(passes[0].code.as_str().to_owned()),
        offline_at: None,
        token_hash: None,
    };
    let answer = desk.answer(&by_code, t0() + Duration::hours(1));
    assert_eq!(answer, Answer::CodeNeedsConnection);
    assert_eq!(desk.journal_len(), 0, "nothing journaled");
    assert!(
        desk.check_in(&scan(&passes[0], "req-00000002"), t0() + Duration::hours(1))
            .is_ok(),
        "the same visitor's QR code still works"
    );
}

#[test]
fn a_pass_used_offline_is_refused_the_second_time_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let mut desk = desk_in(dir.path());
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let now = t0() + Duration::hours(1);
    assert!(matches!(
        desk.answer(&scan(&passes[0], "req-00000001"), now),
        Answer::OfflineCheckedIn(_)
    ));
    let again = desk.answer(
        &scan(&passes[0], "req-00000002"),
        now + Duration::minutes(5),
    );
    assert!(
        matches!(&again, Answer::Refused(body) if body.code == ErrorCode::AlreadyInside),
        "{again:?}"
    );
    let mut restarted = desk_in(dir.path());
    assert!(matches!(
        restarted.answer(
            &scan(&passes[0], "req-00000003"),
            now + Duration::minutes(6)
        ),
        Answer::Refused(_)
    ));
    assert_eq!(restarted.journal_len(), 1, "refusals are not journaled");
}

#[test]
fn the_journal_alone_refuses_a_pass_whose_mark_was_lost_in_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let mut desk = desk_in(dir.path());
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    let now = t0() + Duration::hours(1);
    desk.check_in(&scan(&passes[0], "req-00000001"), now)
        .unwrap();
    // A crash before the marks were saved: the stored roster has no mark.
    desk.store_roster(testing::roster(&passes, t0()), now)
        .unwrap();
    let mut fresh = RosterState::new(testing::roster(&passes, t0()), now, None);
    fresh.used.clear();
    RosterFile::new(dir.path(), "gk_kiosk_test", 7)
        .save(&fresh)
        .unwrap();
    let mut restarted = desk_in(dir.path());
    assert!(matches!(
        restarted.check_in(&scan(&passes[0], "req-00000002"), now),
        Err(OfflineError::Refused(OfflineRefusal::AlreadyUsed))
    ));
}

#[test]
fn without_a_roster_nothing_is_welcomed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let mut desk = desk_in(dir.path());
    let answer = desk.answer(&scan(&passes[0], "req-00000001"), t0());
    assert!(
        matches!(&answer, Answer::Refused(body) if body.code == ErrorCode::PassUnknown),
        "{answer:?}"
    );
    assert_eq!(desk.journal_len(), 0);
}

#[test]
fn an_expired_roster_and_an_empty_journal_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let mut desk = desk_in(dir.path());
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    desk.check_in(&scan(&passes[0], "req-00000001"), t0() + Duration::hours(1))
        .unwrap();
    desk.tidy(t0() + Duration::hours(2));
    assert!(desk.roster().is_some(), "still valid today");
    desk.tidy(t0() + Duration::days(1));
    assert!(desk.roster().is_none(), "its last pass has expired");
    assert!(!dir.path().join(roster::FILE_NAME).exists());
    assert!(
        dir.path().join(journal::FILE_NAME).exists(),
        "the journal waits for the server, whatever the roster"
    );
    desk.journal().remove(&["req-00000001".to_owned()]).unwrap();
    desk.tidy(t0() + Duration::days(1));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing left"
    );
}

#[test]
fn a_revoked_kiosk_forgets_its_roster_and_journal() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let mut desk = desk_in(dir.path());
    desk.store_roster(testing::roster(&passes, t0()), t0())
        .unwrap();
    desk.check_in(&scan(&passes[0], "req-00000001"), t0() + Duration::hours(1))
        .unwrap();
    desk.forget_all();
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
