//! The offline roster as the kiosk keeps it: the server's [`Roster`], when it was
//! fetched, and the passes already used offline on this kiosk; verification of a
//! scanned QR token against it; and its encrypted file. A roster holds no verifier of
//! the 8-digit codes (a stolen kiosk would give them all away), so offline the kiosk
//! takes QR passes only.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use genkan_core::pass::PassToken;
use genkan_core::wire::v1::{ErrorCode, Roster, RosterPass};
use serde::{Deserialize, Serialize};

use super::crypto::AtRestKey;

/// Name of the encrypted roster inside the kiosk's config directory.
pub const FILE_NAME: &str = "roster.bin";
/// A roster older than this is not trusted any more (its "tomorrow" has passed); the
/// server refuses replays of arrivals later than this after the roster was issued.
pub const MAX_AGE: Duration = genkan_core::offline::ROSTER_MAX_AGE;
/// How long a pass used offline stays refused on this kiosk (at most until it
/// expires): long enough for a day's visit, short enough for a period pass's next day.
pub const USED_FOR: Duration = Duration::hours(12);

/// A pass used offline on this kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedMark {
    /// The pass.
    pub token_hash: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why the roster refuses a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfflineRefusal {
    /// Not in the roster: unknown, revoked as of the last sync, or another site's.
    #[error("not in the roster")]
    Unknown,
    /// Valid later.
    #[error("not valid yet")]
    NotYetValid,
    /// Valid earlier.
    #[error("expired")]
    Expired,
    /// Already used offline on this kiosk.
    #[error("already used offline on this kiosk")]
    AlreadyUsed,
}

impl OfflineRefusal {
    /// The refusal in the API's terms (what the error screen explains).
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Unknown => ErrorCode::PassUnknown,
            Self::NotYetValid => ErrorCode::PassNotYetValid,
            Self::Expired => ErrorCode::PassExpired,
            Self::AlreadyUsed => ErrorCode::AlreadyInside,
        }
    }
}

/// The roster with what this kiosk did with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RosterState {
    /// As the server sent it.
    pub roster: Roster,
    /// When it was fetched (kiosk clock).
    pub fetched_at: DateTime<Utc>,
    /// Passes used offline here.
    #[serde(default)]
    pub used: Vec<UsedMark>,
    #[serde(skip)]
    index: Option<Index>,
}

#[derive(Debug, Clone, Default)]
struct Index {
    by_token: HashMap<String, usize>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl RosterState {
    /// A freshly fetched roster; marks of passes still listed carry over from `previous`.
    pub fn new(roster: Roster, fetched_at: DateTime<Utc>, previous: Option<&RosterState>) -> Self {
        let used = previous
            .map(|p| {
                p.used
                    .iter()
                    .filter(|m| roster.passes.iter().any(|r| r.token_hash == m.token_hash))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut state = Self {
            roster,
            fetched_at,
            used,
            index: None,
        };
        state.reindex();
        state
    }

    fn reindex(&mut self) {
        let mut index = Index::default();
        for (i, pass) in self.roster.passes.iter().enumerate() {
            index
                .by_token
                .insert(pass.token_hash.to_ascii_lowercase(), i);
        }
        self.index = Some(index);
    }

    fn index(&mut self) -> &Index {
        if self.index.is_none() {
            self.reindex();
        }
        self.index.get_or_insert_with(Index::default)
    }

    /// Whether the roster can still be trusted at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        now - self.fetched_at < MAX_AGE && self.fetched_at <= now + Duration::minutes(5)
    }

    /// When nothing in it can be used any more: its last pass's end, or its age limit.
    pub fn expires_at(&self) -> DateTime<Utc> {
        let last_valid = self
            .roster
            .passes
            .iter()
            .filter_map(|p| parse_time(&p.valid_until))
            .max()
            .unwrap_or(self.fetched_at);
        last_valid.min(self.fetched_at + MAX_AGE)
    }

    /// Looks the scanned pass up and checks it may enter at `now` on this kiosk; does
    /// not mark it.
    pub fn verify(
        &mut self,
        token: &PassToken,
        now: DateTime<Utc>,
    ) -> Result<&RosterPass, OfflineRefusal> {
        if !self.usable_at(now) {
            return Err(OfflineRefusal::Unknown);
        }
        let found = self.index().by_token.get(&token.hash().to_hex()).copied();
        let pass = found
            .and_then(|i| self.roster.passes.get(i))
            .ok_or(OfflineRefusal::Unknown)?;
        let (Some(from), Some(until)) =
            (parse_time(&pass.valid_from), parse_time(&pass.valid_until))
        else {
            return Err(OfflineRefusal::Unknown);
        };
        if now < from {
            return Err(OfflineRefusal::NotYetValid);
        }
        if now >= until {
            return Err(OfflineRefusal::Expired);
        }
        let used = self.used.iter().any(|m| {
            m.token_hash.eq_ignore_ascii_case(&pass.token_hash)
                && now < (m.at + USED_FOR).min(until)
        });
        if used {
            return Err(OfflineRefusal::AlreadyUsed);
        }
        Ok(pass)
    }

    /// Records that `token_hash` was used offline at `at`.
    pub fn mark_used(&mut self, token_hash: &str, at: DateTime<Utc>) {
        self.used.retain(|m| m.token_hash != token_hash);
        self.used.push(UsedMark {
            token_hash: token_hash.to_owned(),
            at,
        });
    }
}

/// The encrypted roster file of a kiosk.
#[derive(Debug, Clone)]
pub struct RosterFile {
    path: PathBuf,
    key: AtRestKey,
    context: String,
}

impl RosterFile {
    /// The roster file in `dir`, sealed for the kiosk holding `credential`.
    pub fn new(dir: &Path, credential: &str, kiosk_id: i64) -> Self {
        Self {
            path: dir.join(FILE_NAME),
            key: AtRestKey::derive(credential, "roster"),
            context: format!("genkan-kiosk roster v1 kiosk:{kiosk_id}"),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored roster; `None` when there is none, or it cannot be read (another
    /// credential's, damaged: it is deleted). A roster written before rosters lost
    /// their code digests is written again without them at once.
    pub fn load(&self) -> Option<RosterState> {
        let sealed = std::fs::read(&self.path).ok()?;
        let plain = self.key.open(&sealed, &self.context).ok();
        let state = plain
            .as_deref()
            .and_then(|plain| serde_json::from_slice::<RosterState>(plain).ok());
        match state {
            Some(mut state) => {
                state.reindex();
                let legacy = plain.is_some_and(|p| p.windows(9).any(|w| w == b"code_salt"));
                if legacy && let Err(e) = self.save(&state) {
                    tracing::warn!(error = %e, "cannot rewrite the roster without code digests; deleting it");
                    self.delete();
                    return None;
                }
                Some(state)
            }
            None => {
                tracing::warn!(file = %self.path.display(), "unreadable roster; deleting it");
                self.delete();
                None
            }
        }
    }

    /// Writes `state` sealed, atomically (temporary file, fsync, rename).
    pub fn save(&self, state: &RosterState) -> std::io::Result<()> {
        let plain = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        let sealed = self.key.seal(&plain, &self.context);
        let tmp = self.path.with_extension("bin.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&sealed)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Deletes the file (no longer needed: expired, or the kiosk was revoked).
    pub fn delete(&self) {
        match std::fs::remove_file(&self.path) {
            Ok(()) => tracing::info!(file = %self.path.display(), "roster deleted"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot delete the roster")
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
