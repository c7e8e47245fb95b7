//! One request each, in the controller's terms: a check-in that falls back to the
//! offline desk, the long-poll for a host's reply, and the mapping of client errors.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use genkan_core::wire::v1::{ErrorCode, HostReply, PresentPass};

use crate::client::{ClientError, KioskApi};
use crate::controller::{Answer, Problem};
use crate::offline::OfflineDesk;
use crate::offline::sync::lock;

/// How long a check-in waits for a server believed to be down before the offline
/// desk answers: a LAN server that is back answers well within it.
pub const OFFLINE_BUDGET: Duration = Duration::from_millis(700);
/// Most long-polls for one welcome (each normally waits until the time is up).
const MAX_POLLS: u32 = 20;

/// Turns a client result into the controller's terms.
pub fn answer<T>(result: Result<T, ClientError>, ok: impl FnOnce(T) -> Answer) -> Answer {
    match result {
        Ok(value) => ok(value),
        Err(ClientError::Refused(body)) => Answer::Refused(body),
        Err(ClientError::Unreachable(why)) => Answer::Unreachable(why),
        Err(e @ (ClientError::Protocol(_) | ClientError::InvalidServer(_))) => {
            Answer::Failed(e.to_string())
        }
    }
}

/// The problem a failed request means for the visitor.
pub fn problem(e: &ClientError) -> Problem {
    match e {
        ClientError::Refused(body) => Problem::from_code(body.code),
        ClientError::Unreachable(_) => Problem::Unreachable,
        ClientError::Protocol(_) | ClientError::InvalidServer(_) => Problem::ServerError,
    }
}

/// Checks a visitor in: through the server when it answers, else through the
/// offline desk (roster + journal). `link` is the shared "server answers" flag: a
/// failure here turns it off; only the background probe turns it back on.
pub async fn check_in<A: KioskApi>(
    api: &A,
    desk: &Mutex<OfflineDesk>,
    link: &AtomicBool,
    pass: &PresentPass,
    now: impl Fn() -> DateTime<Utc>,
) -> Answer {
    let believed_down = !link.load(Ordering::Acquire);
    match api
        .check_in(pass, believed_down.then_some(OFFLINE_BUDGET))
        .await
    {
        Ok(visit) => Answer::CheckedIn(visit),
        Err(e) if e.server_down() => {
            if link.swap(false, Ordering::AcqRel) {
                tracing::warn!(error = %e, "the server cannot be reached: offline mode");
            }
            lock(desk).answer(pass, now())
        }
        Err(e) => answer(Err(e), Answer::CheckedIn),
    }
}

/// Long-polls for the host's reply to `visit_id` during `wait` (the welcome screen's
/// time); `None` when no reply came, or the server cannot tell (an older server
/// without the endpoint answers `not_found`).
pub async fn watch_reply<A: KioskApi>(api: &A, visit_id: i64, wait: Duration) -> Option<HostReply> {
    let deadline = tokio::time::Instant::now() + wait;
    for _ in 0..MAX_POLLS {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return None;
        }
        match api.reply(visit_id, left).await {
            Ok(poll) => {
                if let Some(reply) = poll.reply {
                    return Some(reply);
                }
            }
            Err(e) => {
                if e.code() != Some(ErrorCode::NotFound) {
                    tracing::debug!(visit_id, error = %e, "no host reply");
                }
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
