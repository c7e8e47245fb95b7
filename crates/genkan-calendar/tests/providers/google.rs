//! The Google Calendar client against the local stand-in: paging, sync tokens,
//! 410 → full resync, 429 Retry-After, cancellations, push channels, tokens.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::routing::post;
use chrono::Duration;
use genkan_calendar::auth::{
    GOOGLE_CALENDAR_SCOPE, Grant, OAuthApp, Secret, ServiceAccountKey, request_token,
    service_account_token,
};
use genkan_calendar::google::GoogleCalendar;
use genkan_calendar::google::push::{self, PushError, ResourceState};
use genkan_calendar::{
    AuthError, CalendarRef, CalendarSource as _, Change, FullReason, RetryAfter, SyncError,
};
use genkan_core::calendar::{Known, SyncAction, plan_batch};

use crate::google_standin::{Google, event};
use crate::helpers::{decide_for, http, limits, now, serve, window};

const HOST: &str = "tanaka@example.co.jp";

fn calendar() -> CalendarRef {
    CalendarRef {
        id: HOST.into(),
        name: None,
        owner_email: Some(HOST.into()),
    }
}

fn client(g: &Google, token: &str) -> GoogleCalendar {
    GoogleCalendar::new(http(), &g.api(), Secret::new(token), limits()).unwrap()
}

fn kinds(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| match c {
            Change::Object { source_id, .. } => format!("object {source_id}"),
            Change::Removed { source_id } => format!("removed {source_id}"),
        })
        .collect()
}

#[tokio::test]
async fn google_first_sync_follows_every_page_then_the_sync_token_reports_only_changes() {
    let g = Google::start().await;
    g.state.lock().unwrap().page_size = 2;
    for i in 0..5 {
        g.put(event(
            &format!("e{i}"),
            now() + Duration::days(i + 1),
            &["v@acme.com"],
        ));
    }
    // Outside the window: not listed by the first sync.
    g.put(event("far", now() + Duration::days(200), &["v@acme.com"]));
    let c = client(&g, "good-token");
    let first = c.sync(&calendar(), None, window()).await.unwrap();
    assert_eq!(first.full, Some(FullReason::First));
    assert_eq!(first.requests, 3, "five events in pages of two");
    assert_eq!(
        kinds(&first.changes),
        [
            "object e0",
            "object e1",
            "object e2",
            "object e3",
            "object e4"
        ]
    );

    g.put(event("e1", now() + Duration::days(9), &["v@acme.com"]));
    g.cancel("e2");
    g.put(event("new", now() + Duration::days(3), &["w@acme.com"]));
    let second = c
        .sync(&calendar(), Some(&first.state), window())
        .await
        .unwrap();
    assert_eq!(second.full, None);
    assert_eq!(
        kinds(&second.changes),
        ["object e1", "removed e2", "object new"]
    );
    let last_query = g.state.lock().unwrap().queries.last().cloned().unwrap();
    assert!(
        last_query.contains("syncToken=") && !last_query.contains("timeMin"),
        "{last_query}"
    );
    let third = c
        .sync(&calendar(), Some(&second.state), window())
        .await
        .unwrap();
    assert!(third.changes.is_empty());
}

#[tokio::test]
async fn google_gone_sync_token_leads_to_a_full_resync_that_cancels_what_is_missing() {
    let g = Google::start().await;
    for id in ["a", "b", "c"] {
        g.put(event(id, now() + Duration::days(2), &["v@acme.com"]));
    }
    let c = client(&g, "good-token");
    let first = c.sync(&calendar(), None, window()).await.unwrap();
    let plan = plan_batch(
        &first.changes,
        first.full_since(),
        &BTreeMap::new(),
        |e| decide_for(HOST, e),
        now(),
        Duration::days(60),
    );
    let known: BTreeMap<_, _> = plan
        .items
        .iter()
        .map(|i| {
            let snapshot = i.snapshot.clone().unwrap();
            (
                i.key.clone(),
                Known {
                    snapshot,
                    live: true,
                    edits: Default::default(),
                },
            )
        })
        .collect();
    assert_eq!(known.len(), 3);
    // The token expires, and meanwhile `b` was deleted and forgotten by Google.
    g.forget("b");
    {
        let mut s = g.state.lock().unwrap();
        s.expired_before = s.seq + 1;
    }
    let batch = c
        .sync(&calendar(), Some(&first.state), window())
        .await
        .unwrap();
    assert!(batch.token_refused);
    assert_eq!(batch.full, Some(FullReason::TokenRefused));
    assert_eq!(kinds(&batch.changes), ["object a", "object c"]);
    let plan = plan_batch(
        &batch.changes,
        batch.full_since(),
        &known,
        |e| decide_for(HOST, e),
        now(),
        Duration::days(60),
    );
    assert_eq!(plan.items.len(), 1, "{plan:?}");
    assert_eq!(plan.items[0].key.uid, "b@google.com");
    assert_eq!(plan.items[0].actions, [SyncAction::Cancel]);
}

#[tokio::test]
async fn google_throttling_and_bad_tokens_are_typed_errors() {
    let g = Google::start().await;
    g.state.lock().unwrap().throttle = 1;
    let c = client(&g, "good-token");
    let err = c.sync(&calendar(), None, window()).await.unwrap_err();
    match &err {
        SyncError::Throttled {
            status: 429,
            retry_after,
        } => {
            assert_eq!(
                *retry_after,
                Some(RetryAfter::Delay(std::time::Duration::from_secs(7)))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.needs_attention());
    assert!(
        c.sync(&calendar(), None, window()).await.is_ok(),
        "the next try passes"
    );
    let err = client(&g, "stolen")
        .sync(&calendar(), None, window())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Unauthorized) && err.needs_attention());
}

#[tokio::test]
async fn google_calendar_list_follows_pages_and_keeps_names_as_data() {
    let g = Google::start().await;
    let list = client(&g, "good-token").calendars().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].owner_email.as_deref(), Some(HOST));
    assert_eq!(list[1].name.as_deref(), Some("3F <Room>"));
    assert_eq!(list[1].owner_email, None);
}

#[tokio::test]
async fn google_push_channels_are_verified_by_token_and_can_be_stopped() {
    let g = Google::start().await;
    let received: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let sink = received.clone();
    let receiver = serve(axum::Router::new().route(
        "/hooks/google",
        post(move |headers: HeaderMap| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(headers);
                "ok"
            }
        }),
    ))
    .await;
    let c = client(&g, "good-token");
    let channel = c
        .watch(
            &calendar(),
            &format!("{receiver}/hooks/google"),
            Duration::days(7),
        )
        .await
        .unwrap();
    assert_eq!(channel.expires_at, Some(now() + Duration::days(7)));
    assert!(!channel.renewal_due(now(), Duration::days(1)));
    assert!(channel.renewal_due(
        now() + Duration::days(6) + Duration::hours(1),
        Duration::days(1)
    ));

    g.notify().await;
    let headers = received.lock().unwrap().pop().unwrap();
    assert_eq!(push::channel_id(&headers), Some(channel.id.as_str()));
    let note = push::verify(&headers, &channel).unwrap();
    assert_eq!(note.state, ResourceState::Exists);
    // A forged notification (right channel id, guessed token) is refused.
    let mut forged = headers.clone();
    forged.insert("x-goog-channel-token", "guess".parse().unwrap());
    assert_eq!(push::verify(&forged, &channel), Err(PushError::BadToken));

    c.stop(&channel).await.unwrap();
    assert!(g.state.lock().unwrap().channels.is_empty());
    c.stop(&channel).await.unwrap();
}

#[tokio::test]
async fn google_tokens_refresh_and_service_accounts_act_for_hosts_of_the_domain() {
    let g = Google::start().await;
    let token_url = format!("{}/token", g.base);
    let app = OAuthApp {
        token_url: token_url.clone(),
        client_id: "client".into(),
        client_secret: Secret::new("client-secret"),
    };
    let refresh = Secret::new("good-refresh");
    let set = request_token(
        &http(),
        &app,
        Grant::RefreshToken(&refresh),
        now(),
        &limits(),
    )
    .await
    .unwrap();
    assert_eq!(set.access_token.expose(), "user-token");
    assert_eq!(
        set.refresh_token.as_ref(),
        Some(&refresh),
        "kept when not rotated"
    );
    assert!(set.is_fresh(now()) && !set.is_fresh(now() + Duration::hours(1)));
    let revoked = Secret::new("revoked");
    let err = request_token(
        &http(),
        &app,
        Grant::RefreshToken(&revoked),
        now(),
        &limits(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AuthError::InvalidGrant) && err.needs_attention());

    let key = ServiceAccountKey::from_json(
        &serde_json::json!({
            "type": "service_account",
            "client_email": "sa@genkan-test.iam.gserviceaccount.com",
            "private_key_id": "k1",
            "private_key": include_str!("keys/test-service-account.pem"),
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string(),
    )
    .unwrap();
    let scopes = [GOOGLE_CALENDAR_SCOPE];
    let set = service_account_token(
        &http(),
        &key,
        "sato@example.co.jp",
        &scopes,
        Some(&token_url),
        now(),
        &limits(),
    )
    .await
    .unwrap();
    assert_eq!(set.access_token.expose(), "sa-token-for-sato@example.co.jp");
    g.put(event("x", now() + Duration::days(1), &["v@acme.com"]));
    let c = GoogleCalendar::new(http(), &g.api(), set.access_token, limits()).unwrap();
    assert_eq!(
        c.sync(&calendar(), None, window())
            .await
            .unwrap()
            .changes
            .len(),
        1
    );
    let err = service_account_token(
        &http(),
        &key,
        "someone@acme.com",
        &scopes,
        Some(&token_url),
        now(),
        &limits(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidClient(c) if c == "unauthorized_client"),
        "{err:?}"
    );
}
