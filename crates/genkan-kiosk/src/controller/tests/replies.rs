//! Offline welcomes, the network indicator and the host's reply on the welcome screen.

use genkan_core::wire::v1::{HostReply, ReplyKind};

use super::*;

fn offline_welcome(clock: &ManualClock) -> Answer {
    Answer::OfflineCheckedIn(OfflineWelcome {
        visitor_name: "Sato Hanako".to_owned(),
        host_name: "Tanaka Ichiro".to_owned(),
        locale: "en".to_owned(),
        offline_at: clock.now(),
        host_reachable: true,
    })
}

fn reply(kind: ReplyKind) -> HostReply {
    HostReply {
        kind,
        host_name: "Tanaka Ichiro".to_owned(),
        at: "2026-11-23T10:00:10+09:00".to_owned(),
    }
}

#[test]
fn an_offline_check_in_welcomes_the_visitor_and_says_the_host_will_be_told_later() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    let effect = k.reception.answered(&id, offline_welcome(&k.clock));
    assert_eq!(
        effect, None,
        "no reply to wait for: the host does not know yet"
    );
    assert_eq!(k.reception.screen(), Screen::Welcome);
    assert_eq!(k.reception.locale(), Locale::En);
    let greeting = k.reception.greeting().unwrap();
    assert!(greeting.offline);
    assert_eq!(
        greeting.told,
        Told::Host,
        "the roster says the host can be told"
    );
    assert_eq!(greeting.visit_id, None);
    assert!(
        !k.reception.online(),
        "the top bar shows the kiosk is offline"
    );
    assert_eq!(k.reception.last_scan_at(), Some(k.clock.now()));
    k.secs(8);
    assert_eq!(k.reception.screen(), Screen::Scan);
}

#[test]
fn the_network_indicator_follows_the_link() {
    let mut k = kiosk();
    assert!(k.reception.online());
    k.reception.network_changed(false);
    assert!(!k.reception.online());
    k.reception.network_changed(true);
    assert!(k.reception.online());
}

#[test]
fn a_welcome_from_the_server_asks_to_watch_for_the_hosts_reply_during_the_welcome() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    let effect = k
        .reception
        .answered(&id, Answer::CheckedIn(checked_in("ja")));
    assert_eq!(
        effect,
        Some(Effect::WatchReply {
            visit_id: 1,
            wait: std::time::Duration::from_secs(8)
        })
    );
}

#[test]
fn the_hosts_reply_shows_on_the_welcome_and_keeps_it_a_little_longer() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.welcome(&id, "en");
    k.secs(6);
    k.reception.host_replied(1, &reply(ReplyKind::Coming));
    assert_eq!(
        k.reception.greeting().unwrap().reply,
        Some(ReplyKind::Coming)
    );
    k.secs(8);
    assert_eq!(
        k.reception.screen(),
        Screen::Welcome,
        "the visitor has time to read it"
    );
    k.secs(4);
    assert_eq!(k.reception.screen(), Screen::Scan);
}

#[test]
fn a_reply_for_another_visit_or_after_the_welcome_is_ignored() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.welcome(&id, "ja");
    k.reception.host_replied(99, &reply(ReplyKind::Wait));
    assert_eq!(k.reception.greeting().unwrap().reply, None);
    k.secs(8);
    k.reception.host_replied(1, &reply(ReplyKind::Wait));
    assert_eq!(k.reception.screen(), Screen::Scan);
    assert_eq!(k.reception.greeting(), None);
}

#[test]
fn a_wait_reply_is_shown_as_such() {
    let mut k = kiosk();
    let id = k.scan(&token()).unwrap();
    k.welcome(&id, "ja");
    k.reception.host_replied(1, &reply(ReplyKind::Wait));
    assert_eq!(k.reception.greeting().unwrap().reply, Some(ReplyKind::Wait));
}
