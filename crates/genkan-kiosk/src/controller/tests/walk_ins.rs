//! The walk-in form: offered only when configured, host search from three characters
//! with stale answers ignored, a few matches at most, and the walk-in sent once.

use genkan_core::wire::v1::{HostMatch, KioskConfig, WalkInOptions};

use super::*;

fn config(walk_in: WalkInOptions) -> KioskConfig {
    KioskConfig {
        kiosk_id: 1,
        tenant_name: "Example KK".to_owned(),
        site_name: "Tokyo HQ".to_owned(),
        time_zone: "Asia/Tokyo".to_owned(),
        default_locale: "ja".to_owned(),
        primary_color: "#0f766e".to_owned(),
        checkout_enabled: true,
        accent_color: String::new(),
        has_logo: false,
        walk_in,
    }
}

fn walk_in_kiosk() -> Kiosk {
    let mut k = kiosk();
    k.reception.configured(&config(WalkInOptions {
        enabled: true,
        ask_company: true,
        ask_phone: false,
    }));
    k
}

fn staff(names: &[&str]) -> Vec<HostMatch> {
    names
        .iter()
        .zip(1..)
        .map(|(n, id)| HostMatch {
            id,
            name: (*n).to_owned(),
        })
        .collect()
}

#[test]
fn the_walk_in_form_is_offered_only_when_the_company_allows_it() {
    let mut k = kiosk();
    k.reception.open_walk_in();
    assert_eq!(k.reception.screen(), Screen::Scan);
    let mut k = walk_in_kiosk();
    k.reception.network_changed(false);
    k.reception.open_walk_in();
    assert_eq!(k.reception.screen(), Screen::Scan, "not while offline");
    k.reception.network_changed(true);
    k.reception.open_walk_in();
    assert_eq!(k.reception.screen(), Screen::WalkIn);
}

#[test]
fn hosts_are_searched_only_from_three_characters_and_stale_answers_are_ignored() {
    let mut k = walk_in_kiosk();
    k.reception.open_walk_in();
    assert_eq!(k.reception.walk_in_search("Ta"), None);
    assert_eq!(
        k.reception.walk_in_search("T a"),
        None,
        "spaces do not count"
    );
    assert_eq!(
        k.reception.walk_in_search("Tan"),
        Some(Effect::SearchHosts {
            query: "Tan".to_owned()
        })
    );
    assert!(k.reception.walk_in().searching);
    let effect = k.reception.walk_in_search("Tana");
    assert!(effect.is_some());
    k.reception
        .hosts_found("Tan", Ok(staff(&["Tanaka Ichiro", "Tanabe Jun"])));
    assert!(k.reception.walk_in().matches.is_empty(), "an older search");
    k.reception.hosts_found(
        "Tana",
        Ok(staff(&[
            "A Tana", "B Tana", "C Tana", "D Tana", "E Tana", "F Tana", "G Tana",
        ])),
    );
    assert_eq!(
        k.reception.walk_in().matches.len(),
        walk_in::MATCHES_SHOWN,
        "never more than a few"
    );
    assert!(!k.reception.walk_in().searching);
    k.reception.walk_in_search("Ta");
    assert!(
        k.reception.walk_in().matches.is_empty(),
        "too short again: nothing shown"
    );
}

#[test]
fn nobody_found_is_said_so() {
    let mut k = walk_in_kiosk();
    k.reception.open_walk_in();
    k.reception.walk_in_search("Zzz");
    k.reception.hosts_found("Zzz", Ok(Vec::new()));
    assert_eq!(k.reception.walk_in().issue, Some(WalkInIssue::NoMatch));
}

#[test]
fn a_walk_in_needs_a_name_and_a_chosen_host_then_is_sent_and_welcomed() {
    let mut k = walk_in_kiosk();
    k.reception.switch_locale();
    k.reception.open_walk_in();
    assert_eq!(k.reception.walk_in_submit(), None);
    assert_eq!(k.reception.walk_in().issue, Some(WalkInIssue::NameMissing));
    k.reception.walk_in_name("John Smith");
    k.reception.walk_in_company("Contoso");
    k.reception.walk_in_phone("03-1234-5678");
    assert_eq!(k.reception.walk_in_submit(), None);
    assert_eq!(k.reception.walk_in().issue, Some(WalkInIssue::HostMissing));
    k.reception.walk_in_search("Tanaka");
    k.reception
        .hosts_found("Tanaka", Ok(staff(&["Tanaka Ichiro", "Tanaka Jiro"])));
    k.reception.choose_host(2);
    assert_eq!(k.reception.walk_in().query, "Tanaka Jiro");
    assert!(k.reception.walk_in().matches.is_empty());
    let Some(Effect::WalkIn(request)) = k.reception.walk_in_submit() else {
        panic!("sent");
    };
    assert_eq!(request.name, "John Smith");
    assert_eq!(request.company.as_deref(), Some("Contoso"));
    assert_eq!(
        request.phone, None,
        "the phone is not asked here, so not sent"
    );
    assert_eq!(request.host_id, 2);
    assert_eq!(request.locale.as_deref(), Some("en"));
    assert!(genkan_core::wire::v1::valid_request_id(&request.request_id));
    assert_eq!(k.reception.screen(), Screen::Verifying);
    let effect = k
        .reception
        .answered(&request.request_id, Answer::CheckedIn(checked_in("en")));
    assert!(matches!(effect, Some(Effect::WatchReply { .. })));
    assert_eq!(k.reception.screen(), Screen::Welcome);
    assert_eq!(
        k.reception.walk_in(),
        &WalkIn::default(),
        "the form is cleared"
    );
}

#[test]
fn a_refused_walk_in_returns_to_the_form_and_an_unreachable_one_can_be_retried() {
    let mut k = walk_in_kiosk();
    k.reception.open_walk_in();
    k.reception.walk_in_name("John Smith");
    k.reception.walk_in_search("Tanaka");
    k.reception
        .hosts_found("Tanaka", Ok(staff(&["Tanaka Ichiro"])));
    k.reception.choose_host(1);
    let Some(Effect::WalkIn(request)) = k.reception.walk_in_submit() else {
        panic!("sent");
    };
    k.refuse(&request.request_id, ErrorCode::Validation);
    assert_eq!(k.reception.screen(), Screen::WalkIn);
    assert_eq!(k.reception.walk_in().issue, Some(WalkInIssue::Check));
    assert_eq!(
        k.reception.walk_in().name,
        "John Smith",
        "what was typed stays"
    );

    let Some(Effect::WalkIn(request)) = k.reception.walk_in_submit() else {
        panic!("sent again");
    };
    k.reception.answered(
        &request.request_id,
        Answer::Unreachable("connection refused".to_owned()),
    );
    assert_eq!(k.reception.problem(), Some(Problem::Unreachable));
    let Some(Effect::WalkIn(retried)) = k.reception.retry() else {
        panic!("retry sends the walk-in again");
    };
    assert_eq!(retried.request_id, request.request_id, "same request id");
}

#[test]
fn an_abandoned_walk_in_form_is_cleared_and_goes_back_to_scanning() {
    let mut k = walk_in_kiosk();
    k.reception.open_walk_in();
    k.reception.walk_in_name("John Smith");
    k.secs(60);
    k.reception.walk_in_company("Contoso");
    k.secs(60);
    assert_eq!(k.reception.screen(), Screen::WalkIn, "typing keeps it open");
    k.secs(30);
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert_eq!(k.reception.walk_in(), &WalkIn::default());
    k.reception.open_walk_in();
    k.reception.walk_in_name("Jane");
    k.reception.home();
    assert_eq!(
        k.reception.walk_in(),
        &WalkIn::default(),
        "Cancel clears it too"
    );
}

#[test]
fn passes_seen_while_someone_types_on_the_walk_in_form_are_not_sent() {
    let mut k = walk_in_kiosk();
    k.reception.open_walk_in();
    assert_eq!(k.reception.frame_decoded(&token()), None);
}
