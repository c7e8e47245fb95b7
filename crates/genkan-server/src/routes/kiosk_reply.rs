//! `GET /api/kiosk/v1/visits/{visit_id}/reply?wait_ms=N`: the kiosk long-polls for
//! the host's reply to a visit it may see (its own tenant and site). The answer
//! comes as soon as a reply is recorded (the store broadcasts each one), or with
//! `reply: null` when the wait (at most 25 s) ends first.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use genkan_core::id::VisitId;
use genkan_core::wire::v1::{ErrorCode, HostReply, ReplyPoll};
use genkan_store::replies::StoredReply;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppPath, AppQuery, KioskPrincipal};
use crate::state::AppState;

/// Longest wait a kiosk may ask for.
pub const MAX_WAIT_MS: u64 = 25_000;

/// Query of the poll.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollQuery {
    /// How long to wait for a reply, in milliseconds (0: answer at once).
    #[serde(default)]
    pub wait_ms: u64,
}

fn wire(reply: StoredReply) -> HostReply {
    HostReply {
        kind: reply.kind,
        host_name: reply.responder_name,
        at: reply.time_zone.format(reply.at),
    }
}

/// The handler.
pub async fn poll(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
    AppPath(visit_id): AppPath<i64>,
    AppQuery(q): AppQuery<PollQuery>,
) -> ApiResult<Json<ReplyPoll>> {
    let visit = VisitId(visit_id);
    if !state
        .store
        .visit_at_site(kiosk.tenant_id, kiosk.site_id, visit)
        .await?
    {
        return Err(
            ApiError::new(ErrorCode::NotFound).with_message("No such visit at this kiosk's site.")
        );
    }
    // Subscribe before reading, so a reply recorded in between wakes us.
    let mut events = state.store.reply_events();
    if let Some(reply) = state.store.latest_reply(kiosk.tenant_id, visit).await? {
        return Ok(Json(ReplyPoll {
            reply: Some(wire(reply)),
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(q.wait_ms.min(MAX_WAIT_MS));
    loop {
        let woke = tokio::time::timeout_at(deadline, events.recv()).await;
        match woke {
            Err(_) => return Ok(Json(ReplyPoll { reply: None })),
            Ok(Ok(e)) if e.tenant != kiosk.tenant_id || e.visit != visit => continue,
            Ok(Err(RecvError::Closed)) => return Ok(Json(ReplyPoll { reply: None })),
            // Ours, or we lagged behind and may have missed ours: look.
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
        }
        if let Some(reply) = state.store.latest_reply(kiosk.tenant_id, visit).await? {
            return Ok(Json(ReplyPoll {
                reply: Some(wire(reply)),
            }));
        }
    }
}
