//! Showing instants to people: always in a site's zone, always with the offset.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use genkan_core::tenant::TimeZone;

/// `2026-11-23 10:00 (+09:00)`.
pub fn human(at: DateTime<Utc>, zone: TimeZone) -> String {
    zone.format_human(at)
}

/// `10:00`.
pub fn clock(at: DateTime<Utc>, zone: TimeZone) -> String {
    at.with_timezone(&zone.tz()).format("%H:%M").to_string()
}

/// `+09:00`.
pub fn offset(at: DateTime<Utc>, zone: TimeZone) -> String {
    at.with_timezone(&zone.tz()).format("%:z").to_string()
}

/// `2026-11-23`.
pub fn date(at: DateTime<Utc>, zone: TimeZone) -> String {
    at.with_timezone(&zone.tz()).format("%Y-%m-%d").to_string()
}

/// The instant of a local date and time in `zone` (the earlier one when ambiguous,
/// the first valid one after a gap).
pub fn from_local(date: NaiveDate, time: NaiveTime, zone: TimeZone) -> DateTime<Utc> {
    zone.start_of_day(date) + (date.and_time(time) - date.and_time(NaiveTime::MIN))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Parses `HH:MM`.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_convert_with_the_sites_zone() {
        let zone = TimeZone::default();
        let at = from_local(
            parse_date("2026-11-23").unwrap(),
            parse_time("10:30").unwrap(),
            zone,
        );
        assert_eq!(at.to_rfc3339(), "2026-11-23T01:30:00+00:00");
        assert_eq!(human(at, zone), "2026-11-23 10:30 (+09:00)");
        assert_eq!(clock(at, zone), "10:30");
        assert_eq!(offset(at, zone), "+09:00");
    }
}
