//! Appointments with one or more visitors: what a valid one looks like, and the
//! validity window its passes get.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{SiteId, UserId};
use crate::pass::Validity;
use crate::tenant::TimeZone;
use crate::text::{DisplayName, EmailAddress, Locale, OrgName, PhoneNumber, ShortText, TextError};

/// Most visitors one appointment may list.
pub const MAX_VISITORS: usize = 50;
/// Longest time window of one appointment.
pub const MAX_WINDOW: Duration = Duration::hours(24);
/// Longest date range of a period pass.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// A problem with one field of a submitted form or JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `visitors[1].email`.
    pub field: String,
    /// Stable machine code, e.g. `invalid_email`.
    pub code: &'static str,
    /// Human explanation in English (the web UI translates by `code`).
    pub message: String,
}

impl FieldError {
    /// A field error from a text validation failure.
    pub fn from_text(field: impl Into<String>, err: &TextError) -> Self {
        let code = match err {
            TextError::Empty => "required",
            TextError::TooLong { .. } => "too_long",
            TextError::ControlCharacter => "control_character",
            TextError::InvalidEmail => "invalid_email",
            TextError::InvalidPhone => "invalid_phone",
            TextError::InvalidLocale => "invalid_locale",
        };
        Self {
            field: field.into(),
            code,
            message: err.to_string(),
        }
    }

    /// A field error with its own code and message.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// One visitor as submitted, before validation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VisitorInput {
    /// Full name.
    pub name: String,
    /// Company, if any.
    #[serde(default)]
    pub company: Option<String>,
    /// Where the invitation goes; without it no pass mail is sent.
    #[serde(default)]
    pub email: Option<String>,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// `ja` or `en`; defaults to the tenant's language.
    #[serde(default)]
    pub locale: Option<String>,
}

/// A visitor that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// Full name.
    pub name: DisplayName,
    /// Company.
    pub company: Option<OrgName>,
    /// E-mail address for the invitation.
    pub email: Option<EmailAddress>,
    /// Telephone.
    pub phone: Option<PhoneNumber>,
    /// Language for mails and the kiosk.
    pub locale: Locale,
}

/// An appointment as submitted, before validation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentInput {
    /// Where the visit takes place.
    pub site_id: SiteId,
    /// Who receives the visitors (hosts may only name themselves).
    pub host_id: UserId,
    /// Purpose, shown to the host and in the invitation.
    #[serde(default)]
    pub title: Option<String>,
    /// Start of the expected visit.
    pub starts_at: DateTime<Utc>,
    /// End of the expected visit.
    pub ends_at: DateTime<Utc>,
    /// For a period pass: first local date the passes are valid.
    #[serde(default)]
    pub valid_from_date: Option<NaiveDate>,
    /// For a period pass: last local date the passes are valid.
    #[serde(default)]
    pub valid_until_date: Option<NaiveDate>,
    /// One or more visitors.
    pub visitors: Vec<VisitorInput>,
}

/// A validated appointment, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppointment {
    /// Site.
    pub site_id: SiteId,
    /// Host.
    pub host_id: UserId,
    /// Purpose.
    pub title: Option<ShortText>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Local date range of a period pass, if one was asked for.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The visitors.
    pub visitors: Vec<Visitor>,
}

fn optional<T>(
    field: String,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, TextError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    parse(v)
        .map_err(|e| errors.push(FieldError::from_text(field, &e)))
        .ok()
}

/// Validates one visitor; `index` names it in error paths.
pub fn validate_visitor(
    index: usize,
    input: &VisitorInput,
    default_locale: Locale,
    errors: &mut Vec<FieldError>,
) -> Option<Visitor> {
    let path = |f: &str| format!("visitors[{index}].{f}");
    let name = DisplayName::parse(&input.name)
        .map_err(|e| errors.push(FieldError::from_text(path("name"), &e)))
        .ok();
    let company = optional(
        path("company"),
        input.company.as_deref(),
        OrgName::parse,
        errors,
    );
    let email = optional(
        path("email"),
        input.email.as_deref(),
        EmailAddress::parse,
        errors,
    );
    let phone = optional(
        path("phone"),
        input.phone.as_deref(),
        PhoneNumber::parse,
        errors,
    );
    let locale = optional(
        path("locale"),
        input.locale.as_deref(),
        Locale::parse,
        errors,
    )
    .unwrap_or(default_locale);
    Some(Visitor {
        name: name?,
        company,
        email,
        phone,
        locale,
    })
}

impl AppointmentInput {
    /// Checks every field and returns all problems at once.
    pub fn validate(&self, default_locale: Locale) -> Result<NewAppointment, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = optional(
            "title".into(),
            self.title.as_deref(),
            ShortText::parse,
            &mut errors,
        );
        if self.ends_at <= self.starts_at {
            errors.push(FieldError::new(
                "ends_at",
                "end_before_start",
                "must be after the start",
            ));
        } else if self.ends_at - self.starts_at > MAX_WINDOW {
            errors.push(FieldError::new(
                "ends_at",
                "window_too_long",
                "a visit may last at most 24 hours",
            ));
        }
        let period = match (self.valid_from_date, self.valid_until_date) {
            (None, None) => None,
            (Some(from), Some(until)) if from > until => {
                errors.push(FieldError::new(
                    "valid_until_date",
                    "end_before_start",
                    "must not be before the first day",
                ));
                None
            }
            (Some(from), Some(until)) if (until - from).num_days() >= MAX_PERIOD_DAYS => {
                errors.push(FieldError::new(
                    "valid_until_date",
                    "period_too_long",
                    "a period pass may cover at most 366 days",
                ));
                None
            }
            (Some(from), Some(until)) => Some((from, until)),
            (Some(_), None) => {
                errors.push(FieldError::new(
                    "valid_until_date",
                    "required",
                    "must not be empty",
                ));
                None
            }
            (None, Some(_)) => {
                errors.push(FieldError::new(
                    "valid_from_date",
                    "required",
                    "must not be empty",
                ));
                None
            }
        };
        if self.visitors.is_empty() {
            errors.push(FieldError::new(
                "visitors",
                "required",
                "at least one visitor is needed",
            ));
        } else if self.visitors.len() > MAX_VISITORS {
            errors.push(FieldError::new(
                "visitors",
                "too_many",
                "at most 50 visitors per appointment",
            ));
        }
        let visitors: Vec<Visitor> = self
            .visitors
            .iter()
            .take(MAX_VISITORS)
            .enumerate()
            .filter_map(|(i, v)| validate_visitor(i, v, default_locale, &mut errors))
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewAppointment {
            site_id: self.site_id,
            host_id: self.host_id,
            title,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            period,
            visitors,
        })
    }
}

/// How long a tenant's passes admit their visitors (a period pass overrides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassPolicy {
    /// The visit's whole local day(s) in the site's zone.
    #[default]
    Day,
    /// The visit's time window, opening `early_minutes` before the start.
    Window {
        /// Minutes before the start the pass already works.
        early_minutes: i64,
    },
}

impl PassPolicy {
    /// From the stored setting (`day` / `window`).
    pub fn from_setting(policy: &str, early_minutes: i64) -> Self {
        match policy {
            "window" => Self::Window {
                early_minutes: early_minutes.clamp(0, 240),
            },
            _ => Self::Day,
        }
    }
}

impl NewAppointment {
    /// When the passes of this appointment admit their visitors under `policy`.
    pub fn pass_validity(&self, zone: TimeZone, policy: PassPolicy) -> Validity {
        pass_validity(zone, policy, self.starts_at, self.ends_at, self.period)
    }
}

/// The validity of passes for a visit from `starts_at` to `ends_at` at a site in
/// `zone`: a period pass covers its dates; otherwise the policy decides.
pub fn pass_validity(
    zone: TimeZone,
    policy: PassPolicy,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    period: Option<(NaiveDate, NaiveDate)>,
) -> Validity {
    if let (None, PassPolicy::Window { early_minutes }) = (period, policy) {
        return Validity {
            from: starts_at - Duration::minutes(early_minutes),
            until: ends_at,
        };
    }
    let (first, last) = period.unwrap_or_else(|| {
        // A visit that ends exactly at midnight does not need the next day.
        let last_instant = ends_at - Duration::seconds(1);
        (
            zone.local_date(starts_at),
            zone.local_date(last_instant.max(starts_at)),
        )
    });
    let (from, until) = zone.days_window(first, last);
    Validity { from, until }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AppointmentInput {
        AppointmentInput {
            site_id: SiteId(1),
            host_id: UserId(2),
            title: Some("Design review".into()),
            starts_at: "2026-11-23T01:00:00Z".parse().unwrap(),
            ends_at: "2026-11-23T02:00:00Z".parse().unwrap(),
            valid_from_date: None,
            valid_until_date: None,
            visitors: vec![VisitorInput {
                name: "Sato Hanako".into(),
                company: Some("Example KK".into()),
                email: Some("Sato@Example.com".into()),
                phone: None,
                locale: None,
            }],
        }
    }

    #[test]
    fn a_good_appointment_validates_with_tenant_locale() {
        let a = input().validate(Locale::En).unwrap();
        assert_eq!(a.visitors[0].locale, Locale::En);
        assert_eq!(
            a.visitors[0].email.as_ref().unwrap().as_str(),
            "sato@example.com"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut bad = input();
        bad.ends_at = bad.starts_at;
        bad.visitors.push(VisitorInput {
            name: " ".into(),
            email: Some("not-an-email".into()),
            ..VisitorInput::default()
        });
        let errors = bad.validate(Locale::Ja).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(fields.contains(&("ends_at", "end_before_start")));
        assert!(fields.contains(&("visitors[1].name", "required")));
        assert!(fields.contains(&("visitors[1].email", "invalid_email")));
    }

    #[test]
    fn default_validity_is_the_local_day_in_the_sites_zone() {
        let a = input().validate(Locale::Ja).unwrap();
        let v = a.pass_validity(TimeZone::default(), PassPolicy::Day);
        assert_eq!(v.from.to_rfc3339(), "2026-11-22T15:00:00+00:00");
        assert_eq!(v.until.to_rfc3339(), "2026-11-23T15:00:00+00:00");
    }

    #[test]
    fn period_pass_covers_the_whole_date_range() {
        let mut i = input();
        i.valid_from_date = NaiveDate::from_ymd_opt(2026, 11, 23);
        i.valid_until_date = NaiveDate::from_ymd_opt(2026, 11, 27);
        let v = i
            .validate(Locale::Ja)
            .unwrap()
            .pass_validity(TimeZone::default(), PassPolicy::Day);
        assert_eq!(v.until - v.from, Duration::days(5));
        i.valid_until_date = NaiveDate::from_ymd_opt(2026, 11, 1);
        assert!(i.validate(Locale::Ja).is_err());
    }

    #[test]
    fn the_window_policy_opens_early_and_closes_at_the_end() {
        let a = input().validate(Locale::Ja).unwrap();
        let v = a.pass_validity(TimeZone::default(), PassPolicy::from_setting("window", 15));
        assert_eq!(v.from, a.starts_at - Duration::minutes(15));
        assert_eq!(v.until, a.ends_at);
        assert_eq!(PassPolicy::from_setting("day", 15), PassPolicy::Day);
    }

    #[test]
    fn too_many_visitors_is_refused() {
        let mut i = input();
        i.visitors = vec![i.visitors[0].clone(); MAX_VISITORS + 1];
        let errors = i.validate(Locale::Ja).unwrap_err();
        assert!(errors.iter().any(|e| e.code == "too_many"));
    }
}
