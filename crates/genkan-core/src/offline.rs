//! Check-ins a kiosk made without the server: how long a kiosk trusts its roster, and
//! which journal replays the server accepts. A replay is accepted only for a pass that
//! a roster issued to *that* kiosk listed, at a claimed arrival time when that roster
//! was in the kiosk's hands and the pass was valid, and not older than the replay
//! window. Anything else is refused, so a kiosk's credential cannot be used to invent
//! or back-date visits.

use chrono::{DateTime, Duration, Utc};

use crate::pass::{Validity, ValidityState};

/// How long a kiosk trusts a roster after it was issued (its "tomorrow" has passed by
/// then). The kiosk stops verifying against an older roster; the server refuses
/// replays claiming an arrival later than this after the last roster listing the pass.
pub const ROSTER_MAX_AGE: Duration = Duration::hours(48);

/// How long after an offline arrival its replay is still accepted (a kiosk may stay
/// cut off over a long weekend; after that, the front desk records the visit).
pub const REPLAY_WINDOW: Duration = Duration::days(7);

/// How far a kiosk's clock may be ahead of (or behind) the server's: arrival times up
/// to this far in the future, or this far before the roster's issue, still count.
pub const CLOCK_SKEW: Duration = Duration::minutes(2);

/// When the rosters issued to one kiosk listed one pass (server time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    /// Issue time of the first roster that listed the pass.
    pub first: DateTime<Utc>,
    /// Issue time of the latest roster that listed it.
    pub last: DateTime<Utc>,
}

/// Why a journal replay was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayRefusal {
    /// The claimed arrival is later than now (beyond the clock skew allowed).
    #[error("the claimed arrival time is in the future")]
    InFuture,
    /// The claimed arrival is older than the replay window.
    #[error("the claimed arrival time is older than the replay window")]
    TooOld,
    /// No roster issued to this kiosk listed the pass (or no such pass).
    #[error("no roster issued to this kiosk listed this pass")]
    NotListed,
    /// The claimed arrival is before the first roster that listed the pass.
    #[error("the claimed arrival is before this kiosk received the pass in a roster")]
    BeforeRoster,
    /// The claimed arrival is after the last roster listing the pass stopped being trusted.
    #[error("the claimed arrival is after the kiosk's roster had expired")]
    RosterExpired,
    /// The pass was not valid at the claimed arrival time.
    #[error("the pass was not valid at the claimed arrival time")]
    NotValidThen,
}

impl ReplayRefusal {
    /// Stable name for the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InFuture => "in_future",
            Self::TooOld => "too_old",
            Self::NotListed => "not_listed",
            Self::BeforeRoster => "before_roster",
            Self::RosterExpired => "roster_expired",
            Self::NotValidThen => "not_valid_then",
        }
    }
}

/// Whether a claimed arrival time is inside the replay window at `now`: not in the
/// future (beyond [`CLOCK_SKEW`]) and not older than [`REPLAY_WINDOW`].
pub fn within_replay_window(
    offline_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ReplayRefusal> {
    if offline_at > now + CLOCK_SKEW {
        return Err(ReplayRefusal::InFuture);
    }
    if offline_at < now - REPLAY_WINDOW {
        return Err(ReplayRefusal::TooOld);
    }
    Ok(())
}

/// Decides a journal replay claiming an arrival at `offline_at`, seen by the server at
/// `now`, for a pass that rosters issued to the replaying kiosk listed as `listing`
/// (`None`: never listed to it) and that is valid during `validity`. Returns the
/// arrival time to record (never later than `now`). The pass's other rules (cancelled,
/// other site, already inside) are [`crate::visit::decide_check_in`]'s.
pub fn decide_replay(
    offline_at: DateTime<Utc>,
    now: DateTime<Utc>,
    listing: Option<Listing>,
    validity: Validity,
) -> Result<DateTime<Utc>, ReplayRefusal> {
    within_replay_window(offline_at, now)?;
    let listing = listing.ok_or(ReplayRefusal::NotListed)?;
    if offline_at < listing.first - CLOCK_SKEW {
        return Err(ReplayRefusal::BeforeRoster);
    }
    if offline_at >= listing.last + ROSTER_MAX_AGE {
        return Err(ReplayRefusal::RosterExpired);
    }
    let arrived = offline_at.min(now);
    match validity.state_at(arrived) {
        ValidityState::Valid => Ok(arrived),
        ValidityState::NotYetValid | ValidityState::Expired => Err(ReplayRefusal::NotValidThen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        at("2026-11-23T01:00:00Z")
    }

    /// Valid all of 23 November in Tokyo.
    fn day() -> Validity {
        Validity {
            from: at("2026-11-22T15:00:00Z"),
            until: at("2026-11-23T15:00:00Z"),
        }
    }

    fn listed(first: &str, last: &str) -> Option<Listing> {
        Some(Listing {
            first: at(first),
            last: at(last),
        })
    }

    #[test]
    fn the_window_refuses_the_future_beyond_the_skew_and_anything_older_than_seven_days() {
        assert_eq!(within_replay_window(now(), now()), Ok(()));
        assert_eq!(within_replay_window(now() + CLOCK_SKEW, now()), Ok(()));
        assert_eq!(
            within_replay_window(now() + CLOCK_SKEW + Duration::seconds(1), now()),
            Err(ReplayRefusal::InFuture)
        );
        assert_eq!(within_replay_window(now() - REPLAY_WINDOW, now()), Ok(()));
        assert_eq!(
            within_replay_window(now() - REPLAY_WINDOW - Duration::seconds(1), now()),
            Err(ReplayRefusal::TooOld)
        );
    }

    #[test]
    fn a_listed_pass_valid_at_the_claimed_time_is_accepted_at_that_time() {
        let claimed = at("2026-11-23T00:30:00Z");
        let listing = listed("2026-11-22T23:00:00Z", "2026-11-23T00:20:00Z");
        assert_eq!(decide_replay(claimed, now(), listing, day()), Ok(claimed));
    }

    #[test]
    fn a_pass_never_listed_to_this_kiosk_is_refused_whatever_the_time() {
        assert_eq!(
            decide_replay(now() - Duration::minutes(5), now(), None, day()),
            Err(ReplayRefusal::NotListed)
        );
    }

    #[test]
    fn an_arrival_before_the_roster_reached_the_kiosk_is_refused_beyond_the_skew() {
        let listing = listed("2026-11-23T00:00:00Z", "2026-11-23T00:30:00Z");
        let first = at("2026-11-23T00:00:00Z");
        assert_eq!(
            decide_replay(first - CLOCK_SKEW, now(), listing, day()),
            Ok(first - CLOCK_SKEW)
        );
        assert_eq!(
            decide_replay(
                first - CLOCK_SKEW - Duration::seconds(1),
                now(),
                listing,
                day()
            ),
            Err(ReplayRefusal::BeforeRoster)
        );
    }

    #[test]
    fn an_arrival_after_the_last_listing_roster_expired_is_refused() {
        let long = Validity {
            from: at("2026-11-20T00:00:00Z"),
            until: at("2026-11-30T00:00:00Z"),
        };
        let last = at("2026-11-20T12:00:00Z");
        let listing = Some(Listing {
            first: at("2026-11-20T06:00:00Z"),
            last,
        });
        let just_in = last + ROSTER_MAX_AGE - Duration::seconds(1);
        assert_eq!(decide_replay(just_in, now(), listing, long), Ok(just_in));
        assert_eq!(
            decide_replay(last + ROSTER_MAX_AGE, now(), listing, long),
            Err(ReplayRefusal::RosterExpired)
        );
    }

    #[test]
    fn the_pass_must_be_valid_at_the_claimed_time_not_at_the_replay() {
        let listing = listed("2026-11-22T10:00:00Z", "2026-11-23T00:50:00Z");
        // Listed yesterday (as tomorrow's pass) but claimed before its day began.
        assert_eq!(
            decide_replay(at("2026-11-22T14:59:59Z"), now(), listing, day()),
            Err(ReplayRefusal::NotValidThen)
        );
        // Replayed after the pass ended, for an arrival inside its validity: accepted.
        let late_now = at("2026-11-24T03:00:00Z");
        let claimed = at("2026-11-23T14:00:00Z");
        assert_eq!(
            decide_replay(claimed, late_now, listing, day()),
            Ok(claimed)
        );
    }

    #[test]
    fn a_kiosk_clock_slightly_ahead_records_the_servers_now() {
        let listing = listed("2026-11-23T00:00:00Z", "2026-11-23T00:55:00Z");
        assert_eq!(
            decide_replay(now() + Duration::minutes(1), now(), listing, day()),
            Ok(now())
        );
    }

    #[test]
    fn the_window_is_checked_before_the_listing_so_nothing_is_told_about_the_pass() {
        assert_eq!(
            decide_replay(now() + Duration::days(1), now(), None, day()),
            Err(ReplayRefusal::InFuture)
        );
        assert_eq!(
            decide_replay(now() - Duration::days(8), now(), None, day()),
            Err(ReplayRefusal::TooOld)
        );
    }
}
