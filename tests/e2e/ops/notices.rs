//! FLT-2: an incident notice to two of three tenants reaches every admin of those two
//! by e-mail and their Slack, and nothing reaches the third; the time from
//! publication to delivery is recorded.

use std::time::Duration;

use genkan_e2e::api::Api;
use genkan_e2e::receiver::{Answer, Receiver};
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};

use super::support::genkan;
use crate::support::mails_to;

const TITLE: &str = "Check-in outage on 24 November";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_notice_reaches_every_admin_of_the_chosen_tenants_and_nobody_else() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let slack = Receiver::start(Answer::Ok).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    for slug in ["alpha", "beta", "gamma"] {
        server.create_tenant(slug);
        let token = server.create_token(slug, &format!("admin@{slug}.example"), "admin");
        let api = Api::new(&server.url, Some(&token));
        api.create_user_with_password(
            &format!("second@{slug}.example"),
            "Second Admin",
            "admin",
            "Blue-Lantern-Orbit-42!",
        )
        .await
        .ok();
        api.set_slack(&format!("{}/services/{slug}/hook", slack.url))
            .await
            .ok();
    }
    let (ok, out, err) = genkan(
        &server.config,
        &[
            "notice",
            "publish",
            "--kind",
            "incident",
            "--title",
            TITLE,
            "--body",
            "Kiosks could not check visitors in from 09:10 to 09:40 JST.",
            "--tenants",
            "alpha,beta",
        ],
    );
    assert!(ok, "{out}{err}");
    let published: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            published["tenants"].as_i64(),
            published["messages"].as_i64()
        ),
        (Some(2), Some(6))
    );

    for slug in ["alpha", "beta"] {
        for admin in ["admin", "second"] {
            let mails = mails_to(&smtp, &format!("{admin}@{slug}.example"), 1).await;
            let subject = mails[0].parsed().subject().unwrap_or_default().to_owned();
            assert!(subject.contains(TITLE), "{subject}");
        }
    }
    let hits = genkan_e2e::eventually(Duration::from_secs(20), || {
        let h = slack.hits();
        (h.len() >= 2).then_some(h)
    })
    .await
    .expect("Slack messages for both tenants");
    let mut paths: Vec<String> = hits.iter().map(|h| h.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/services/alpha/hook", "/services/beta/hook"]);
    assert!(
        hits.iter()
            .all(|h| String::from_utf8_lossy(&h.body).contains(TITLE))
    );

    // Every message is delivered, with its time from publication; the third tenant got none.
    let list = genkan_e2e::eventually(Duration::from_secs(20), || {
        let (_, out, _) = genkan(&server.config, &["notice", "list"]);
        out.contains("6/6 delivered").then_some(out)
    })
    .await
    .expect("notice list shows every delivery");
    assert!(
        list.contains("publication to delivery: median") && !list.contains("median -"),
        "{list}"
    );
    assert!(
        smtp.messages()
            .iter()
            .all(|m| m.rcpt_to.iter().all(|r| !r.contains("gamma")))
    );
    assert!(slack.hits().iter().all(|h| !h.path.contains("gamma")));
    let notices = smtp
        .messages()
        .iter()
        .filter(|m| m.parsed().subject().unwrap_or_default().contains(TITLE))
        .count();
    assert_eq!(notices, 4, "exactly one mail per admin of the two tenants");
}
