//! A real HTTP receiver standing in for Slack, Teams or a webhook target: records
//! every request and answers as told (200, 500, 429 with Retry-After, or hangs).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 "ok".
    Ok,
    /// 500.
    ServerError,
    /// 429 with `Retry-After: n`.
    TooMany(u64),
    /// Never answers.
    Hang,
    /// 302 to `http://127.0.0.1:<port>/` (redirects must not be followed).
    Redirect(u16),
    /// 200 with the JSON a real API would give for the path: Slack Web API
    /// (`users.lookupByEmail`, `conversations.open`, `chat.postMessage`) and
    /// Chatwork (`/rooms/{id}/messages`).
    Api,
}

/// One received request.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Request path.
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Hit {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct Shared {
    answer: Arc<Mutex<Answer>>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// Base URL, e.g. `http://127.0.0.1:1234`.
    pub url: String,
    shared: Shared,
}

impl Receiver {
    /// Starts a receiver answering `answer` to every POST.
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            answer: Arc::new(Mutex::new(answer)),
            hits: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// Changes the answer for later requests.
    pub fn set_answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    /// Requests so far (including those answered with errors).
    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }
}

async fn handle(
    State(shared): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = std::time::Instant::now();
    let path = uri.path().to_owned();
    shared.hits.lock().unwrap().push(Hit {
        path: path.clone(),
        headers,
        body,
        at,
    });
    let answer = *shared.answer.lock().unwrap();
    match answer {
        Answer::Redirect(port) => (
            StatusCode::FOUND,
            [("location", format!("http://127.0.0.1:{port}/"))],
        )
            .into_response(),
        Answer::Api => {
            let json = if path.ends_with("/users.lookupByEmail") {
                r#"{"ok":true,"user":{"id":"U0TEST"}}"#
            } else if path.ends_with("/conversations.open") {
                r#"{"ok":true,"channel":{"id":"D0TEST"}}"#
            } else if path.ends_with("/chat.postMessage") {
                r#"{"ok":true,"ts":"1700000000.000100"}"#
            } else if path.contains("/rooms/") {
                r#"{"message_id":"1234"}"#
            } else {
                r#"{"ok":true}"#
            };
            (StatusCode::OK, [("content-type", "application/json")], json).into_response()
        }
        Answer::Ok => (StatusCode::OK, "ok").into_response(),
        Answer::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Answer::TooMany(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Answer::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}
