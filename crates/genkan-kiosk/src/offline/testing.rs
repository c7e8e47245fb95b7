//! Test fixtures of the offline desk: rosters built from real passes, and a fake
//! kiosk server behind [`KioskApi`] that remembers answers per request id like the
//! real one (so replays can be checked for duplicates).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use genkan_core::pass::{FallbackCode, PassToken};
use genkan_core::wire::v1::{
    CheckInResponse, CheckOutResponse, ErrorBody, ErrorCode, Heartbeat, HostMatch, HostReply,
    KioskConfig, PresentPass, ReplyPoll, Roster, RosterPass, WalkInRequest,
};

use crate::client::{ClientError, KioskApi};

/// A real pass: its token, code and visitor.
pub(crate) struct Pass {
    pub(crate) token: PassToken,
    pub(crate) code: FallbackCode,
    pub(crate) visitor: String,
}

/// `n` passes with distinct tokens and codes.
pub(crate) fn passes(n: usize) -> Vec<Pass> {
    (0..n)
        .map(|i| Pass {
            token: PassToken::generate(&mut rand::rng()),
            code: FallbackCode::parse(&format!("{:08}", 10_000_000 + i * 7919)).unwrap(),
            visitor: format!("Visitor {i}"),
        })
        .collect()
}

/// A roster listing `passes`, valid from `from` for a day.
pub(crate) fn roster(passes: &[Pass], from: DateTime<Utc>) -> Roster {
    Roster {
        generated_at: from.to_rfc3339(),
        passes: passes
            .iter()
            .map(|p| RosterPass {
                token_hash: p.token.hash().to_hex(),
                visitor_name: p.visitor.clone(),
                host_name: "Tanaka Ichiro".to_owned(),
                locale: "en".to_owned(),
                valid_from: from.to_rfc3339(),
                valid_until: (from + chrono::Duration::days(1)).to_rfc3339(),
                host_reachable: true,
            })
            .collect(),
    }
}

/// A check-in by token as the kiosk sends it.
pub(crate) fn scan(pass: &Pass, request_id: &str) -> PresentPass {
    PresentPass {
        request_id: request_id.to_owned(),
        token: Some(pass.token.encode()),
        code: None,
        offline_at: None,
        token_hash: None,
    }
}

/// A visit the fake server recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) request_id: String,
    pub(crate) token_hash: String,
    pub(crate) offline_at: Option<String>,
}

/// What the fake server holds and how it behaves.
#[derive(Debug, Default)]
pub(crate) struct FakeState {
    /// Every call fails as if the server were unreachable.
    pub(crate) down: bool,
    /// The server goes down after this many more check-ins.
    pub(crate) down_after: Option<usize>,
    /// The kiosk is revoked.
    pub(crate) revoked: bool,
    /// Visits made, in order.
    pub(crate) visits: Vec<Recorded>,
    answered: HashMap<String, i64>,
    inside: HashSet<String>,
    /// What `GET /roster` gives.
    pub(crate) roster: Option<Roster>,
    /// Heartbeats received.
    pub(crate) heartbeats: Vec<Heartbeat>,
    /// Answers of successive reply polls (`Err` for a refusal code).
    pub(crate) replies: VecDeque<Result<Option<HostReply>, ErrorCode>>,
    /// Reply polls received.
    pub(crate) reply_polls: usize,
    /// Staff for host searches.
    pub(crate) staff: Vec<HostMatch>,
}

/// The fake server; clones share it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeServer(pub(crate) Arc<Mutex<FakeState>>);

fn refused(code: ErrorCode) -> ClientError {
    ClientError::Refused(ErrorBody {
        code,
        message: code.to_string(),
        request_id: None,
        fields: Vec::new(),
    })
}

impl FakeServer {
    /// The state, to script or inspect.
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.0.lock().unwrap()
    }

    fn gate(&self) -> Result<(), ClientError> {
        let s = self.state();
        if s.down {
            return Err(ClientError::Unreachable("connection refused".to_owned()));
        }
        if s.revoked {
            return Err(refused(ErrorCode::KioskRevoked));
        }
        Ok(())
    }
}

impl KioskApi for FakeServer {
    async fn config(&self) -> Result<KioskConfig, ClientError> {
        self.gate()?;
        Err(refused(ErrorCode::NotFound))
    }

    async fn check_in(
        &self,
        pass: &PresentPass,
        _budget: Option<Duration>,
    ) -> Result<CheckInResponse, ClientError> {
        self.gate()?;
        let mut s = self.state();
        if let Some(left) = s.down_after.as_mut() {
            if *left == 0 {
                s.down = true;
                return Err(ClientError::Unreachable("connection reset".to_owned()));
            }
            *left -= 1;
        }
        let token_hash = match (&pass.token, &pass.token_hash) {
            (Some(token), None) => PassToken::parse(token).unwrap().hash().to_hex(),
            (None, Some(hash)) if pass.offline_at.is_some() => hash.clone(),
            _ => return Err(refused(ErrorCode::Malformed)),
        };
        let visit_id = match s.answered.get(&pass.request_id) {
            Some(id) => *id,
            None => {
                if !s.inside.insert(token_hash.clone()) {
                    return Err(refused(ErrorCode::AlreadyInside));
                }
                s.visits.push(Recorded {
                    request_id: pass.request_id.clone(),
                    token_hash,
                    offline_at: pass.offline_at.clone(),
                });
                let id = i64::try_from(s.visits.len()).unwrap();
                s.answered.insert(pass.request_id.clone(), id);
                id
            }
        };
        Ok(CheckInResponse {
            visit_id,
            visitor_name: "Visitor".to_owned(),
            visitor_company: None,
            locale: "en".to_owned(),
            host_name: "Tanaka Ichiro".to_owned(),
            site_name: "HQ".to_owned(),
            checked_in_at: pass.offline_at.clone().unwrap_or_default(),
            host_notified: true,
            reception_notified: false,
        })
    }

    async fn check_out(&self, _pass: &PresentPass) -> Result<CheckOutResponse, ClientError> {
        self.gate()?;
        Err(refused(ErrorCode::NotInside))
    }

    async fn roster(&self) -> Result<Roster, ClientError> {
        self.gate()?;
        self.state()
            .roster
            .clone()
            .ok_or_else(|| refused(ErrorCode::NotFound))
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), ClientError> {
        self.gate()?;
        self.state().heartbeats.push(beat.clone());
        Ok(())
    }

    async fn hosts(&self, query: &str) -> Result<Vec<HostMatch>, ClientError> {
        self.gate()?;
        let wanted = genkan_core::search::compact(query);
        Ok(self
            .state()
            .staff
            .iter()
            .filter(|m| genkan_core::search::compact(&m.name).contains(&wanted))
            .take(5)
            .cloned()
            .collect())
    }

    async fn walk_in(&self, _request: &WalkInRequest) -> Result<CheckInResponse, ClientError> {
        self.gate()?;
        Err(refused(ErrorCode::Validation))
    }

    async fn reply(&self, _visit_id: i64, _wait: Duration) -> Result<ReplyPoll, ClientError> {
        self.gate()?;
        let mut s = self.state();
        s.reply_polls += 1;
        match s.replies.pop_front() {
            Some(Ok(reply)) => Ok(ReplyPoll { reply }),
            Some(Err(code)) => Err(refused(code)),
            None => Ok(ReplyPoll { reply: None }),
        }
    }

    async fn logo(&self) -> Result<Vec<u8>, ClientError> {
        self.gate()?;
        Err(refused(ErrorCode::NotFound))
    }
}
