//! Reception without the server: the roster kept encrypted while online, scanned
//! passes verified against it and written to a durable journal while offline, and the
//! journal replayed in order, idempotently, once the server is back. Typed codes need
//! the server: the roster holds nothing to check them against.
//!
//! - [`crypto`]: the at-rest key derived from the device credential.
//! - [`roster`]: the roster, verification, the "used offline here" marks, its file.
//! - [`journal`]: the fsync'ed journal of offline check-ins (no names in it).
//! - [`sync`]: replaying the journal and refreshing the roster through the API.
//!
//! Nothing personal outlives its use: the roster is deleted once no pass in it can be
//! used any more (or the kiosk is revoked), the journal once it is empty.

pub mod crypto;
pub mod journal;
pub mod roster;
pub mod sync;
#[cfg(test)]
pub(crate) mod testing;

use std::path::Path;

use chrono::{DateTime, Utc};
use genkan_core::pass::PassToken;
use genkan_core::wire::v1::{ErrorBody, PresentPass, Roster};

use crate::controller::{Answer, OfflineWelcome};
use journal::{Journal, JournalEntry};
use roster::{OfflineRefusal, RosterFile, RosterState};

/// The kiosk's offline desk: roster and journal in its config directory.
#[derive(Debug)]
pub struct OfflineDesk {
    file: RosterFile,
    roster: Option<RosterState>,
    journal: Journal,
}

/// Why an offline check-in could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The roster refuses the pass.
    #[error("{0}")]
    Refused(OfflineRefusal),
    /// A typed code: only the server can check one (rosters hold no code verifier).
    #[error("typed codes need the server")]
    CodeNeedsServer,
    /// The pass is neither a token nor a code.
    #[error("no token or code to verify")]
    NothingToVerify,
    /// The journal could not be written: the visitor must not be welcomed.
    #[error("the offline journal cannot be written: {0}")]
    Journal(#[from] std::io::Error),
}

impl OfflineDesk {
    /// The desk of the kiosk `kiosk_id` holding `credential`, with files in `dir`.
    /// Loads the roster if one is stored (and still readable).
    pub fn open(dir: &Path, credential: &str, kiosk_id: i64) -> Self {
        let file = RosterFile::new(dir, credential, kiosk_id);
        let roster = file.load();
        Self {
            file,
            roster,
            journal: Journal::new(dir),
        }
    }

    /// The roster, if one is held.
    pub fn roster(&self) -> Option<&RosterState> {
        self.roster.as_ref()
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Offline check-ins waiting (0 when the journal cannot be read).
    pub fn journal_len(&self) -> u32 {
        self.journal
            .len()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Keeps a freshly fetched roster (replacing the previous one, whose "used here"
    /// marks carry over for passes still listed).
    pub fn store_roster(&mut self, roster: Roster, now: DateTime<Utc>) -> std::io::Result<()> {
        let state = RosterState::new(roster, now, self.roster.as_ref());
        self.file.save(&state)?;
        self.roster = Some(state);
        Ok(())
    }

    /// Checks a visitor in without the server: verifies the scanned pass against the
    /// roster, journals the check-in (on disk before this returns) and marks the pass
    /// used here. The journal keeps the request id of `pass`, so if the server did get
    /// the original request after all, the replay gets that answer back, not a second
    /// visit. A typed code is refused: only the server checks codes.
    pub fn check_in(
        &mut self,
        pass: &PresentPass,
        now: DateTime<Utc>,
    ) -> Result<OfflineWelcome, OfflineError> {
        let token = match (pass.token.as_deref(), pass.code.as_deref()) {
            (Some(text), _) => PassToken::parse(text).map_err(|_| OfflineError::NothingToVerify)?,
            (None, Some(_)) => return Err(OfflineError::CodeNeedsServer),
            (None, None) => return Err(OfflineError::NothingToVerify),
        };
        let roster = self
            .roster
            .as_mut()
            .ok_or(OfflineError::Refused(OfflineRefusal::Unknown))?;
        let found = roster
            .verify(&token, now)
            .map_err(OfflineError::Refused)?
            .clone();
        // The journal is the durable record of use: a mark lost in a crash between
        // journaling and saving the roster still refuses the pass.
        let journaled = self.journal.entries()?.iter().any(|e| {
            e.token_hash.eq_ignore_ascii_case(&found.token_hash)
                && now - e.offline_at < roster::USED_FOR
        });
        if journaled {
            return Err(OfflineError::Refused(OfflineRefusal::AlreadyUsed));
        }
        self.journal.append(&JournalEntry {
            request_id: pass.request_id.clone(),
            token_hash: found.token_hash.clone(),
            offline_at: now,
        })?;
        roster.mark_used(&found.token_hash, now);
        if let Err(e) = self.file.save(roster) {
            // The journal has it; at worst the mark is lost on a restart.
            tracing::warn!(error = %e, "cannot save the roster's used marks");
        }
        Ok(OfflineWelcome {
            visitor_name: found.visitor_name,
            host_name: found.host_name,
            locale: found.locale,
            offline_at: now,
            host_reachable: found.host_reachable,
        })
    }

    /// The controller's answer to an offline check-in.
    pub fn answer(&mut self, pass: &PresentPass, now: DateTime<Utc>) -> Answer {
        match self.check_in(pass, now) {
            Ok(welcome) => {
                tracing::info!(request_id = %pass.request_id, "checked in offline; journaled");
                Answer::OfflineCheckedIn(welcome)
            }
            Err(OfflineError::Refused(refusal)) => Answer::Refused(ErrorBody {
                code: refusal.code(),
                message: format!("offline: {refusal}"),
                request_id: None,
                fields: Vec::new(),
            }),
            Err(OfflineError::CodeNeedsServer) => {
                tracing::info!(request_id = %pass.request_id, "a typed code needs the server");
                Answer::CodeNeedsConnection
            }
            Err(e) => {
                tracing::error!(error = %e, "offline check-in impossible");
                Answer::Unreachable(e.to_string())
            }
        }
    }

    /// Deletes what is no longer needed at `now`: an expired roster, an empty journal.
    pub fn tidy(&mut self, now: DateTime<Utc>) {
        if self
            .roster
            .as_ref()
            .is_some_and(|r| r.expires_at() <= now || !r.usable_at(now))
        {
            self.roster = None;
            self.file.delete();
        }
        if self.journal.is_empty().unwrap_or(false) {
            let _ = self.journal.delete();
        }
    }

    /// Deletes roster and journal: the kiosk was revoked, nothing can be replayed.
    pub fn forget_all(&mut self) {
        self.roster = None;
        self.file.delete();
        if let Err(e) = self.journal.delete() {
            tracing::warn!(error = %e, "cannot delete the journal");
        }
    }
}

#[cfg(test)]
mod tests;
