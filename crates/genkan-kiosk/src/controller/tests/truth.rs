//! What the kiosk tells the visitor is what the server found: the host told, only
//! reception told, or nobody (go to the desk), online and offline; and typed codes
//! while the server cannot be reached are refused kindly, never checked locally.

use genkan_core::wire::v1::CheckInResponse;

use super::*;

fn answer(host: bool, reception: bool) -> CheckInResponse {
    CheckInResponse {
        host_notified: host,
        reception_notified: reception,
        ..checked_in("en")
    }
}

#[test]
fn the_welcome_says_whom_the_server_could_reach_and_never_more() {
    for (host, reception, told) in [
        (true, true, Told::Host),
        (true, false, Told::Host),
        (false, true, Told::Reception),
        (false, false, Told::Desk),
    ] {
        let mut k = kiosk();
        let id = k.scan(&token()).unwrap();
        k.reception
            .answered(&id, Answer::CheckedIn(answer(host, reception)));
        assert_eq!(k.reception.screen(), Screen::Welcome);
        assert_eq!(
            k.reception.greeting().unwrap().told,
            told,
            "host {host}, reception {reception}"
        );
    }
}

/// A kiosk that offers walk-ins, with a walk-in for "Tanaka Ichiro" sent: its request id.
fn walk_in_sent(k: &mut Kiosk) -> String {
    k.reception.configured(&genkan_core::wire::v1::KioskConfig {
        kiosk_id: 1,
        tenant_name: "Example KK".to_owned(),
        site_name: "Tokyo HQ".to_owned(),
        time_zone: "Asia/Tokyo".to_owned(),
        default_locale: "ja".to_owned(),
        primary_color: "#0f766e".to_owned(),
        checkout_enabled: true,
        accent_color: String::new(),
        has_logo: false,
        walk_in: genkan_core::wire::v1::WalkInOptions {
            enabled: true,
            ask_company: false,
            ask_phone: false,
        },
    });
    k.reception.open_walk_in();
    k.reception.walk_in_name("John Smith");
    k.reception.walk_in_search("Tanaka");
    k.reception.hosts_found(
        "Tanaka",
        Ok(vec![genkan_core::wire::v1::HostMatch {
            id: 3,
            name: "Tanaka Ichiro".to_owned(),
        }]),
    );
    k.reception.choose_host(3);
    let Some(Effect::WalkIn(request)) = k.reception.walk_in_submit() else {
        panic!("sent");
    };
    request.request_id
}

#[test]
fn a_walk_in_whose_host_cannot_be_reached_is_sent_to_the_desk() {
    let mut k = kiosk();
    let id = walk_in_sent(&mut k);
    k.reception
        .answered(&id, Answer::CheckedIn(answer(false, false)));
    assert_eq!(k.reception.greeting().unwrap().told, Told::Desk);
}

#[test]
fn a_walk_in_refused_for_the_kiosks_limit_says_so_and_sends_the_visitor_to_the_desk() {
    let mut k = kiosk();
    let id = walk_in_sent(&mut k);
    k.refuse(&id, ErrorCode::RateLimited);
    assert_eq!(k.reception.screen(), Screen::Error);
    assert_eq!(k.reception.problem(), Some(Problem::TooManyWalkIns));
    assert!(!k.reception.can_retry());
    assert!(!Problem::TooManyWalkIns.offers_code_entry());
}

#[test]
fn an_offline_welcome_for_a_host_nobody_can_reach_sends_the_visitor_to_the_desk() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.reception.answered(
        &id,
        Answer::OfflineCheckedIn(OfflineWelcome {
            visitor_name: "Sato Hanako".to_owned(),
            host_name: "Tanaka Ichiro".to_owned(),
            locale: "ja".to_owned(),
            offline_at: k.clock.now(),
            host_reachable: false,
        }),
    );
    let greeting = k.reception.greeting().unwrap();
    assert!(greeting.offline);
    assert_eq!(greeting.told, Told::Desk);
}

#[test]
fn offline_the_code_pad_says_codes_need_the_connection_instead_of_opening() {
    let mut k = kiosk();
    k.reception.network_changed(false);
    k.reception.open_code_entry();
    assert_eq!(k.reception.screen(), Screen::Error);
    assert_eq!(k.reception.problem(), Some(Problem::CodeNeedsConnection));
    assert!(
        !Problem::CodeNeedsConnection.offers_code_entry(),
        "the error screen does not offer the code pad again"
    );
    assert!(!k.reception.can_retry(), "nothing was sent");
    k.reception.network_changed(true);
    k.reception.home();
    k.reception.open_code_entry();
    assert_eq!(
        k.reception.screen(),
        Screen::CodeEntry,
        "back online it opens"
    );
}

#[test]
fn a_code_typed_as_the_server_goes_away_can_be_sent_again_once_it_is_back() {
    let mut k = kiosk();
    k.reception.open_code_entry();
    k.type_code("12345678");
    let Some(Effect::Present { pass, .. }) = k.reception.code_submit() else {
        panic!("sent");
    };
    k.reception
        .answered(&pass.request_id, Answer::CodeNeedsConnection);
    assert_eq!(k.reception.screen(), Screen::Error);
    assert_eq!(k.reception.problem(), Some(Problem::CodeNeedsConnection));
    assert!(!k.reception.online());
    let Some(Effect::Present { pass: again, .. }) = k.reception.retry() else {
        panic!("try again sends the same code");
    };
    assert_eq!(again.request_id, pass.request_id);
    assert_eq!(again.code.as_deref(), Some("12345678"));
}
