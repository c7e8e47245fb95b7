//! A tenant's rules for turning calendar events into appointments: its own e-mail
//! domains, the triggers (outside attendees, rooms, keywords), excluded rooms, the
//! room/location → site mapping and the visitor-language rules by domain.

use serde::{Deserialize, Serialize};

use crate::id::SiteId;
use crate::tenant::TimeZone;
use crate::text::Locale;

/// Longest look-ahead for new appointments.
pub const MAX_HORIZON_DAYS: u32 = 366;
/// Look-ahead used when a tenant sets none.
pub const DEFAULT_HORIZON_DAYS: u32 = 90;

/// How the enabled triggers combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerMode {
    /// An event matching any enabled trigger is imported.
    #[default]
    Any,
    /// Only an event matching every enabled trigger is imported.
    All,
}

/// Which events become appointments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Triggers {
    /// Events with at least one attendee outside the tenant's domains.
    pub outside_attendees: bool,
    /// Events booking one of these rooms or resources (e-mail address or name,
    /// compared without case), or whose location mentions one of them.
    pub rooms: Vec<String>,
    /// Events whose title or location contains one of these words (e.g. `来客`),
    /// compared without case.
    pub keywords: Vec<String>,
    /// Any or all of the enabled triggers.
    pub mode: TriggerMode,
}

impl Triggers {
    /// Whether at least one trigger is enabled.
    pub fn any_enabled(&self) -> bool {
        self.outside_attendees || !self.rooms.is_empty() || !self.keywords.is_empty()
    }
}

/// The site a visit takes place at, with its zone (for all-day events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTarget {
    /// The site.
    pub id: SiteId,
    /// Its time zone.
    pub zone: TimeZone,
}

/// Maps a room or a location text to a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRule {
    /// A room's e-mail address or name (whole, without case), or a piece of text the
    /// event's location contains.
    pub pattern: String,
    /// The site it means.
    pub site: SiteTarget,
}

/// Chooses a visitor's language by their e-mail domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageRule {
    /// A domain (`example.com`, also matching its subdomains) or a top-level domain
    /// (`jp`).
    pub domain: String,
    /// The language.
    pub locale: Locale,
}

/// Everything a tenant configures for calendar import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRules {
    /// The tenant's own e-mail domains; their subdomains count too.
    pub tenant_domains: Vec<String>,
    /// What makes an event an appointment.
    pub triggers: Triggers,
    /// Events booking one of these rooms are never imported (e.g. an online-only
    /// room); compared like [`Triggers::rooms`].
    pub excluded_rooms: Vec<String>,
    /// Addresses that are never visitors (mailing lists, bots), without case.
    pub ignored_addresses: Vec<String>,
    /// Room/location → site, first match wins.
    pub sites: Vec<SiteRule>,
    /// The site when no rule matches; without one such events are skipped.
    pub default_site: Option<SiteTarget>,
    /// Visitor language by domain, most specific match wins.
    pub languages: Vec<LanguageRule>,
    /// The tenant's default language.
    pub default_locale: Locale,
    /// How far ahead new appointments are created (days, at most
    /// [`MAX_HORIZON_DAYS`]); recurring events are expanded this far.
    pub horizon_days: u32,
}

impl ImportRules {
    /// Rules with no trigger enabled: nothing is imported until an admin sets them.
    pub fn new(tenant_domains: Vec<String>, default_locale: Locale) -> Self {
        Self {
            tenant_domains,
            triggers: Triggers::default(),
            excluded_rooms: Vec::new(),
            ignored_addresses: Vec::new(),
            sites: Vec::new(),
            default_site: None,
            languages: Vec::new(),
            default_locale,
            horizon_days: DEFAULT_HORIZON_DAYS,
        }
    }

    /// The look-ahead in days, clamped to `1..=MAX_HORIZON_DAYS`.
    pub fn horizon(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.horizon_days.clamp(1, MAX_HORIZON_DAYS)))
    }

    /// Whether `email` belongs to the tenant (its domain or a subdomain of it).
    pub fn is_internal(&self, email: &str) -> bool {
        let Some(domain) = domain_of(email) else {
            return false;
        };
        self.tenant_domains
            .iter()
            .any(|d| domain_matches(&domain, d))
    }

    /// Whether `email` is on the ignore list.
    pub fn is_ignored(&self, email: &str) -> bool {
        self.ignored_addresses
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(email.trim()))
    }

    /// The language for a visitor with this address.
    pub fn locale_for(&self, email: &str) -> Locale {
        let Some(domain) = domain_of(email) else {
            return self.default_locale;
        };
        self.languages
            .iter()
            .filter(|r| domain_matches(&domain, &r.domain))
            .max_by_key(|r| r.domain.trim_matches('.').len())
            .map_or(self.default_locale, |r| r.locale)
    }
}

/// The lower-cased domain of an address, if it has one.
pub(crate) fn domain_of(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// `domain` equals `rule` or is a subdomain of it (label boundary, without case).
pub(crate) fn domain_matches(domain: &str, rule: &str) -> bool {
    let rule = rule.trim().trim_matches('.').to_ascii_lowercase();
    if rule.is_empty() {
        return false;
    }
    domain == rule
        || domain
            .strip_suffix(&rule)
            .is_some_and(|head| head.ends_with('.'))
}

/// Case-insensitive containment that also folds ASCII in Japanese text.
pub(crate) fn contains_folded(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    !needle.is_empty() && haystack.to_lowercase().contains(&needle)
}

/// Whole-value comparison without case.
pub(crate) fn equals_folded(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Makes raw calendar text fit for a validated field: control, bidirectional-override
/// and line-separator characters become spaces, runs of whitespace collapse, and the
/// result is cut to `max` characters. `None` when nothing is left.
pub fn sanitize_text(raw: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(max * 4));
    let mut pending_space = false;
    for c in raw.chars() {
        let bad = c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            );
        if bad || c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    let cut: String = out.chars().take(max).collect();
    let cut = cut.trim_end().to_owned();
    (!cut.is_empty()).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_include_subdomains_but_not_lookalikes() {
        let rules = ImportRules::new(vec!["example.co.jp".into()], Locale::Ja);
        assert!(rules.is_internal("a@example.co.jp"));
        assert!(rules.is_internal("A@Tokyo.Example.CO.JP"));
        assert!(!rules.is_internal("a@badexample.co.jp"));
        assert!(!rules.is_internal("a@example.co.jp.evil.com"));
        assert!(!rules.is_internal("no-at-sign"));
    }

    #[test]
    fn the_most_specific_language_rule_wins() {
        let mut rules = ImportRules::new(vec![], Locale::Ja);
        rules.languages = vec![
            LanguageRule {
                domain: "jp".into(),
                locale: Locale::Ja,
            },
            LanguageRule {
                domain: "partner.co.jp".into(),
                locale: Locale::En,
            },
            LanguageRule {
                domain: "com".into(),
                locale: Locale::En,
            },
        ];
        assert_eq!(rules.locale_for("x@partner.co.jp"), Locale::En);
        assert_eq!(rules.locale_for("x@other.co.jp"), Locale::Ja);
        assert_eq!(rules.locale_for("x@acme.com"), Locale::En);
        assert_eq!(rules.locale_for("x@acme.de"), Locale::Ja);
    }

    #[test]
    fn hostile_text_is_flattened_and_cut() {
        assert_eq!(
            sanitize_text("  Sato\r\nBcc: x@evil\u{202E}gpj.exe ", 100).as_deref(),
            Some("Sato Bcc: x@evil gpj.exe")
        );
        assert_eq!(sanitize_text("\u{0}\t\n", 10), None);
        assert_eq!(sanitize_text("あいうえお", 3).as_deref(), Some("あいう"));
    }

    #[test]
    fn the_horizon_is_clamped() {
        let mut rules = ImportRules::new(vec![], Locale::Ja);
        rules.horizon_days = 10_000;
        assert_eq!(rules.horizon().num_days(), 366);
        rules.horizon_days = 0;
        assert_eq!(rules.horizon().num_days(), 1);
    }
}
