//! The reception state machine (scan → verify → welcome/error → back), UI-free and unit-tested.
//!
//! Everything that happens at the kiosk arrives here as a method call on the UI
//! thread: a decoded frame, a key on the code pad, an answer from the server, a timer
//! tick. The controller decides the screen and returns [`Effect`]s for the network
//! side; the adapters copy its state into the Slint globals. Time comes from an
//! injected [`Clock`], so tests move it instead of sleeping.

mod types;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock;
use genkan_core::pass::{FallbackCode, PassToken};
use genkan_core::wire::v1::{KioskConfig, PresentPass};

use crate::frames::CameraState;
pub use types::{
    Answer, Branding, Effect, Farewell, Greeting, Locale, Mode, Pairing, PairingIssue, Problem,
    Screen,
};

/// Length of a fallback code.
pub const CODE_LEN: usize = 8;

/// How long each screen stays before the kiosk returns to scanning by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The same pass seen again within this gap (it never left the camera's view)
    /// is not sent again.
    pub same_pass_gap: Duration,
    /// The welcome screen.
    pub welcome: Duration,
    /// The checked-out screen.
    pub checked_out: Duration,
    /// An error screen (long enough to read it and reach for the code pad).
    pub error: Duration,
    /// The code pad, or a language chosen on the scan screen, without a touch.
    pub idle: Duration,
    /// A request without an answer counts as "cannot reach the server".
    pub verifying: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            same_pass_gap: Duration::seconds(3),
            welcome: Duration::seconds(8),
            checked_out: Duration::seconds(6),
            error: Duration::seconds(12),
            idle: Duration::seconds(30),
            verifying: Duration::seconds(10),
        }
    }
}

/// How the reception starts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether a credential exists; without one the kiosk starts on the pairing screen.
    pub paired: bool,
    /// The language the kiosk returns to when idle.
    pub default_locale: Locale,
    /// The server address known so far (for the pairing screen).
    pub server_url: String,
    /// Prefix of request ids, random per start so ids never repeat across restarts.
    pub request_prefix: String,
    /// Screen durations.
    pub timing: Timing,
}

/// A pass sent to the server whose final answer is still open (kept after "cannot
/// reach the server" so a retry reuses its request id).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    mode: Mode,
    pass: PresentPass,
    sent_at: DateTime<Utc>,
}

/// The reception controller.
pub struct Reception {
    clock: Arc<dyn Clock>,
    timing: Timing,
    screen: Screen,
    screen_since: DateTime<Utc>,
    last_touch: DateTime<Utc>,
    mode: Mode,
    checkout_enabled: bool,
    locale: Locale,
    default_locale: Locale,
    camera: CameraState,
    code: String,
    pending: Option<Pending>,
    last_pass: Option<(String, DateTime<Utc>)>,
    request_prefix: String,
    requests_sent: u64,
    greeting: Option<Greeting>,
    farewell: Option<Farewell>,
    problem: Option<Problem>,
    pairing: Pairing,
    branding: Option<Branding>,
}

impl std::fmt::Debug for Reception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reception")
            .field("screen", &self.screen)
            .field("mode", &self.mode)
            .field("locale", &self.locale)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl Reception {
    /// A reception on the scan screen, or the pairing screen when not paired.
    pub fn new(clock: Arc<dyn Clock>, settings: Settings) -> Self {
        let now = clock.now();
        Self {
            clock,
            timing: settings.timing,
            screen: if settings.paired {
                Screen::Scan
            } else {
                Screen::Pairing
            },
            screen_since: now,
            last_touch: now,
            mode: Mode::CheckIn,
            checkout_enabled: true,
            locale: settings.default_locale,
            default_locale: settings.default_locale,
            camera: CameraState::Starting,
            code: String::new(),
            pending: None,
            last_pass: None,
            request_prefix: settings.request_prefix,
            requests_sent: 0,
            greeting: None,
            farewell: None,
            problem: None,
            pairing: Pairing {
                server_url: settings.server_url,
                ..Pairing::default()
            },
            branding: None,
        }
    }

    // ---- what the adapters read -------------------------------------------------

    /// The current screen.
    pub fn screen(&self) -> Screen {
        self.screen
    }
    /// Check-in or check-out.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Whether visitors may check out here.
    pub fn checkout_enabled(&self) -> bool {
        self.checkout_enabled
    }
    /// The language shown.
    pub fn locale(&self) -> Locale {
        self.locale
    }
    /// The camera's state.
    pub fn camera(&self) -> CameraState {
        self.camera
    }
    /// The digits typed so far.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// The welcome screen's content.
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }
    /// The checked-out screen's content.
    pub fn farewell(&self) -> Option<&Farewell> {
        self.farewell.as_ref()
    }
    /// The error screen's problem.
    pub fn problem(&self) -> Option<Problem> {
        self.problem
    }
    /// Whether the error screen offers "try again".
    pub fn can_retry(&self) -> bool {
        self.screen == Screen::Error
            && self.pending.is_some()
            && self.problem.is_some_and(Problem::can_retry)
    }
    /// The pairing screen's state.
    pub fn pairing(&self) -> &Pairing {
        &self.pairing
    }
    /// Names and colour from the server, once known.
    pub fn branding(&self) -> Option<&Branding> {
        self.branding.as_ref()
    }

    /// The fraction of the current screen's time still left before the automatic
    /// return to scanning (1 → 0); 1 on screens that stay.
    pub fn time_left(&self) -> f32 {
        let Some(limit) = self.screen_limit() else {
            return 1.0;
        };
        let since = match self.screen {
            Screen::CodeEntry => self.last_touch,
            _ => self.screen_since,
        };
        let left = (limit - (self.clock.now() - since))
            .num_milliseconds()
            .max(0);
        (left as f32 / limit.num_milliseconds().max(1) as f32).clamp(0.0, 1.0)
    }

    // ---- events -------------------------------------------------------------------

    /// A QR code was read in a frame. Only passes count; the same pass seen again
    /// before it left the camera's view is not sent twice.
    pub fn frame_decoded(&mut self, text: &str) -> Option<Effect> {
        let token = PassToken::parse(text).ok()?.encode();
        let now = self.clock.now();
        if let Some((last, seen)) = &mut self.last_pass
            && *last == token
            && now - *seen < self.timing.same_pass_gap
        {
            *seen = now;
            return None;
        }
        if matches!(self.screen, Screen::Pairing | Screen::Verifying) {
            return None;
        }
        self.last_pass = Some((token.clone(), now));
        Some(self.present(None, Some(token)))
    }

    /// Opens the code pad (from any screen but pairing and verifying).
    pub fn open_code_entry(&mut self) {
        if matches!(self.screen, Screen::Pairing | Screen::Verifying) {
            return;
        }
        self.touch();
        self.code.clear();
        self.go(Screen::CodeEntry);
    }

    /// A digit key.
    pub fn code_digit(&mut self, digit: u8) {
        self.touch();
        if self.screen == Screen::CodeEntry && digit < 10 && self.code.len() < CODE_LEN {
            self.code.push(char::from(b'0' + digit));
        }
    }

    /// The erase key: removes the last digit.
    pub fn code_erase(&mut self) {
        self.touch();
        self.code.pop();
    }

    /// The clear key: removes all digits.
    pub fn code_clear(&mut self) {
        self.touch();
        self.code.clear();
    }

    /// The confirm key: sends the code once all 8 digits are there.
    pub fn code_submit(&mut self) -> Option<Effect> {
        self.touch();
        if self.screen != Screen::CodeEntry {
            return None;
        }
        let code = FallbackCode::parse(&self.code).ok()?;
        Some(self.present(Some(code.as_str().to_owned()), None))
    }

    /// "Back": returns to the scan screen.
    pub fn home(&mut self) {
        if matches!(self.screen, Screen::Pairing | Screen::Verifying) {
            return;
        }
        self.touch();
        // Leaving a welcome or goodbye means the next visitor comes: their language
        // and mode start fresh. From the code pad or an error, the same person goes on.
        let done = matches!(self.screen, Screen::Welcome | Screen::CheckedOut);
        self.reset(done);
    }

    /// "Try again" after "cannot reach the server": the same request id again, so a
    /// request that did reach the server is not counted twice.
    pub fn retry(&mut self) -> Option<Effect> {
        if !self.can_retry() {
            return None;
        }
        self.touch();
        let pending = self.pending.as_mut()?;
        pending.sent_at = self.clock.now();
        let effect = Effect::Present {
            mode: pending.mode,
            pass: pending.pass.clone(),
        };
        self.problem = None;
        self.go(Screen::Verifying);
        Some(effect)
    }

    /// The language button.
    pub fn switch_locale(&mut self) {
        self.touch();
        self.locale = self.locale.other();
    }

    /// The check-in / check-out choice (ignored when check-out is disabled).
    pub fn choose_mode(&mut self, mode: Mode) {
        self.touch();
        if mode == Mode::CheckIn || self.checkout_enabled {
            self.mode = mode;
        }
    }

    /// The camera's state changed.
    pub fn camera_changed(&mut self, state: CameraState) {
        self.camera = state;
    }

    /// The server's kiosk configuration arrived.
    pub fn configured(&mut self, config: &KioskConfig) {
        self.checkout_enabled = config.checkout_enabled;
        if !self.checkout_enabled {
            self.mode = Mode::CheckIn;
        }
        if let Some(locale) = Locale::parse(&config.default_locale) {
            if self.locale == self.default_locale && self.screen == Screen::Scan {
                self.locale = locale;
            }
            self.default_locale = locale;
        }
        self.branding = Some(Branding {
            organisation: config.tenant_name.clone(),
            site: config.site_name.clone(),
            color: Some(config.primary_color.clone()),
        });
    }

    /// Keeps the default language given on the command line, over the server's.
    pub fn pin_locale(&mut self, locale: Locale) {
        self.default_locale = locale;
        self.locale = locale;
    }

    /// The answer to the request `request_id`. Answers to requests that are no longer
    /// awaited are ignored.
    pub fn answered(&mut self, request_id: &str, answer: Answer) {
        if self
            .pending
            .as_ref()
            .is_none_or(|p| p.pass.request_id != request_id)
        {
            tracing::debug!(request_id, "ignoring an answer nobody waits for");
            return;
        }
        self.problem = None;
        match answer {
            Answer::CheckedIn(visit) => {
                self.pending = None;
                self.mode = Mode::CheckIn;
                self.switch_to_visitor_locale(&visit.locale);
                self.greeting = Some(Greeting {
                    visitor_name: visit.visitor_name,
                    visitor_company: visit.visitor_company.filter(|c| !c.trim().is_empty()),
                    host_name: visit.host_name,
                    host_notified: visit.host_notified,
                });
                self.go(Screen::Welcome);
            }
            Answer::CheckedOut(visit) => {
                self.pending = None;
                // The next pass in front of the camera is someone arriving.
                self.mode = Mode::CheckIn;
                self.switch_to_visitor_locale(&visit.locale);
                self.farewell = Some(Farewell {
                    visitor_name: visit.visitor_name,
                });
                self.go(Screen::CheckedOut);
            }
            Answer::Refused(error) => {
                self.pending = None;
                self.fail(Problem::from_code(error.code));
            }
            Answer::Unreachable(why) => {
                tracing::warn!(request_id, %why, "cannot reach the server");
                self.fail(Problem::Unreachable);
            }
            Answer::Failed(why) => {
                tracing::warn!(request_id, %why, "unexpected answer from the server");
                self.fail(Problem::ServerError);
            }
        }
    }

    /// "Pair" on the pairing screen.
    pub fn pair(&mut self, server_url: &str, code: &str) -> Option<Effect> {
        if self.screen != Screen::Pairing || self.pairing.busy {
            return None;
        }
        let (server_url, code) = (server_url.trim(), code.trim());
        self.pairing.server_url = server_url.to_owned();
        if !(server_url.starts_with("http://") || server_url.starts_with("https://")) {
            self.pairing.issue = Some(PairingIssue::InvalidServer);
            return None;
        }
        if code.is_empty() {
            self.pairing.issue = Some(PairingIssue::WrongCode);
            return None;
        }
        self.pairing.busy = true;
        self.pairing.issue = None;
        Some(Effect::Pair {
            server_url: server_url.to_owned(),
            code: code.to_owned(),
        })
    }

    /// The outcome of pairing.
    pub fn paired(&mut self, outcome: Result<Branding, PairingIssue>) {
        self.pairing.busy = false;
        match outcome {
            Ok(branding) => {
                self.pairing.issue = None;
                self.branding = Some(branding);
                self.reset(true);
            }
            Err(issue) => self.pairing.issue = Some(issue),
        }
    }

    /// Called a few times a second: returns to scanning when a screen's time is up,
    /// and gives up on a request that got no answer.
    pub fn tick(&mut self) {
        let now = self.clock.now();
        if self.screen == Screen::Verifying {
            if let Some(p) = &self.pending
                && now - p.sent_at >= self.timing.verifying
            {
                self.fail(Problem::Unreachable);
            }
            return;
        }
        if let Some(limit) = self.screen_limit() {
            let since = match self.screen {
                Screen::CodeEntry => self.last_touch,
                _ => self.screen_since,
            };
            if now - since >= limit {
                self.reset(true);
            }
        } else if self.screen == Screen::Scan
            && self.locale != self.default_locale
            && now - self.last_touch >= self.timing.idle
        {
            // Someone chose a language and walked away.
            self.locale = self.default_locale;
        }
    }

    // ---- internals ----------------------------------------------------------------

    fn present(&mut self, code: Option<String>, token: Option<String>) -> Effect {
        self.requests_sent += 1;
        let pass = PresentPass {
            request_id: format!("{}-{:06}", self.request_prefix, self.requests_sent),
            token,
            code,
            offline_at: None,
            token_hash: None,
        };
        self.pending = Some(Pending {
            mode: self.mode,
            pass: pass.clone(),
            sent_at: self.clock.now(),
        });
        self.problem = None;
        self.go(Screen::Verifying);
        Effect::Present {
            mode: self.mode,
            pass,
        }
    }

    fn fail(&mut self, problem: Problem) {
        self.problem = Some(problem);
        self.go(Screen::Error);
    }

    fn switch_to_visitor_locale(&mut self, locale: &str) {
        if let Some(locale) = Locale::parse(locale) {
            self.locale = locale;
        }
    }

    /// How long the current screen stays by itself, if it does not stay for good.
    fn screen_limit(&self) -> Option<Duration> {
        match self.screen {
            Screen::Welcome => Some(self.timing.welcome),
            Screen::CheckedOut => Some(self.timing.checked_out),
            Screen::Error => Some(self.timing.error),
            Screen::CodeEntry => Some(self.timing.idle),
            Screen::Pairing | Screen::Scan | Screen::Verifying => None,
        }
    }

    fn touch(&mut self) {
        self.last_touch = self.clock.now();
    }

    fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.screen_since = self.clock.now();
    }

    /// Back to the scan screen; `idle` also restores the default language and mode,
    /// ready for the next visitor.
    fn reset(&mut self, idle: bool) {
        self.code.clear();
        self.greeting = None;
        self.farewell = None;
        self.problem = None;
        self.pending = None;
        if idle {
            self.locale = self.default_locale;
            self.mode = Mode::CheckIn;
        }
        self.go(Screen::Scan);
    }
}

#[cfg(test)]
mod tests;
