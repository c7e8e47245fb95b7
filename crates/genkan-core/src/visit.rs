//! The rules of a visit: when a pass may check in or out, and the typed refusals.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::id::SiteId;
use crate::pass::{Validity, ValidityState};
use crate::tenant::TimeZone;
use crate::wire::v1::ErrorCode;

/// What the store knows about a pass when a kiosk presents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassState {
    /// The site the appointment is at.
    pub site_id: SiteId,
    /// When the pass admits its visitor.
    pub validity: Validity,
    /// Revoked (appointment cancelled or pass replaced).
    pub revoked: bool,
    /// The visitor is checked in and not yet out.
    pub inside: bool,
}

/// Why a check-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckInRefusal {
    /// The appointment was cancelled or the pass replaced.
    #[error("this pass was cancelled")]
    Cancelled,
    /// The pass belongs to another site of the same company.
    #[error("this pass is for another site")]
    OtherSite,
    /// Too early.
    #[error("this pass is not valid yet")]
    NotYetValid,
    /// Too late.
    #[error("this pass has expired")]
    Expired,
    /// Checked in already and not out.
    #[error("this visitor is already checked in")]
    AlreadyInside,
}

/// Why a check-out was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckOutRefusal {
    /// No open visit for this pass.
    #[error("this visitor is not checked in")]
    NotInside,
    /// The pass belongs to another site.
    #[error("this pass is for another site")]
    OtherSite,
}

impl CheckInRefusal {
    /// The stable API code.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Cancelled => ErrorCode::PassCancelled,
            Self::OtherSite => ErrorCode::OtherSite,
            Self::NotYetValid => ErrorCode::PassNotYetValid,
            Self::Expired => ErrorCode::PassExpired,
            Self::AlreadyInside => ErrorCode::AlreadyInside,
        }
    }
}

impl CheckOutRefusal {
    /// The stable API code.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::NotInside => ErrorCode::NotInside,
            Self::OtherSite => ErrorCode::OtherSite,
        }
    }
}

/// Decides whether `pass` may check in at a kiosk of `kiosk_site` at `now`.
/// The order matters: a cancelled pass says "cancelled" even when also expired.
pub fn decide_check_in(
    pass: &PassState,
    kiosk_site: SiteId,
    now: DateTime<Utc>,
) -> Result<(), CheckInRefusal> {
    if pass.revoked {
        return Err(CheckInRefusal::Cancelled);
    }
    if pass.site_id != kiosk_site {
        return Err(CheckInRefusal::OtherSite);
    }
    if pass.inside {
        return Err(CheckInRefusal::AlreadyInside);
    }
    match pass.validity.state_at(now) {
        ValidityState::NotYetValid => Err(CheckInRefusal::NotYetValid),
        ValidityState::Expired => Err(CheckInRefusal::Expired),
        ValidityState::Valid => Ok(()),
    }
}

/// Decides whether `pass` may check out at a kiosk of `kiosk_site`. A visitor who
/// stayed past the end of their pass can still leave.
pub fn decide_check_out(pass: &PassState, kiosk_site: SiteId) -> Result<(), CheckOutRefusal> {
    if pass.site_id != kiosk_site {
        return Err(CheckOutRefusal::OtherSite);
    }
    if !pass.inside {
        return Err(CheckOutRefusal::NotInside);
    }
    Ok(())
}

/// Status of a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// Checked in, not yet out.
    Inside,
    /// Checked out (by the visitor, the front desk, or automatically).
    CheckedOut,
}

impl VisitStatus {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inside => "inside",
            Self::CheckedOut => "checked_out",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inside" => Some(Self::Inside),
            "checked_out" => Some(Self::CheckedOut),
            _ => None,
        }
    }
}

/// How a visitor identified themselves at check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckInMethod {
    /// QR code scanned by a kiosk.
    Qr,
    /// 8-digit code typed at a kiosk.
    Code,
    /// Checked in by the front desk in the web UI.
    Manual,
    /// Verified by a kiosk while offline, replayed later.
    Offline,
}

impl CheckInMethod {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Code => "code",
            Self::Manual => "manual",
            Self::Offline => "offline",
        }
    }
}

/// Whether a visit still open at `now` belongs to an earlier local day and
/// should be closed by the end-of-day automatic check-out.
pub fn auto_checkout_due(checked_in_at: DateTime<Utc>, zone: TimeZone, now: DateTime<Utc>) -> bool {
    let day_of_visit: NaiveDate = zone.local_date(checked_in_at);
    day_of_visit < zone.local_date(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn pass() -> PassState {
        let from: DateTime<Utc> = "2026-11-22T15:00:00Z".parse().unwrap();
        PassState {
            site_id: SiteId(1),
            validity: Validity {
                from,
                until: from + Duration::days(1),
            },
            revoked: false,
            inside: false,
        }
    }

    fn noon() -> DateTime<Utc> {
        "2026-11-23T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_valid_pass_checks_in() {
        assert_eq!(decide_check_in(&pass(), SiteId(1), noon()), Ok(()));
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let mut p = pass();
        p.revoked = true;
        assert_eq!(
            decide_check_in(&p, SiteId(1), noon()),
            Err(CheckInRefusal::Cancelled)
        );
        assert_eq!(
            decide_check_in(&pass(), SiteId(2), noon()),
            Err(CheckInRefusal::OtherSite)
        );
        let early = pass().validity.from - Duration::seconds(1);
        assert_eq!(
            decide_check_in(&pass(), SiteId(1), early),
            Err(CheckInRefusal::NotYetValid)
        );
        let late = pass().validity.until;
        assert_eq!(
            decide_check_in(&pass(), SiteId(1), late),
            Err(CheckInRefusal::Expired)
        );
        let mut inside = pass();
        inside.inside = true;
        assert_eq!(
            decide_check_in(&inside, SiteId(1), noon()),
            Err(CheckInRefusal::AlreadyInside)
        );
    }

    #[test]
    fn cancelled_wins_over_expired() {
        let mut p = pass();
        p.revoked = true;
        assert_eq!(
            decide_check_in(&p, SiteId(1), p.validity.until + Duration::days(3)),
            Err(CheckInRefusal::Cancelled)
        );
    }

    #[test]
    fn check_out_needs_an_open_visit_but_not_a_valid_pass() {
        let mut p = pass();
        assert_eq!(
            decide_check_out(&p, SiteId(1)),
            Err(CheckOutRefusal::NotInside)
        );
        p.inside = true;
        p.revoked = true;
        assert_eq!(decide_check_out(&p, SiteId(1)), Ok(()));
        assert_eq!(
            decide_check_out(&p, SiteId(9)),
            Err(CheckOutRefusal::OtherSite)
        );
    }

    #[test]
    fn auto_checkout_is_due_on_the_next_local_day() {
        let tz = TimeZone::default();
        let checked_in: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap(); // 18:00 JST
        assert!(!auto_checkout_due(
            checked_in,
            tz,
            "2026-11-23T14:59:59Z".parse().unwrap()
        ));
        assert!(auto_checkout_due(
            checked_in,
            tz,
            "2026-11-23T15:00:00Z".parse().unwrap()
        ));
    }
}
