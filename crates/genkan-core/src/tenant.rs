//! Tenants (customer companies), their sites, and the time zone every local time is shown in.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::id::{SiteId, TenantId};
use crate::text::{Locale, OrgName};

/// The default zone of a new site.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";

/// An IANA time zone such as `Asia/Tokyo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(Tz);

impl TimeZone {
    /// Parses an IANA zone name.
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        name.trim()
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| UnknownTimeZone(name.to_owned()))
    }

    /// The zone's IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The underlying zone.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The local calendar date of `at` in this zone.
    pub fn local_date(self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The first instant of `date` in this zone (handles zones whose midnight is skipped).
    pub fn start_of_day(self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_time(NaiveTime::MIN);
        match self.0.from_local_datetime(&midnight) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.with_timezone(&Utc)
            }
            // A DST gap at midnight: the day starts at the first valid instant after it.
            chrono::LocalResult::None => (1..=4)
                .find_map(|h| {
                    self.0
                        .from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                        .earliest()
                })
                .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)),
        }
    }

    /// `[start, end)` of the local calendar days from `first` to `last` inclusive.
    pub fn days_window(self, first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let end_date = last.succ_opt().unwrap_or(last);
        (self.start_of_day(first), self.start_of_day(end_date))
    }

    /// `at` as ISO 8601 with this zone's offset, e.g. `2026-11-23T10:00:00+09:00`.
    pub fn format(self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// `at` as a short local time with offset for people, e.g. `2026-11-23 10:00 (+09:00)`.
    pub fn format_human(self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M (%:z)")
            .to_string()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(Tz::Asia__Tokyo)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for TimeZone {
    type Error = UnknownTimeZone;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeZone> for String {
    fn from(value: TimeZone) -> Self {
        value.name().to_owned()
    }
}

/// A zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}")]
pub struct UnknownTimeZone(pub String);

/// A customer company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Short, URL-safe organisation id used at sign-in (`acme`).
    pub slug: String,
    /// Display name.
    pub name: OrgName,
    /// Language used when a person has not chosen one.
    pub default_locale: Locale,
    /// Zone for tenant-wide schedules (backups, reminders).
    pub time_zone: TimeZone,
}

/// An office with its own reception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Display name (`Tokyo HQ`).
    pub name: OrgName,
    /// Zone in which this site's times are shown and its days are counted.
    pub time_zone: TimeZone,
    /// Street address shown in invitations.
    pub address: String,
}

/// Checks a tenant slug: 2–32 of `a-z 0-9 -`, not starting or ending with `-`.
pub fn parse_slug(input: &str) -> Option<String> {
    let s = input.trim().to_ascii_lowercase();
    let ok = (2..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    ok.then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokyo_day_window_is_utc_minus_nine_hours() {
        let tz = TimeZone::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let (start, end) = tz.days_window(day, day);
        assert_eq!(start.to_rfc3339(), "2026-11-22T15:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-23T15:00:00+00:00");
        assert_eq!(tz.format(start), "2026-11-23T00:00:00+09:00");
    }

    #[test]
    fn local_date_follows_the_zone_not_utc() {
        let tz = TimeZone::parse("Asia/Tokyo").unwrap();
        let at = "2026-11-22T16:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            tz.local_date(at),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
    }

    #[test]
    fn a_day_starting_in_a_dst_gap_starts_at_the_first_valid_instant() {
        // Havana skipped midnight on 2026-03-08.
        let tz = TimeZone::parse("America/Havana").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let start = tz.start_of_day(day);
        assert_eq!(tz.local_date(start), day);
    }

    #[test]
    fn unknown_zone_and_bad_slug_are_refused() {
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert_eq!(parse_slug(" Acme-Corp "), Some("acme-corp".to_owned()));
        assert_eq!(parse_slug("-x"), None);
        assert_eq!(parse_slug("a b"), None);
    }
}
