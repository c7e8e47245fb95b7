//! The Microsoft Graph client against the local stand-in: delta paging, removals,
//! 410 → full resync, 429 Retry-After, foreign links, subscriptions, tokens.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Duration;
use genkan_calendar::auth::{GRAPH_APP_SCOPE, Grant, OAuthApp, Secret, request_token};
use genkan_calendar::graph::GraphCalendar;
use genkan_calendar::graph::push::{self, MAX_LIFETIME, NotificationKind, Notifications};
use genkan_calendar::{
    AuthError, CalendarRef, CalendarSource as _, Change, FullReason, RetryAfter, SyncError,
};

use crate::graph_standin::{Graph, event};
use crate::helpers::{http, limits, now, serve, window};

fn calendar() -> CalendarRef {
    CalendarRef {
        id: "tanaka@example.co.jp".into(),
        name: None,
        owner_email: Some("tanaka@example.co.jp".into()),
    }
}

fn client(g: &Graph) -> GraphCalendar {
    GraphCalendar::new(http(), &g.api(), Secret::new("good-token"), limits()).unwrap()
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
async fn graph_delta_follows_next_links_to_the_delta_link_then_reports_changes_and_removals() {
    let g = Graph::start().await;
    g.state.lock().unwrap().page_size = 2;
    for i in 0..5 {
        g.put(event(
            &format!("e{i}"),
            now() + Duration::days(i + 1),
            &["v@acme.com"],
        ));
    }
    let c = client(&g);
    let first = c.sync(&calendar(), None, window()).await.unwrap();
    assert_eq!(first.full, Some(FullReason::First));
    assert_eq!(first.requests, 3);
    assert_eq!(first.changes.len(), 5);
    assert!(
        g.state
            .lock()
            .unwrap()
            .prefer_headers
            .iter()
            .all(|p| p.contains("outlook.timezone=\"UTC\"")),
        "times are asked for in UTC"
    );

    g.put(event(
        "e1",
        now() + Duration::days(8),
        &["v@acme.com", "w@acme.com"],
    ));
    g.delete("e2");
    let mut cancelled = event("e3", now() + Duration::days(4), &["v@acme.com"]);
    cancelled["isCancelled"] = serde_json::json!(true);
    g.put(cancelled);
    g.put(event("new", now() + Duration::days(2), &["n@acme.com"]));
    let second = c
        .sync(&calendar(), Some(&first.state), window())
        .await
        .unwrap();
    assert_eq!(second.full, None);
    assert_eq!(
        kinds(&second.changes),
        ["object e1", "removed e2", "removed e3", "object new"]
    );
    let Change::Object { events, .. } = &second.changes[0] else {
        panic!()
    };
    assert_eq!(events[0].attendees.len(), 2);
    let third = c
        .sync(&calendar(), Some(&second.state), window())
        .await
        .unwrap();
    assert!(third.changes.is_empty());
}

#[tokio::test]
async fn graph_expired_sync_state_leads_to_a_full_resync() {
    let g = Graph::start().await;
    g.put(event("a", now() + Duration::days(1), &["v@acme.com"]));
    let c = client(&g);
    let first = c.sync(&calendar(), None, window()).await.unwrap();
    g.put(event("b", now() + Duration::days(2), &["v@acme.com"]));
    g.expire_state();
    let batch = c
        .sync(&calendar(), Some(&first.state), window())
        .await
        .unwrap();
    assert!(batch.token_refused);
    assert_eq!(batch.full, Some(FullReason::TokenRefused));
    assert_eq!(kinds(&batch.changes), ["object a", "object b"]);
    assert_eq!(batch.full_since(), Some(window().start));
}

#[tokio::test]
async fn graph_throttling_is_a_typed_error_with_retry_after() {
    let g = Graph::start().await;
    g.state.lock().unwrap().throttle = 1;
    let err = client(&g)
        .sync(&calendar(), None, window())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        SyncError::Throttled {
            status: 429,
            retry_after: Some(RetryAfter::Delay(d))
        } if d.as_secs() == 2
    ));
    assert!(client(&g).sync(&calendar(), None, window()).await.is_ok());
}

#[tokio::test]
async fn graph_links_to_another_server_are_refused_and_the_token_stays_home() {
    let g = Graph::start().await;
    g.state.lock().unwrap().page_size = 1;
    for id in ["a", "b"] {
        g.put(event(id, now() + Duration::days(1), &["v@acme.com"]));
    }
    let seen: Arc<Mutex<u32>> = Arc::default();
    let counter = seen.clone();
    let thief = serve(axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            *counter.lock().unwrap() += 1;
            "{}"
        }
    }))
    .await;
    g.state.lock().unwrap().hostile_next_link = Some(format!("{thief}/v1.0/steal"));
    let err = client(&g)
        .sync(&calendar(), None, window())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Protocol(_)), "{err:?}");
    assert_eq!(*seen.lock().unwrap(), 0);
}

#[tokio::test]
async fn graph_subscriptions_are_validated_renewed_deleted_and_notifications_checked() {
    let g = Graph::start().await;
    let states: Arc<Mutex<BTreeMap<String, Secret>>> = Arc::default();
    let got: Arc<Mutex<Vec<Notifications>>> = Arc::default();
    let (lookup, sink) = (states.clone(), got.clone());
    let receiver = serve(axum::Router::new().route(
        "/hooks/graph",
        post(move |RawQuery(q): RawQuery, body: String| {
            let (lookup, sink) = (lookup.clone(), sink.clone());
            async move {
                if let Some(token) = push::validation_token(&q.unwrap_or_default()) {
                    return (StatusCode::OK, [("content-type", "text/plain")], token)
                        .into_response();
                }
                let n =
                    push::parse_notifications(&body, |id| lookup.lock().unwrap().get(id).cloned())
                        .unwrap();
                sink.lock().unwrap().push(n);
                StatusCode::ACCEPTED.into_response()
            }
        }),
    ))
    .await;
    let c = client(&g);
    let expires = now() + MAX_LIFETIME;
    let sub = c
        .subscribe(
            &calendar(),
            &format!("{receiver}/hooks/graph"),
            None,
            expires,
        )
        .await
        .unwrap();
    assert_eq!(sub.resource, "/users/tanaka@example.co.jp/events");
    assert_eq!(sub.expires_at, expires);
    states
        .lock()
        .unwrap()
        .insert(sub.id.clone(), sub.client_state.clone());

    g.notify().await;
    let n = got.lock().unwrap().pop().unwrap();
    assert_eq!(n.rejected, 0);
    assert!(
        matches!(&n.accepted[0].kind, NotificationKind::Changed { change_type } if change_type == "updated")
    );
    // A notification with a guessed client state is refused.
    let forged = serde_json::json!({"value": [{"subscriptionId": sub.id, "clientState": "guess", "changeType": "deleted"}]});
    http()
        .post(format!("{receiver}/hooks/graph"))
        .json(&forged)
        .send()
        .await
        .unwrap();
    let n = got.lock().unwrap().pop().unwrap();
    assert_eq!((n.accepted.len(), n.rejected), (0, 1));

    assert!(sub.renewal_due(expires - Duration::hours(1), Duration::days(1)));
    let renewed = c.renew(&sub, expires + Duration::days(1)).await.unwrap();
    assert_eq!(renewed.expires_at, expires + Duration::days(1));
    assert_eq!(renewed.client_state, sub.client_state);
    c.unsubscribe(&sub).await.unwrap();
    assert!(g.state.lock().unwrap().subscriptions.is_empty());
    c.unsubscribe(&sub).await.unwrap();
    assert!(matches!(
        c.renew(&sub, expires).await,
        Err(SyncError::NotFound)
    ));

    // An endpoint that does not echo the token gets no subscription.
    let mute = serve(axum::Router::new().route("/hooks/graph", post(|| async { "ok" }))).await;
    let err = c
        .subscribe(&calendar(), &format!("{mute}/hooks/graph"), None, expires)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Http { status: 400 }), "{err:?}");
}

#[tokio::test]
async fn graph_app_tokens_and_rotating_refresh_tokens() {
    let g = Graph::start().await;
    let app = OAuthApp {
        token_url: format!("{}/contoso/oauth2/v2.0/token", g.base),
        client_id: "app".into(),
        client_secret: Secret::new("app-secret"),
    };
    let set = request_token(
        &http(),
        &app,
        Grant::ClientCredentials {
            scope: GRAPH_APP_SCOPE,
        },
        now(),
        &limits(),
    )
    .await
    .unwrap();
    assert_eq!(set.refresh_token, None);
    let c = GraphCalendar::new(http(), &g.api(), set.access_token, limits()).unwrap();
    let me = c.calendars().await.unwrap();
    assert_eq!(me[0].owner_email.as_deref(), Some("tanaka@example.co.jp"));
    assert_eq!(me[0].name.as_deref(), Some("Tanaka <T>"));

    let old = Secret::new("refresh-0");
    let rotated = request_token(&http(), &app, Grant::RefreshToken(&old), now(), &limits())
        .await
        .unwrap();
    let new = rotated.refresh_token.clone().unwrap();
    assert_ne!(
        new, old,
        "Microsoft rotates refresh tokens: store the new one"
    );
    let err = request_token(&http(), &app, Grant::RefreshToken(&old), now(), &limits())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidGrant));
    assert!(
        request_token(&http(), &app, Grant::RefreshToken(&new), now(), &limits())
            .await
            .is_ok()
    );
    let wrong = OAuthApp {
        client_secret: Secret::new("nope"),
        ..app
    };
    let err = request_token(
        &http(),
        &wrong,
        Grant::ClientCredentials {
            scope: GRAPH_APP_SCOPE,
        },
        now(),
        &limits(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, AuthError::InvalidClient(c) if c == "invalid_client"));
}
