//! The walk-in form: a visitor without an invitation types their name (and company or
//! phone when the company asks for them) and finds their host by typing at least three
//! letters of the host's name; the kiosk shows at most a few matches, never a list.

use genkan_core::search::compact;
use genkan_core::wire::v1::{ErrorCode, HostMatch, WalkInRequest};

use super::{Effect, Problem, Reception, Screen};

/// Fewest letters or digits before hosts are searched (the server's rule too).
pub const HOST_QUERY_MIN_CHARS: usize = 3;
/// Most matches shown.
pub const MATCHES_SHOWN: usize = 5;
/// Longest text kept from one field.
const FIELD_MAX_CHARS: usize = 100;

/// What the form says is missing or wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkInIssue {
    /// No name typed.
    NameMissing,
    /// No host chosen from the matches.
    HostMissing,
    /// Nobody's name contains what was typed.
    NoMatch,
    /// The server refused the details (e.g. the host left); check and try again.
    Check,
    /// The company turned walk-ins off.
    Closed,
}

/// The walk-in form's content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkIn {
    /// The visitor's name.
    pub name: String,
    /// Their company (asked when configured).
    pub company: String,
    /// Their phone (asked when configured).
    pub phone: String,
    /// What was typed in the host search.
    pub query: String,
    /// The matches for `query` (at most [`MATCHES_SHOWN`]).
    pub matches: Vec<HostMatch>,
    /// The host chosen.
    pub host: Option<HostMatch>,
    /// A search is on its way.
    pub searching: bool,
    /// What to fix.
    pub issue: Option<WalkInIssue>,
}

/// Whether `query` is long enough to search.
pub fn query_ok(query: &str) -> bool {
    compact(query).chars().count() >= HOST_QUERY_MIN_CHARS
}

fn bounded(text: &str) -> String {
    text.chars().take(FIELD_MAX_CHARS).collect()
}

impl Reception {
    /// The walk-in form.
    pub fn walk_in(&self) -> &WalkIn {
        &self.walk_in
    }

    /// Opens the walk-in form (when the company offers walk-ins and the server answers).
    pub fn open_walk_in(&mut self) {
        // Offline, hosts cannot be searched nor alerted: the reception desk helps.
        if !self.walk_in_options.enabled
            || !self.online
            || matches!(self.screen, Screen::Pairing | Screen::Verifying)
        {
            return;
        }
        self.touch();
        self.walk_in = WalkIn::default();
        self.go(Screen::WalkIn);
    }

    /// The name field changed.
    pub fn walk_in_name(&mut self, text: &str) {
        self.touch();
        self.walk_in.name = bounded(text);
        if self.walk_in.issue == Some(WalkInIssue::NameMissing) {
            self.walk_in.issue = None;
        }
    }

    /// The company field changed.
    pub fn walk_in_company(&mut self, text: &str) {
        self.touch();
        self.walk_in.company = bounded(text);
    }

    /// The phone field changed.
    pub fn walk_in_phone(&mut self, text: &str) {
        self.touch();
        self.walk_in.phone = bounded(text);
    }

    /// The host search field changed: searches once three characters are there.
    pub fn walk_in_search(&mut self, text: &str) -> Option<Effect> {
        self.touch();
        let query = bounded(text);
        if self.screen != Screen::WalkIn || query == self.walk_in.query {
            return None;
        }
        self.walk_in.query = query.clone();
        if self.walk_in.host.as_ref().is_some_and(|h| h.name != query) {
            self.walk_in.host = None;
        }
        if matches!(
            self.walk_in.issue,
            Some(WalkInIssue::NoMatch | WalkInIssue::HostMissing)
        ) {
            self.walk_in.issue = None;
        }
        if !query_ok(&query) || self.walk_in.host.is_some() {
            self.walk_in.matches.clear();
            self.walk_in.searching = false;
            return None;
        }
        self.walk_in.searching = true;
        Some(Effect::SearchHosts { query })
    }

    /// The matches for `query` arrived (answers to older queries are ignored).
    pub fn hosts_found(&mut self, query: &str, result: Result<Vec<HostMatch>, Problem>) {
        if self.screen != Screen::WalkIn || query != self.walk_in.query {
            return;
        }
        self.walk_in.searching = false;
        match result {
            Ok(mut matches) => {
                matches.truncate(MATCHES_SHOWN);
                self.walk_in.issue = matches.is_empty().then_some(WalkInIssue::NoMatch);
                self.walk_in.matches = matches;
            }
            Err(problem) => {
                tracing::warn!(?problem, "host search failed");
                self.walk_in.matches.clear();
            }
        }
    }

    /// A match was tapped.
    pub fn choose_host(&mut self, id: i64) {
        self.touch();
        let Some(chosen) = self.walk_in.matches.iter().find(|m| m.id == id).cloned() else {
            return;
        };
        self.walk_in.query = chosen.name.clone();
        self.walk_in.host = Some(chosen);
        self.walk_in.matches.clear();
        self.walk_in.issue = None;
    }

    /// "Check in" on the form: sends the walk-in once a name and a host are there.
    pub fn walk_in_submit(&mut self) -> Option<Effect> {
        self.touch();
        if self.screen != Screen::WalkIn {
            return None;
        }
        let name = self.walk_in.name.trim().to_owned();
        if name.is_empty() {
            self.walk_in.issue = Some(WalkInIssue::NameMissing);
            return None;
        }
        let Some(host) = self.walk_in.host.clone() else {
            self.walk_in.issue = Some(WalkInIssue::HostMissing);
            return None;
        };
        let asked = |ask: bool, value: &str| {
            let value = value.trim();
            (ask && !value.is_empty()).then(|| value.to_owned())
        };
        let request = WalkInRequest {
            request_id: self.next_request_id(),
            name,
            company: asked(self.walk_in_options.ask_company, &self.walk_in.company),
            phone: asked(self.walk_in_options.ask_phone, &self.walk_in.phone),
            host_id: host.id,
            locale: Some(self.locale.as_str().to_owned()),
        };
        self.walk_in.issue = None;
        Some(self.send(Effect::WalkIn(request)))
    }

    /// The server refused the walk-in: back to the form when the visitor can fix it.
    pub(super) fn walk_in_refused(&mut self, code: ErrorCode) {
        let issue = match code {
            ErrorCode::Validation | ErrorCode::Malformed => WalkInIssue::Check,
            ErrorCode::Forbidden => WalkInIssue::Closed,
            ErrorCode::RateLimited => return self.fail(Problem::TooManyWalkIns),
            other => return self.fail(Problem::from_code(other)),
        };
        self.walk_in.issue = Some(issue);
        self.go(Screen::WalkIn);
    }
}
