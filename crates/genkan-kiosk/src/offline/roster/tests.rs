//! Offline verification against the roster: scanned tokens, validity, revocation as
//! of the last sync, and "used here already"; the encrypted file, which holds nothing
//! a typed code could be checked against.

use chrono::{Duration, TimeZone as _};

use super::*;
use crate::offline::testing::{self, Pass};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

fn state(passes: &[Pass]) -> RosterState {
    RosterState::new(testing::roster(passes, t0()), t0(), None)
}

#[test]
fn a_scanned_token_of_the_roster_is_recognised() {
    let passes = testing::passes(3);
    let mut roster = state(&passes);
    let now = t0() + Duration::hours(2);
    let found = roster.verify(&passes[1].token, now).unwrap();
    assert_eq!(found.visitor_name, "Visitor 1");
    assert!(found.host_reachable);
}

#[test]
fn passes_not_in_the_roster_are_unknown_including_those_revoked_since_the_last_sync() {
    let passes = testing::passes(3);
    let mut roster = state(&passes[..2]);
    let now = t0() + Duration::hours(1);
    assert_eq!(
        roster.verify(&passes[2].token, now).err(),
        Some(OfflineRefusal::Unknown)
    );
    // The next sync no longer lists pass 0 (revoked): it stops working offline.
    let mut resynced = RosterState::new(testing::roster(&passes[1..2], t0()), now, Some(&roster));
    assert_eq!(
        resynced.verify(&passes[0].token, now).err(),
        Some(OfflineRefusal::Unknown)
    );
}

#[test]
fn validity_is_checked_offline_too() {
    let passes = testing::passes(1);
    let mut roster = state(&passes);
    let token = &passes[0].token;
    assert_eq!(
        roster.verify(token, t0() - Duration::minutes(1)).err(),
        Some(OfflineRefusal::NotYetValid)
    );
    assert_eq!(
        roster.verify(token, t0() + Duration::days(1)).err(),
        Some(OfflineRefusal::Expired)
    );
}

#[test]
fn a_pass_used_offline_is_refused_again_here_for_twelve_hours_and_marks_survive_a_resync() {
    let passes = testing::passes(2);
    let mut roster = state(&passes);
    let now = t0() + Duration::hours(1);
    let hash = passes[0].token.hash().to_hex();
    roster.mark_used(&hash, now);
    assert_eq!(
        roster
            .verify(&passes[0].token, now + Duration::minutes(1))
            .err(),
        Some(OfflineRefusal::AlreadyUsed)
    );
    let mut resynced = RosterState::new(testing::roster(&passes, t0()), now, Some(&roster));
    assert_eq!(
        resynced
            .verify(&passes[0].token, now + Duration::hours(2))
            .err(),
        Some(OfflineRefusal::AlreadyUsed)
    );
    assert!(resynced.verify(&passes[1].token, now).is_ok());
    assert!(
        resynced.verify(&passes[0].token, now + USED_FOR).is_ok(),
        "a period pass works again the next day"
    );
}

#[test]
fn an_old_roster_is_not_trusted_and_expires_with_its_last_pass() {
    let passes = testing::passes(1);
    let mut roster = state(&passes);
    assert_eq!(roster.expires_at(), t0() + Duration::days(1));
    assert!(roster.usable_at(t0() + Duration::hours(47)));
    assert!(!roster.usable_at(t0() + MAX_AGE));
    assert_eq!(
        roster.verify(&passes[0].token, t0() + MAX_AGE).err(),
        Some(OfflineRefusal::Unknown)
    );
}

#[test]
fn the_roster_file_is_encrypted_and_readable_only_with_the_same_credential() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(2);
    let file = RosterFile::new(dir.path(), "gk_kiosk_a", 1);
    let mut roster = state(&passes);
    roster.mark_used(&passes[0].token.hash().to_hex(), t0());
    file.save(&roster).unwrap();
    let bytes = std::fs::read(file.path()).unwrap();
    assert!(
        !bytes.windows(7).any(|w| w == b"Visitor"),
        "no visitor name in clear"
    );
    let mut loaded = file.load().unwrap();
    assert_eq!(loaded.used, roster.used);
    assert!(
        loaded
            .verify(&passes[1].token, t0() + Duration::hours(1))
            .is_ok()
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Another credential (the kiosk was paired again) cannot read it: it is deleted.
    let other = RosterFile::new(dir.path(), "gk_kiosk_b", 1);
    assert!(other.load().is_none());
    assert!(!file.path().exists());
}

#[test]
fn a_roster_file_from_before_codes_left_rosters_is_rewritten_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let passes = testing::passes(1);
    let file = RosterFile::new(dir.path(), "gk_kiosk_a", 1);
    let mut old = serde_json::to_value(state(&passes)).unwrap();
    old["roster"]["code_salt"] = "0707".into();
    old["roster"]["passes"][0]["code_hash"] = "ab".repeat(32).into();
    let key = AtRestKey::derive("gk_kiosk_a", "roster");
    let sealed = key.seal(
        &serde_json::to_vec(&old).unwrap(),
        "genkan-kiosk roster v1 kiosk:1",
    );
    std::fs::write(file.path(), sealed).unwrap();
    let mut loaded = file.load().unwrap();
    assert!(
        loaded
            .verify(&passes[0].token, t0() + Duration::hours(1))
            .is_ok()
    );
    let plain = key
        .open(
            &std::fs::read(file.path()).unwrap(),
            "genkan-kiosk roster v1 kiosk:1",
        )
        .unwrap();
    let text = String::from_utf8(plain).unwrap();
    assert!(
        !text.contains("code_salt") && !text.contains("code_hash"),
        "{text}"
    );
}
