//! The vocabulary of the reception: screens, problems, answers and the effects asked of the network.

use chrono::{DateTime, Utc};
pub use genkan_core::reach::Told;
use genkan_core::wire::v1::{
    CheckInResponse, CheckOutResponse, ErrorBody, ErrorCode, PresentPass, ReplyKind, WalkInRequest,
};

/// The screen the kiosk shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// First start: asks for the pairing code.
    Pairing,
    /// Waiting for a pass in front of the camera.
    Scan,
    /// A pass was sent; waiting for the server.
    Verifying,
    /// Checked in: greets the visitor and names the host.
    Welcome,
    /// Checked out: thanks the visitor.
    CheckedOut,
    /// The pass was refused or the server could not be reached.
    Error,
    /// The 8-digit code keypad.
    CodeEntry,
    /// A visitor without an invitation registers: name, company/phone, host search.
    WalkIn,
}

/// Whether a presented pass checks the visitor in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Arrival.
    CheckIn,
    /// Departure.
    CheckOut,
}

/// The kiosk's two languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// Japanese.
    Ja,
    /// English.
    En,
}

impl Locale {
    /// Reads `ja`, `en` and regional forms such as `ja-JP` or `en_US`.
    pub fn parse(s: &str) -> Option<Self> {
        let lang = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match lang.as_str() {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language tag (`ja`/`en`), also the bundled translation's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// The other language (what the language button switches to).
    pub fn other(self) -> Self {
        match self {
            Self::Ja => Self::En,
            Self::En => Self::Ja,
        }
    }
}

/// What went wrong, in the terms the visitor is told. Each has its own words on the
/// error screen, and each screen offers the code entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The pass is for a later day.
    NotToday,
    /// The pass's day has passed.
    Expired,
    /// The visit was cancelled.
    Cancelled,
    /// The pass is for another site of the company.
    OtherSite,
    /// The visitor is already checked in.
    AlreadyInside,
    /// Checking out someone who is not checked in.
    NotInside,
    /// No such pass (mistyped code, or not a pass of this company).
    Unknown,
    /// This kiosk is no longer allowed to check visitors in.
    KioskRevoked,
    /// Too many attempts in a short time.
    TooManyAttempts,
    /// Too many walk-ins registered at this kiosk in a short time: the desk helps.
    TooManyWalkIns,
    /// A typed code while the server cannot be reached: codes are checked by the
    /// server only (the kiosk holds nothing to check them against); the QR code still
    /// works, or the reception desk helps.
    CodeNeedsConnection,
    /// No answer from the server.
    Unreachable,
    /// The server answered with an error of its own.
    ServerError,
}

impl Problem {
    /// The problem behind a refusal code.
    pub fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::PassNotYetValid => Self::NotToday,
            ErrorCode::PassExpired => Self::Expired,
            ErrorCode::PassCancelled => Self::Cancelled,
            ErrorCode::OtherSite => Self::OtherSite,
            ErrorCode::AlreadyInside => Self::AlreadyInside,
            ErrorCode::NotInside => Self::NotInside,
            // A malformed pass is, for the visitor, a pass we do not know.
            ErrorCode::PassUnknown
            | ErrorCode::Malformed
            | ErrorCode::NotFound
            | ErrorCode::ReplayRefused => Self::Unknown,
            ErrorCode::KioskRevoked | ErrorCode::Unauthorized | ErrorCode::Forbidden => {
                Self::KioskRevoked
            }
            ErrorCode::RateLimited => Self::TooManyAttempts,
            ErrorCode::Unavailable => Self::Unreachable,
            ErrorCode::Validation
            | ErrorCode::Conflict
            | ErrorCode::PayloadTooLarge
            | ErrorCode::ReadOnly
            | ErrorCode::MethodNotAllowed
            | ErrorCode::Internal => Self::ServerError,
        }
    }

    /// Whether sending the same request again may help (same request id: never a
    /// second visit).
    pub fn can_retry(self) -> bool {
        matches!(
            self,
            Self::Unreachable | Self::ServerError | Self::CodeNeedsConnection
        )
    }

    /// Whether the error screen offers the code pad (pointless while codes cannot be
    /// checked).
    pub fn offers_code_entry(self) -> bool {
        !matches!(self, Self::CodeNeedsConnection | Self::TooManyWalkIns)
    }
}

/// How the server (or the offline desk) answered a presented pass or a walk-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Checked in.
    CheckedIn(CheckInResponse),
    /// Checked in by the offline desk: verified against the roster and journaled; the
    /// host is alerted when the journal is replayed.
    OfflineCheckedIn(OfflineWelcome),
    /// A typed code while the server cannot be reached: nothing was recorded.
    CodeNeedsConnection,
    /// Checked out.
    CheckedOut(CheckOutResponse),
    /// A typed refusal.
    Refused(ErrorBody),
    /// No answer (connection refused, timeout).
    Unreachable(String),
    /// An answer the kiosk cannot read.
    Failed(String),
}

/// What the offline desk knows about a visitor it welcomed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineWelcome {
    /// The visitor's name (from the roster).
    pub visitor_name: String,
    /// The host's name.
    pub host_name: String,
    /// The visitor's language.
    pub locale: String,
    /// The real arrival time, journaled.
    pub offline_at: DateTime<Utc>,
    /// The roster said the host can be alerted (once the journal is replayed).
    pub host_reachable: bool,
}

/// What the welcome screen says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// The visitor's name.
    pub visitor_name: String,
    /// The visitor's company, if known.
    pub visitor_company: Option<String>,
    /// The host's name.
    pub host_name: String,
    /// Who was told of the arrival (offline: who will be, once the network is back),
    /// as the server found it: the host, only reception, or nobody (the desk).
    pub told: Told,
    /// The visit on the server (none for an offline check-in, not sent yet).
    pub visit_id: Option<i64>,
    /// Checked in offline: the host is told once the network is back.
    pub offline: bool,
    /// The host's answer, once it comes.
    pub reply: Option<ReplyKind>,
}

/// What the checked-out screen says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    /// The visitor's name.
    pub visitor_name: String,
}

/// Why pairing failed, in the terms the pairing screen uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingIssue {
    /// The code is unknown, used or expired.
    WrongCode,
    /// The server did not answer.
    Unreachable,
    /// The server address is not an http(s) URL.
    InvalidServer,
    /// Anything else (see the log).
    Failed,
}

/// What the pairing screen shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairing {
    /// The server address typed or given with `--server`.
    pub server_url: String,
    /// A pairing request is in flight.
    pub busy: bool,
    /// Why the last attempt failed.
    pub issue: Option<PairingIssue>,
}

/// Names and settings from the server's kiosk configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// The company's name.
    pub organisation: String,
    /// The site's name.
    pub site: String,
    /// Brand colour `#rrggbb`.
    pub color: Option<String>,
}

/// Work the controller asks of the network side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a pass to `check-in` or `check-out`.
    Present {
        /// Which endpoint.
        mode: Mode,
        /// The request body (its `request_id` identifies the answer).
        pass: PresentPass,
    },
    /// Pair this kiosk with the server.
    Pair {
        /// Server base URL.
        server_url: String,
        /// The one-time pairing code.
        code: String,
    },
    /// Register and check in a walk-in (its `request_id` identifies the answer).
    WalkIn(WalkInRequest),
    /// Look up hosts whose name contains `query` (3 characters or more).
    SearchHosts {
        /// What the visitor typed.
        query: String,
    },
    /// Wait for the host's reply to `visit_id` for up to `wait` (the welcome screen's time).
    WatchReply {
        /// The visit just opened.
        visit_id: i64,
        /// How long the welcome screen waits.
        wait: std::time::Duration,
    },
}
