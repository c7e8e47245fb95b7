//! The reception state machine (scan → verify → welcome/error → back), UI-free and unit-tested.
//!
//! Everything that happens at the kiosk arrives here as a method call on the UI
//! thread: a decoded frame, a key on the code pad, an answer from the server (or the
//! offline desk), a host's reply, a timer tick. The controller decides the screen and
//! returns [`Effect`]s for the network side; the adapters copy its state into the
//! Slint globals. Time comes from an injected [`Clock`], so tests move it instead of
//! sleeping. The walk-in form lives in [`walk_in`].

mod code_pad;
mod pairing;
mod types;
pub mod walk_in;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock;
use genkan_core::pass::PassToken;
use genkan_core::wire::v1::{HostReply, KioskConfig, PresentPass, WalkInOptions};

use crate::frames::CameraState;
pub use types::{
    Answer, Branding, Effect, Farewell, Greeting, Locale, Mode, OfflineWelcome, Pairing,
    PairingIssue, Problem, Screen, Told,
};
pub use walk_in::{WalkIn, WalkInIssue};

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
    /// The walk-in form without a touch (typing a name takes longer than a code).
    pub walk_in: Duration,
    /// The welcome screen once the host's reply is shown on it.
    pub reply_shown: Duration,
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
            walk_in: Duration::seconds(90),
            reply_shown: Duration::seconds(12),
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

/// A request whose final answer is still open (kept after "cannot reach the server"
/// so a retry sends the same effect, with the same request id).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    request_id: String,
    effect: Effect,
    sent_at: DateTime<Utc>,
}

impl Pending {
    fn is_walk_in(&self) -> bool {
        matches!(self.effect, Effect::WalkIn(_))
    }
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
    online: bool,
    last_scan_at: Option<DateTime<Utc>>,
    walk_in_options: WalkInOptions,
    walk_in: WalkIn,
    reply_at: Option<DateTime<Utc>>,
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
            online: true,
            last_scan_at: None,
            walk_in_options: WalkInOptions::default(),
            walk_in: WalkIn::default(),
            reply_at: None,
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
    /// Whether the server answers (false: check-ins go to the offline desk).
    pub fn online(&self) -> bool {
        self.online
    }
    /// The last successful check-in or check-out (for the heartbeat).
    pub fn last_scan_at(&self) -> Option<DateTime<Utc>> {
        self.last_scan_at
    }
    /// What the walk-in form asks, from the server's configuration.
    pub fn walk_in_options(&self) -> WalkInOptions {
        self.walk_in_options
    }

    /// The fraction of the current screen's time still left before the automatic
    /// return to scanning (1 → 0); 1 on screens that stay.
    pub fn time_left(&self) -> f32 {
        let Some(limit) = self.screen_limit() else {
            return 1.0;
        };
        let since = self.limit_since();
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
        // Nor while someone types on the walk-in form (a pass seen in the background).
        if matches!(
            self.screen,
            Screen::Pairing | Screen::Verifying | Screen::WalkIn
        ) {
            return None;
        }
        self.last_pass = Some((token.clone(), now));
        Some(self.present(None, Some(token)))
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
        if self.screen == Screen::WalkIn {
            // Whoever leaves the form takes what they typed with them.
            self.walk_in = WalkIn::default();
        }
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
        let effect = pending.effect.clone();
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
        self.walk_in_options = config.walk_in;
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

    /// The server stopped or started answering.
    pub fn network_changed(&mut self, online: bool) {
        self.online = online;
    }

    /// The host answered the alert of `visit_id`: shown if that visitor's welcome is
    /// still on screen, which then stays a little longer so it can be read.
    pub fn host_replied(&mut self, visit_id: i64, reply: &HostReply) {
        if self.screen != Screen::Welcome {
            return;
        }
        let Some(greeting) = self.greeting.as_mut() else {
            return;
        };
        if greeting.visit_id != Some(visit_id) || greeting.reply == Some(reply.kind) {
            return;
        }
        greeting.reply = Some(reply.kind);
        self.reply_at = Some(self.clock.now());
    }

    /// Keeps the default language given on the command line, over the server's.
    pub fn pin_locale(&mut self, locale: Locale) {
        self.default_locale = locale;
        self.locale = locale;
    }

    /// The answer to the request `request_id`. Answers to requests that are no longer
    /// awaited are ignored. A welcome from the server asks to watch for the host's reply.
    pub fn answered(&mut self, request_id: &str, answer: Answer) -> Option<Effect> {
        let Some(pending) = self.pending.as_ref().filter(|p| p.request_id == request_id) else {
            tracing::debug!(request_id, "ignoring an answer nobody waits for");
            return None;
        };
        let walk_in = pending.is_walk_in();
        self.problem = None;
        match answer {
            Answer::CheckedIn(visit) => {
                self.pending = None;
                self.mode = Mode::CheckIn;
                self.last_scan_at = Some(self.clock.now());
                self.switch_to_visitor_locale(&visit.locale);
                let visit_id = visit.visit_id;
                let told = genkan_core::reach::Reach {
                    host: visit.host_notified,
                    reception: visit.reception_notified,
                }
                .told();
                self.greeting = Some(Greeting {
                    visitor_name: visit.visitor_name,
                    visitor_company: visit.visitor_company.filter(|c| !c.trim().is_empty()),
                    host_name: visit.host_name,
                    told,
                    visit_id: Some(visit_id),
                    offline: false,
                    reply: None,
                });
                self.walk_in = WalkIn::default();
                self.go(Screen::Welcome);
                return Some(Effect::WatchReply {
                    visit_id,
                    wait: self.timing.welcome.to_std().unwrap_or_default(),
                });
            }
            Answer::OfflineCheckedIn(welcome) => {
                self.pending = None;
                self.mode = Mode::CheckIn;
                self.last_scan_at = Some(welcome.offline_at);
                self.online = false;
                self.switch_to_visitor_locale(&welcome.locale);
                self.greeting = Some(Greeting {
                    visitor_name: welcome.visitor_name,
                    visitor_company: None,
                    host_name: welcome.host_name,
                    // Offline, the visitor can go to the desk; reception hears of
                    // them only when the journal is replayed.
                    told: if welcome.host_reachable {
                        Told::Host
                    } else {
                        Told::Desk
                    },
                    visit_id: None,
                    offline: true,
                    reply: None,
                });
                self.go(Screen::Welcome);
            }
            Answer::CheckedOut(visit) => {
                self.pending = None;
                self.last_scan_at = Some(self.clock.now());
                // The next pass in front of the camera is someone arriving.
                self.mode = Mode::CheckIn;
                self.switch_to_visitor_locale(&visit.locale);
                self.farewell = Some(Farewell {
                    visitor_name: visit.visitor_name,
                });
                self.go(Screen::CheckedOut);
            }
            Answer::CodeNeedsConnection => {
                // The request stays pending: "try again" sends it once the server is back.
                self.online = false;
                self.fail(Problem::CodeNeedsConnection);
            }
            Answer::Refused(error) if walk_in => {
                self.pending = None;
                self.walk_in_refused(error.code);
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
        None
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
            let since = self.limit_since();
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

    fn next_request_id(&mut self) -> String {
        self.requests_sent += 1;
        format!("{}-{:06}", self.request_prefix, self.requests_sent)
    }

    fn present(&mut self, code: Option<String>, token: Option<String>) -> Effect {
        let pass = PresentPass {
            request_id: self.next_request_id(),
            token,
            code,
            offline_at: None,
            token_hash: None,
        };
        let effect = Effect::Present {
            mode: self.mode,
            pass,
        };
        self.send(effect)
    }

    /// Awaits the answer to `effect` on the verifying screen.
    fn send(&mut self, effect: Effect) -> Effect {
        let request_id = match &effect {
            Effect::Present { pass, .. } => pass.request_id.clone(),
            Effect::WalkIn(request) => request.request_id.clone(),
            _ => String::new(),
        };
        self.pending = Some(Pending {
            request_id,
            effect: effect.clone(),
            sent_at: self.clock.now(),
        });
        self.problem = None;
        self.go(Screen::Verifying);
        effect
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
            Screen::Welcome if self.reply_at.is_some() => Some(self.timing.reply_shown),
            Screen::Welcome => Some(self.timing.welcome),
            Screen::CheckedOut => Some(self.timing.checked_out),
            Screen::Error => Some(self.timing.error),
            Screen::CodeEntry => Some(self.timing.idle),
            Screen::WalkIn => Some(self.timing.walk_in),
            Screen::Pairing | Screen::Scan | Screen::Verifying => None,
        }
    }

    /// Since when the current screen's time runs: the last touch on screens one types
    /// on, the reply on a welcome that shows one, else the screen's start.
    fn limit_since(&self) -> DateTime<Utc> {
        match self.screen {
            Screen::CodeEntry | Screen::WalkIn => self.last_touch,
            Screen::Welcome => self.reply_at.unwrap_or(self.screen_since),
            _ => self.screen_since,
        }
    }

    fn touch(&mut self) {
        self.last_touch = self.clock.now();
    }

    fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.screen_since = self.clock.now();
        self.reply_at = None;
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
            self.walk_in = WalkIn::default();
        }
        self.go(Screen::Scan);
    }
}

#[cfg(test)]
mod tests;
