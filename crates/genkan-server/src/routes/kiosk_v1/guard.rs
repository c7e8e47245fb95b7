//! The limits in front of every pass a kiosk presents: a typed code takes an attempt
//! of its kiosk and of its address *before* it is looked up (one step, so a burst of
//! parallel guesses gets no more lookups than the limit), and keeps it when refused
//! for any reason (unknown, other site, expired, cancelled, not yet valid, already
//! inside…), so refusals are no free oracle. Refused journal replays and unknown QR
//! tokens count toward the kiosk's and the address's failure limits.

use genkan_core::wire::v1::ErrorCode;
use genkan_store::kiosks::KioskAuth;
use genkan_store::visits::{PassKey, Presented};

use crate::error::{ApiError, ApiResult};
use crate::ratelimit::Attempt;
use crate::request::ClientIp;
use crate::state::AppState;

/// What a presentation took from the limits, to settle once it is answered.
#[derive(Debug)]
#[must_use = "settle the ticket with the answer"]
pub(super) struct Ticket {
    kiosk_key: String,
    ip_key: String,
    key: PassKey,
    replay: bool,
    /// The code attempts taken (at the kiosk, at the address).
    code: Option<(Attempt, Attempt)>,
}

/// Admits a presentation or refuses it with `rate_limited`: refused when the kiosk
/// or the address failed too often; a code also takes its attempts now.
pub(super) fn admit(
    state: &AppState,
    kiosk: &KioskAuth,
    ip: ClientIp,
    presented: &Presented,
) -> ApiResult<Ticket> {
    let l = &state.limits;
    let kiosk_key = kiosk.kiosk_id.to_string();
    let ip_key = ip.to_string();
    let failing = [
        l.kiosk_failures.blocked(&kiosk_key),
        l.ip_failures.blocked(&ip_key),
    ];
    if let Some(wait) = failing.into_iter().flatten().max() {
        return Err(ApiError::rate_limited(wait));
    }
    let code = match presented.key {
        PassKey::Code(_) => {
            let at_kiosk = l
                .code_attempts
                .acquire(&kiosk_key)
                .map_err(ApiError::rate_limited)?;
            match l.code_attempts_ip.acquire(&ip_key) {
                Ok(at_ip) => Some((at_kiosk, at_ip)),
                Err(wait) => {
                    // Not looked up: the kiosk's attempt was not used.
                    l.code_attempts.refund(at_kiosk);
                    return Err(ApiError::rate_limited(wait));
                }
            }
        }
        PassKey::Token(_) | PassKey::Visitor(_) => None,
    };
    Ok(Ticket {
        kiosk_key,
        ip_key,
        key: presented.key,
        replay: presented.offline_at.is_some(),
        code,
    })
}

/// Whether a refusal says something about the pass (as opposed to the kiosk or the
/// server): those are what guessing learns from.
fn about_the_pass(code: ErrorCode) -> bool {
    !matches!(
        code,
        ErrorCode::KioskRevoked
            | ErrorCode::ReadOnly
            | ErrorCode::Unavailable
            | ErrorCode::Internal
            | ErrorCode::Unauthorized
            | ErrorCode::Forbidden
    )
}

impl Ticket {
    /// Settles the ticket with the store's answer: a success gives its code attempts
    /// back; a refused code or replay, or an unknown token, counts as a failure.
    pub(super) fn settle(self, state: &AppState, answer: Result<(), ErrorCode>) {
        let l = &state.limits;
        let refusal = match answer {
            Ok(()) => {
                if let Some((at_kiosk, at_ip)) = self.code {
                    l.code_attempts.refund(at_kiosk);
                    l.code_attempts_ip.refund(at_ip);
                }
                return;
            }
            Err(code) => code,
        };
        let counts = match self.key {
            PassKey::Code(_) => about_the_pass(refusal),
            _ if self.replay => about_the_pass(refusal),
            PassKey::Token(_) | PassKey::Visitor(_) => refusal == ErrorCode::PassUnknown,
        };
        if counts {
            l.kiosk_failures.record(&self.kiosk_key);
            l.ip_failures.record(&self.ip_key);
        }
    }
}

/// Takes a walk-in from the kiosk's allowance before anything is made, or refuses
/// with `rate_limited` and words for the visitor.
pub(super) fn admit_walk_in(state: &AppState, kiosk: &KioskAuth) -> ApiResult<()> {
    state
        .limits
        .walk_ins
        .acquire(&kiosk.kiosk_id.to_string())
        // A walk-in counts whatever its outcome: the attempt is kept.
        .map(drop)
        .map_err(|wait| {
            ApiError::rate_limited(wait).with_message(
                "Too many walk-in registrations at this kiosk in a short time; \
                 please ask at the reception desk.",
            )
        })
}
