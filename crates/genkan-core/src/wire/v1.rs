//! Kiosk API version 1 (`/api/kiosk/v1`): requests, answers and the error body.
//! Both the server and the kiosk compile against these definitions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every machine-readable error code the API answers with. Stable: clients match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No pass matches (also for another tenant's pass: it is not ours to describe).
    PassUnknown,
    /// The pass's validity starts later.
    PassNotYetValid,
    /// The pass's validity ended.
    PassExpired,
    /// The appointment was cancelled or the pass replaced.
    PassCancelled,
    /// The visitor is already checked in.
    AlreadyInside,
    /// Check-out asked for a visitor who is not checked in.
    NotInside,
    /// The pass is for another site of the same company.
    OtherSite,
    /// The kiosk's credential was revoked.
    KioskRevoked,
    /// Too many requests; retry after the time given.
    RateLimited,
    /// A journal replay the server does not accept: the pass was not in a roster
    /// issued to this kiosk, or the claimed arrival time is outside what that roster,
    /// the pass's validity and the replay window allow.
    ReplayRefused,
    /// The request could not be read (bad JSON, bad token format, missing field).
    Malformed,
    /// Fields failed validation; see `fields`.
    Validation,
    /// No or bad credentials.
    Unauthorized,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// No such object (or not visible to the caller).
    NotFound,
    /// The path exists but not with this HTTP method; `Allow` lists the methods.
    MethodNotAllowed,
    /// Conflicts with the current state (e.g. duplicate, wrong state).
    Conflict,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// The tenant's contract ended: read-only.
    ReadOnly,
    /// The server could not complete the request; nothing was changed.
    Unavailable,
    /// An unexpected error; details are in the server log under the request id.
    Internal,
}

impl ErrorCode {
    /// The code as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PassUnknown => "pass_unknown",
            Self::PassNotYetValid => "pass_not_yet_valid",
            Self::PassExpired => "pass_expired",
            Self::PassCancelled => "pass_cancelled",
            Self::AlreadyInside => "already_inside",
            Self::NotInside => "not_inside",
            Self::OtherSite => "other_site",
            Self::KioskRevoked => "kiosk_revoked",
            Self::RateLimited => "rate_limited",
            Self::ReplayRefused => "replay_refused",
            Self::Malformed => "malformed",
            Self::Validation => "validation",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ReadOnly => "read_only",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field's problem inside an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    /// Path of the field, e.g. `visitors[0].email`.
    pub field: String,
    /// Stable code, e.g. `invalid_email`.
    pub code: String,
    /// Human explanation.
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: ErrorCode,
    /// Human explanation (English).
    pub message: String,
    /// Request id to quote when asking for help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field problems for `validation` errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
}

/// `POST /api/kiosk/v1/pair`: exchange a one-time pairing code for a device credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRequest {
    /// The code an admin was shown when adding the kiosk.
    pub pairing_code: String,
    /// A name for this device (host name), shown in the kiosk list.
    #[serde(default)]
    pub device_name: Option<String>,
}

/// Answer to a successful pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairResponse {
    /// The kiosk's id.
    pub kiosk_id: i64,
    /// The device credential; sent as `Authorization: Bearer …` from now on. Shown once.
    pub credential: String,
    /// Tenant display name.
    pub tenant_name: String,
    /// Site display name.
    pub site_name: String,
    /// Site time zone (IANA).
    pub time_zone: String,
}

/// `POST /api/kiosk/v1/check-in` and `/check-out`: present a pass.
/// Exactly one of `token` (scanned QR) and `code` (typed digits) is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentPass {
    /// Chosen by the kiosk per scan; a retry with the same id gets the same answer
    /// and never a second visit. 8–64 characters of `A-Z a-z 0-9 - _`.
    pub request_id: String,
    /// The QR payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The 8-digit fallback code. Checked by the server only: rosters carry no code
    /// verifier, so a kiosk without its server cannot take codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the kiosk verified this pass while offline: the real arrival time
    /// (RFC 3339). Only in replays of the kiosk's journal, with `token_hash`; accepted
    /// for a pass a roster issued to this kiosk listed, at a time that roster was
    /// trusted and the pass valid, within the replay window (else `replay_refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_at: Option<String>,
    /// For journal replays only (with `offline_at`): the roster's `token_hash` of the
    /// pass verified offline, so the journal never stores the pass secret itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
}

/// Whether a request id is acceptable.
pub fn valid_request_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Answer to a successful check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInResponse {
    /// The visit created.
    pub visit_id: i64,
    /// Visitor's name, as the kiosk should greet them.
    pub visitor_name: String,
    /// Visitor's company, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_company: Option<String>,
    /// The visitor's language (`ja`/`en`): the kiosk switches to it.
    pub locale: String,
    /// The host's display name.
    pub host_name: String,
    /// Site name.
    pub site_name: String,
    /// Arrival time with the site's offset.
    pub checked_in_at: String,
    /// An alert to the host (or their delegate, or the arrival channels the tenant
    /// set up) went out on a channel this server delivers. False when none could:
    /// the kiosk then says so instead of "your host has been notified".
    pub host_notified: bool,
    /// An alert to the site's reception contacts went out on a delivered channel
    /// (what the kiosk says when the host could not be reached; false from servers
    /// that predate it).
    #[serde(default)]
    pub reception_notified: bool,
}

/// Answer to a successful check-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutResponse {
    /// The visit closed.
    pub visit_id: i64,
    /// Visitor's name.
    pub visitor_name: String,
    /// The visitor's language.
    pub locale: String,
    /// Departure time with the site's offset.
    pub checked_out_at: String,
}

/// `GET /api/kiosk/v1/config`: what the kiosk shows around the scanner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskConfig {
    /// The kiosk's id.
    pub kiosk_id: i64,
    /// Tenant display name.
    pub tenant_name: String,
    /// Site display name.
    pub site_name: String,
    /// Site time zone.
    pub time_zone: String,
    /// Default language.
    pub default_locale: String,
    /// Brand colour as `#rrggbb`.
    pub primary_color: String,
    /// Whether visitors may check out at the kiosk.
    pub checkout_enabled: bool,
    /// Second brand colour as `#rrggbb` (empty from servers that predate it).
    #[serde(default)]
    pub accent_color: String,
    /// Whether `GET /api/kiosk/v1/logo` has the tenant's logo to give.
    #[serde(default)]
    pub has_logo: bool,
    /// The walk-in form: whether the kiosk offers it and what it asks
    /// (all off from servers that predate walk-ins).
    #[serde(default)]
    pub walk_in: WalkInOptions,
}

/// What the kiosk's walk-in form offers and asks (tenant settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkInOptions {
    /// Visitors without an invitation may register at the kiosk.
    #[serde(default)]
    pub enabled: bool,
    /// The form asks for the visitor's company.
    #[serde(default)]
    pub ask_company: bool,
    /// The form asks for the visitor's phone number.
    #[serde(default)]
    pub ask_phone: bool,
}

/// What a host answered to an arrival alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// "I'm coming."
    Coming,
    /// "Please wait in the lobby."
    Wait,
}

/// A host's reply, as the kiosk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReply {
    /// The reply.
    pub kind: ReplyKind,
    /// The host's display name.
    pub host_name: String,
    /// When it was given, with the site's offset.
    pub at: String,
}

/// `GET /api/kiosk/v1/visits/{visit_id}/reply?wait_ms=N`: long-polls for the host's
/// reply to a visit this kiosk checked in; `reply` is null when the wait ended first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyPoll {
    /// The reply, if any yet.
    pub reply: Option<HostReply>,
}

/// One pass in a kiosk's offline roster (only what verification needs). It holds no
/// verifier of the 8-digit code: offline, only QR passes are taken, and a roster
/// gives nothing that recovers a code or token faster than guessing online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterPass {
    /// Lowercase hex SHA-256 of the pass token (`PassToken::hash`; the token has 128
    /// random bits, so the hash cannot be inverted).
    pub token_hash: String,
    /// How the kiosk greets the visitor.
    pub visitor_name: String,
    /// The host's display name.
    pub host_name: String,
    /// The visitor's language.
    pub locale: String,
    /// Validity start (RFC 3339).
    pub valid_from: String,
    /// Validity end (RFC 3339).
    pub valid_until: String,
    /// When the roster was made, an alert to this pass's host could go out on a
    /// channel the server delivers: an offline welcome may say the host will be told
    /// once the network is back (else it sends the visitor to the desk).
    #[serde(default)]
    pub host_reachable: bool,
}

/// `GET /api/kiosk/v1/roster`: passes valid today and tomorrow at the kiosk's site.
/// The server records which passes each kiosk's rosters listed, and when: a journal
/// replay is accepted only for those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// When the server made it (RFC 3339).
    pub generated_at: String,
    /// The passes.
    pub passes: Vec<RosterPass>,
}

/// Values of [`Heartbeat::camera`].
pub mod camera_state {
    /// Frames arrive and look usable.
    pub const OK: &str = "ok";
    /// No camera, or it cannot be opened.
    pub const NO_CAMERA: &str = "no_camera";
    /// The camera is open but no frame arrived for a while.
    pub const NO_FRAMES: &str = "no_frames";
    /// Frames arrive but are too dark to read a pass.
    pub const TOO_DARK: &str = "too_dark";
    /// Frames come from image files (demo mode).
    pub const IMAGES: &str = "images";
    /// The camera is starting.
    pub const STARTING: &str = "starting";
}

/// `POST /api/kiosk/v1/heartbeat`: how the kiosk is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Kiosk software version.
    pub version: String,
    /// One of [`camera_state`]: `ok`, `no_camera`, `no_frames`, `too_dark`, `images`
    /// (demo source) or `starting`.
    pub camera: String,
    /// Last successful scan (RFC 3339), if any.
    #[serde(default)]
    pub last_scan_at: Option<String>,
    /// Offline check-ins waiting to be sent.
    pub journal_length: u32,
}

/// A staff member a walk-in visitor may name as host (display name only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMatch {
    /// The user's id.
    pub id: i64,
    /// The user's display name.
    pub name: String,
}

/// `POST /api/kiosk/v1/walk-in`: a visitor without an appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkInRequest {
    /// Idempotency key, as for check-in.
    pub request_id: String,
    /// Visitor's name.
    pub name: String,
    /// Company, if the kiosk asks for it.
    #[serde(default)]
    pub company: Option<String>,
    /// Phone, if the kiosk asks for it.
    #[serde(default)]
    pub phone: Option<String>,
    /// The host chosen from `/hosts?q=`.
    pub host_id: i64,
    /// Language the visitor used at the kiosk.
    #[serde(default)]
    pub locale: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_serialise_as_their_stable_names() {
        for code in [
            ErrorCode::PassUnknown,
            ErrorCode::PassNotYetValid,
            ErrorCode::PassExpired,
            ErrorCode::PassCancelled,
            ErrorCode::AlreadyInside,
            ErrorCode::OtherSite,
            ErrorCode::KioskRevoked,
            ErrorCode::RateLimited,
            ErrorCode::ReplayRefused,
            ErrorCode::Malformed,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn a_configuration_from_an_older_server_reads_with_walk_ins_off() {
        let json = r##"{"kiosk_id": 1, "tenant_name": "A", "site_name": "HQ",
            "time_zone": "Asia/Tokyo", "default_locale": "ja", "primary_color": "#1d4ed8",
            "checkout_enabled": true}"##;
        let config: KioskConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.walk_in, WalkInOptions::default());
        assert!(!config.has_logo && config.accent_color.is_empty());
    }

    #[test]
    fn rosters_carry_no_code_verifier_and_older_rosters_still_read() {
        let roster = Roster {
            generated_at: "2026-11-23T10:00:00+09:00".into(),
            passes: vec![RosterPass {
                token_hash: "ab".repeat(32),
                visitor_name: "Sato Hanako".into(),
                host_name: "Tanaka Ichiro".into(),
                locale: "ja".into(),
                valid_from: "2026-11-23T00:00:00+09:00".into(),
                valid_until: "2026-11-24T00:00:00+09:00".into(),
                host_reachable: true,
            }],
        };
        let json = serde_json::to_string(&roster).unwrap();
        assert!(!json.contains("code"), "{json}");
        // A roster file written before codes left rosters: its code fields are dropped.
        let old = r#"{"generated_at": "x", "code_salt": "0102", "passes": [{"token_hash": "ab",
            "code_hash": "cd", "visitor_name": "A", "host_name": "B", "locale": "ja",
            "valid_from": "f", "valid_until": "u"}]}"#;
        let read: Roster = serde_json::from_str(old).unwrap();
        assert!(!read.passes[0].host_reachable);
        assert!(!serde_json::to_string(&read).unwrap().contains("code"));
    }

    #[test]
    fn request_ids_are_bounded_and_plain() {
        assert!(valid_request_id("0123456789abcdef"));
        assert!(!valid_request_id("short"));
        assert!(!valid_request_id(&"a".repeat(65)));
        assert!(!valid_request_id("has space in it"));
    }
}
