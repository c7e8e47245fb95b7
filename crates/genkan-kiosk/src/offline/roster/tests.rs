//! Offline verification against the roster: tokens and typed codes, validity,
//! revocation as of the last sync, and "used here already"; the encrypted file.

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
fn a_scanned_token_and_a_typed_code_of_the_roster_are_recognised() {
    let passes = testing::passes(3);
    let mut roster = state(&passes);
    let now = t0() + Duration::hours(2);
    let by_token = roster
        .verify(Presented::Token(&passes[1].token), now)
        .unwrap();
    assert_eq!(by_token.visitor_name, "Visitor 1");
    let by_code = roster
        .verify(Presented::Code(&passes[2].code), now)
        .unwrap();
    assert_eq!(by_code.visitor_name, "Visitor 2");
}

#[test]
fn passes_not_in_the_roster_are_unknown_including_those_revoked_since_the_last_sync() {
    let passes = testing::passes(3);
    let mut roster = state(&passes[..2]);
    let now = t0() + Duration::hours(1);
    assert_eq!(
        roster.verify(Presented::Token(&passes[2].token), now).err(),
        Some(OfflineRefusal::Unknown)
    );
    assert_eq!(
        roster.verify(Presented::Code(&passes[2].code), now).err(),
        Some(OfflineRefusal::Unknown)
    );
    // The next sync no longer lists pass 0 (revoked): it stops working offline.
    let resynced = RosterState::new(testing::roster(&passes[1..2], t0()), now, Some(&roster));
    let mut resynced = resynced;
    assert_eq!(
        resynced
            .verify(Presented::Token(&passes[0].token), now)
            .err(),
        Some(OfflineRefusal::Unknown)
    );
}

#[test]
fn a_code_digest_made_with_another_salt_does_not_match() {
    let passes = testing::passes(1);
    let mut roster = testing::roster(&passes, t0());
    roster.code_salt = hex::encode([1u8, 2, 3]);
    let mut state = RosterState::new(roster, t0(), None);
    assert_eq!(
        state
            .verify(Presented::Code(&passes[0].code), t0() + Duration::hours(1))
            .err(),
        Some(OfflineRefusal::Unknown)
    );
}

#[test]
fn validity_is_checked_offline_too() {
    let passes = testing::passes(1);
    let mut roster = state(&passes);
    let token = Presented::Token(&passes[0].token);
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
            .verify(Presented::Code(&passes[0].code), now + Duration::minutes(1))
            .err(),
        Some(OfflineRefusal::AlreadyUsed)
    );
    let mut resynced = RosterState::new(testing::roster(&passes, t0()), now, Some(&roster));
    assert_eq!(
        resynced
            .verify(Presented::Token(&passes[0].token), now + Duration::hours(2))
            .err(),
        Some(OfflineRefusal::AlreadyUsed)
    );
    assert!(
        resynced
            .verify(Presented::Token(&passes[1].token), now)
            .is_ok()
    );
    assert!(
        resynced
            .verify(Presented::Token(&passes[0].token), now + USED_FOR)
            .is_ok(),
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
        roster
            .verify(Presented::Token(&passes[0].token), t0() + MAX_AGE)
            .err(),
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
            .verify(Presented::Code(&passes[1].code), t0() + Duration::hours(1))
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
