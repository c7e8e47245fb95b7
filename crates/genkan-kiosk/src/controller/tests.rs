//! Unit tests of the reception state machine: a manual clock moves time, nothing sleeps.

use chrono::TimeZone as _;
use genkan_core::ManualClock;
use genkan_core::wire::v1::{CheckInResponse, CheckOutResponse, ErrorBody, ErrorCode};

use super::*;

mod replies;
mod truth;
mod walk_ins;

struct Kiosk {
    clock: ManualClock,
    reception: Reception,
}

fn token() -> String {
    PassToken::generate(&mut rand::rng()).encode()
}

fn kiosk() -> Kiosk {
    kiosk_with(true)
}

fn kiosk_with(paired: bool) -> Kiosk {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap());
    let reception = Reception::new(
        Arc::new(clock.clone()),
        Settings {
            paired,
            default_locale: Locale::Ja,
            server_url: String::new(),
            request_prefix: "kiosk-test".to_owned(),
            timing: Timing::default(),
        },
    );
    Kiosk { clock, reception }
}

impl Kiosk {
    fn secs(&mut self, s: i64) {
        self.clock.advance(Duration::seconds(s));
        self.reception.tick();
    }

    fn millis(&mut self, ms: i64) {
        self.clock.advance(Duration::milliseconds(ms));
        self.reception.tick();
    }

    /// Scans a pass and returns the request id sent.
    fn scan(&mut self, text: &str) -> Option<String> {
        match self.reception.frame_decoded(text)? {
            Effect::Present { pass, .. } => Some(pass.request_id),
            other => panic!("unexpected effect {other:?}"),
        }
    }

    fn welcome(&mut self, request_id: &str, locale: &str) {
        self.reception
            .answered(request_id, Answer::CheckedIn(checked_in(locale)));
    }

    fn refuse(&mut self, request_id: &str, code: ErrorCode) {
        self.reception.answered(
            request_id,
            Answer::Refused(ErrorBody {
                code,
                message: "refused".to_owned(),
                request_id: None,
                fields: Vec::new(),
            }),
        );
    }

    fn type_code(&mut self, digits: &str) {
        for d in digits.bytes() {
            self.reception.code_digit(d - b'0');
        }
    }
}

fn checked_in(locale: &str) -> CheckInResponse {
    CheckInResponse {
        visit_id: 1,
        visitor_name: "Sato Hanako".to_owned(),
        visitor_company: Some("Example KK".to_owned()),
        locale: locale.to_owned(),
        host_name: "Tanaka Ichiro".to_owned(),
        site_name: "Tokyo HQ".to_owned(),
        checked_in_at: "2026-11-23T10:00:00+09:00".to_owned(),
        host_notified: true,
        reception_notified: true,
    }
}

#[test]
fn an_unpaired_kiosk_starts_on_the_pairing_screen_and_scans_after_pairing() {
    let mut k = kiosk_with(false);
    assert_eq!(k.reception.screen(), Screen::Pairing);
    assert_eq!(
        k.reception.frame_decoded(&token()),
        None,
        "no scanning before pairing"
    );
    assert_eq!(
        k.reception.pair("genkan.local", "ABCD-EFGH-1234"),
        None,
        "a server address without http(s) is refused before any request"
    );
    assert_eq!(
        k.reception.pairing().issue,
        Some(PairingIssue::InvalidServer)
    );
    let effect = k
        .reception
        .pair("http://genkan.local:8080", " ABCD-EFGH-1234 ");
    assert_eq!(
        effect,
        Some(Effect::Pair {
            server_url: "http://genkan.local:8080".to_owned(),
            code: "ABCD-EFGH-1234".to_owned()
        })
    );
    assert!(k.reception.pairing().busy);
    k.reception.paired(Err(PairingIssue::WrongCode));
    assert_eq!(k.reception.screen(), Screen::Pairing);
    assert_eq!(k.reception.pairing().issue, Some(PairingIssue::WrongCode));
    k.reception
        .pair("http://genkan.local:8080", "ABCD-EFGH-1234");
    k.reception.paired(Ok(Branding {
        organisation: "Example KK".to_owned(),
        site: "Tokyo HQ".to_owned(),
        color: None,
    }));
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert!(k.scan(&token()).is_some());
}

#[test]
fn a_scanned_pass_is_sent_once_and_welcomes_the_visitor_in_their_language() {
    let mut k = kiosk();
    let pass = token();
    let id = k.scan(&pass).expect("sent");
    assert_eq!(k.reception.screen(), Screen::Verifying);
    k.welcome(&id, "en");
    assert_eq!(k.reception.screen(), Screen::Welcome);
    assert_eq!(k.reception.locale(), Locale::En);
    let greeting = k.reception.greeting().unwrap();
    assert_eq!(greeting.visitor_name, "Sato Hanako");
    assert_eq!(greeting.host_name, "Tanaka Ichiro");
    assert_eq!(greeting.told, Told::Host);
}

#[test]
fn the_same_pass_in_consecutive_frames_is_sent_once() {
    let mut k = kiosk();
    let pass = token();
    let id = k.scan(&pass).unwrap();
    // Frames keep arriving while the server answers and while the welcome shows.
    for _ in 0..20 {
        k.millis(200);
        assert_eq!(k.scan(&pass), None);
    }
    k.welcome(&id, "ja");
    for _ in 0..60 {
        k.millis(200);
        assert_eq!(k.scan(&pass), None, "still in view: not sent again");
    }
    // Lower-case is the same pass.
    assert_eq!(k.scan(&pass.to_ascii_lowercase()), None);
}

#[test]
fn the_same_pass_shown_again_after_leaving_the_view_is_sent_again() {
    let mut k = kiosk();
    let pass = token();
    let first = k.scan(&pass).unwrap();
    k.refuse(&first, ErrorCode::AlreadyInside);
    k.secs(4);
    let second = k.scan(&pass).expect("a deliberate second scan is sent");
    assert_ne!(first, second, "a new scan gets a new request id");
}

#[test]
fn another_pass_is_sent_while_the_previous_welcome_is_still_shown() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.welcome(&id, "ja");
    assert!(k.scan(&token()).is_some());
    assert_eq!(k.reception.screen(), Screen::Verifying);
}

#[test]
fn qr_codes_that_are_not_passes_are_ignored() {
    let mut k = kiosk();
    for text in [
        "https://example.com",
        "GK1",
        "",
        "12345678",
        &"GK1".repeat(11),
    ] {
        assert_eq!(k.reception.frame_decoded(text), None, "{text:?}");
    }
    assert_eq!(k.reception.screen(), Screen::Scan);
}

#[test]
fn a_pass_seen_while_verifying_another_is_not_sent_until_the_answer() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    let other = token();
    assert_eq!(k.scan(&other), None);
    k.welcome(&id, "ja");
    assert!(k.scan(&other).is_some(), "sent once the kiosk is free");
}

#[test]
fn welcome_and_goodbye_return_to_scanning_after_a_few_seconds_in_the_default_language() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.welcome(&id, "en");
    k.secs(7);
    assert_eq!(k.reception.screen(), Screen::Welcome);
    assert!(k.reception.time_left() > 0.0 && k.reception.time_left() < 0.2);
    k.secs(1);
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert_eq!(k.reception.locale(), Locale::Ja);
    assert_eq!(k.reception.greeting(), None);

    k.reception.choose_mode(Mode::CheckOut);
    let id = k.scan(&token()).unwrap();
    k.reception.answered(
        &id,
        Answer::CheckedOut(CheckOutResponse {
            visit_id: 1,
            visitor_name: "John Smith".to_owned(),
            locale: "en".to_owned(),
            checked_out_at: "2026-11-23T18:00:00+09:00".to_owned(),
        }),
    );
    assert_eq!(k.reception.screen(), Screen::CheckedOut);
    assert_eq!(
        k.reception.mode(),
        Mode::CheckIn,
        "the next pass is an arrival"
    );
    k.secs(6);
    assert_eq!(k.reception.screen(), Screen::Scan);
}

#[test]
fn each_refusal_code_shows_its_own_error_and_every_error_offers_the_code_pad() {
    let cases = [
        (ErrorCode::PassNotYetValid, Problem::NotToday),
        (ErrorCode::PassExpired, Problem::Expired),
        (ErrorCode::PassCancelled, Problem::Cancelled),
        (ErrorCode::OtherSite, Problem::OtherSite),
        (ErrorCode::AlreadyInside, Problem::AlreadyInside),
        (ErrorCode::NotInside, Problem::NotInside),
        (ErrorCode::PassUnknown, Problem::Unknown),
        (ErrorCode::Malformed, Problem::Unknown),
        (ErrorCode::KioskRevoked, Problem::KioskRevoked),
        (ErrorCode::Unauthorized, Problem::KioskRevoked),
        (ErrorCode::RateLimited, Problem::TooManyAttempts),
        (ErrorCode::Internal, Problem::ServerError),
    ];
    for (code, problem) in cases {
        let mut k = kiosk();
        let id = k.scan(&token()).unwrap();
        k.refuse(&id, code);
        assert_eq!(k.reception.screen(), Screen::Error, "{code}");
        assert_eq!(k.reception.problem(), Some(problem), "{code}");
        assert!(!k.reception.can_retry() || problem == Problem::ServerError);
        k.reception.open_code_entry();
        assert_eq!(
            k.reception.screen(),
            Screen::CodeEntry,
            "{code}: code pad reachable"
        );
    }
}

#[test]
fn an_error_screen_returns_to_scanning_by_itself() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.refuse(&id, ErrorCode::PassExpired);
    k.secs(11);
    assert_eq!(k.reception.screen(), Screen::Error);
    k.secs(1);
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert_eq!(k.reception.problem(), None);
}

#[test]
fn an_unreachable_server_can_be_retried_with_the_same_request_id() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.reception
        .answered(&id, Answer::Unreachable("connection refused".to_owned()));
    assert_eq!(k.reception.problem(), Some(Problem::Unreachable));
    assert!(k.reception.can_retry());
    let Some(Effect::Present { pass, .. }) = k.reception.retry() else {
        panic!("retry sends again");
    };
    assert_eq!(pass.request_id, id);
    assert_eq!(k.reception.screen(), Screen::Verifying);
    k.welcome(&id, "ja");
    assert_eq!(k.reception.screen(), Screen::Welcome);
}

#[test]
fn a_request_without_an_answer_becomes_cannot_reach_the_server() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.secs(9);
    assert_eq!(k.reception.screen(), Screen::Verifying);
    k.secs(1);
    assert_eq!(k.reception.problem(), Some(Problem::Unreachable));
    // A late answer for that request still counts: the visit exists.
    k.welcome(&id, "ja");
    assert_eq!(k.reception.screen(), Screen::Welcome);
}

#[test]
fn answers_to_requests_nobody_waits_for_are_ignored() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.welcome("someone-else-0001", "en");
    assert_eq!(k.reception.screen(), Screen::Verifying);
    k.welcome(&id, "ja");
    k.welcome(&id, "en");
    assert_eq!(
        k.reception.locale(),
        Locale::Ja,
        "a duplicate answer changes nothing"
    );
}

#[test]
fn the_code_pad_takes_eight_digits_erases_and_sends_the_code() {
    let mut k = kiosk();
    k.reception.open_code_entry();
    k.type_code("1234");
    assert_eq!(
        k.reception.code_submit(),
        None,
        "incomplete codes are not sent"
    );
    k.reception.code_erase();
    assert_eq!(k.reception.code(), "123");
    k.reception.code_clear();
    assert_eq!(k.reception.code(), "");
    k.type_code("1234567890");
    assert_eq!(k.reception.code(), "12345678", "a ninth digit is not taken");
    k.reception.code_digit(12);
    assert_eq!(k.reception.code(), "12345678");
    let Some(Effect::Present { mode, pass }) = k.reception.code_submit() else {
        panic!("a full code is sent");
    };
    assert_eq!(mode, Mode::CheckIn);
    assert_eq!(pass.code.as_deref(), Some("12345678"));
    assert_eq!(pass.token, None);
    assert!(genkan_core::wire::v1::valid_request_id(&pass.request_id));
    assert_eq!(k.reception.screen(), Screen::Verifying);
}

#[test]
fn an_untouched_code_pad_returns_to_scanning_but_typing_keeps_it_open() {
    let mut k = kiosk();
    k.reception.switch_locale();
    k.reception.open_code_entry();
    k.secs(20);
    k.type_code("1");
    k.secs(20);
    assert_eq!(k.reception.screen(), Screen::CodeEntry);
    k.secs(10);
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert_eq!(k.reception.code(), "");
    assert_eq!(
        k.reception.locale(),
        Locale::Ja,
        "back to the default language"
    );
}

#[test]
fn back_from_the_code_pad_keeps_the_chosen_language() {
    let mut k = kiosk();
    k.reception.switch_locale();
    k.reception.open_code_entry();
    k.reception.home();
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert_eq!(k.reception.locale(), Locale::En);
    k.secs(30);
    assert_eq!(
        k.reception.locale(),
        Locale::Ja,
        "until nobody touches the kiosk"
    );
}

#[test]
fn check_out_is_offered_only_when_the_server_allows_it() {
    let mut k = kiosk();
    k.reception.configured(&genkan_core::wire::v1::KioskConfig {
        kiosk_id: 1,
        tenant_name: "Example KK".to_owned(),
        site_name: "Tokyo HQ".to_owned(),
        time_zone: "Asia/Tokyo".to_owned(),
        default_locale: "en".to_owned(),
        primary_color: "#0f766e".to_owned(),
        checkout_enabled: false,
        accent_color: String::new(),
        has_logo: false,
        walk_in: genkan_core::wire::v1::WalkInOptions::default(),
    });
    assert_eq!(
        k.reception.locale(),
        Locale::En,
        "the company's default language"
    );
    k.reception.choose_mode(Mode::CheckOut);
    assert_eq!(k.reception.mode(), Mode::CheckIn);
    assert_eq!(k.reception.branding().unwrap().site, "Tokyo HQ");
}

#[test]
fn scans_in_check_out_mode_go_to_check_out() {
    let mut k = kiosk();
    k.reception.choose_mode(Mode::CheckOut);
    let Some(Effect::Present { mode, .. }) = k.reception.frame_decoded(&token()) else {
        panic!("sent");
    };
    assert_eq!(mode, Mode::CheckOut);
}
