//! The offline journal: check-ins verified while the server was unreachable, in the
//! order they happened, waiting to be replayed.
//!
//! One JSON line per check-in, appended and `fsync`ed before the visitor is welcomed,
//! so a power cut loses nothing that was shown on screen. A line holds no name: the
//! request id (the replay's idempotency key), the pass's token hash and the real
//! arrival time. A crash in the middle of an append leaves at most one torn last
//! line, which is ignored (that visitor was never welcomed). Replayed lines are
//! removed by rewriting the rest to a temporary file that is renamed over the
//! journal; the file is deleted once empty.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Name of the journal inside the kiosk's config directory.
pub const FILE_NAME: &str = "journal.jsonl";

/// One offline check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The request id of the original scan: replaying it twice never makes two visits.
    pub request_id: String,
    /// The roster's token hash of the pass (the token itself is never kept).
    pub token_hash: String,
    /// When the visitor was welcomed: the real arrival time.
    pub offline_at: DateTime<Utc>,
}

/// The journal file of a kiosk.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Journal {
    /// The journal kept in `dir` (the file is created by the first append).
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` and waits until it is on disk.
    pub fn append(&self, entry: &JournalEntry) -> io::Result<()> {
        let created = !self.path.exists();
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        // Repair a torn last line first, or the new entry would be glued to it.
        if file.metadata()?.len() > 0 && !self.ends_with_newline()? {
            file.write_all(b"\n")?;
        }
        file.write_all(&line)?;
        file.sync_all()?;
        if created && let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    fn ends_with_newline(&self) -> io::Result<bool> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::End(-1))?;
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        Ok(last[0] == b'\n')
    }

    /// Every complete entry, oldest first. Unreadable lines (a torn append) are skipped.
    pub fn entries(&self) -> io::Result<Vec<JournalEntry>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<JournalEntry>(&line) {
                Ok(entry) => entries.push(entry),
                Err(e) => tracing::warn!(error = %e, "skipping a torn journal line"),
            }
        }
        Ok(entries)
    }

    /// How many entries wait.
    pub fn len(&self) -> io::Result<usize> {
        Ok(self.entries()?.len())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes the entries whose request ids are in `done` (replayed), keeping the
    /// others in order; deletes the file when none is left.
    pub fn remove(&self, done: &[String]) -> io::Result<()> {
        let rest: Vec<JournalEntry> = self
            .entries()?
            .into_iter()
            .filter(|e| !done.contains(&e.request_id))
            .collect();
        self.rewrite(&rest)
    }

    /// Replaces the journal's content with `entries` (atomically), or deletes it.
    fn rewrite(&self, entries: &[JournalEntry]) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        if entries.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Ok(()) => sync_dir(dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            };
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        for entry in entries {
            let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
            line.push(b'\n');
            file.write_all(&line)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
        sync_dir(dir)
    }

    /// Deletes the journal (the kiosk was revoked: nothing can be replayed any more).
    pub fn delete(&self) -> io::Result<()> {
        self.rewrite(&[])
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn entry(n: u32) -> JournalEntry {
        JournalEntry {
            request_id: format!("req-{n:08}"),
            token_hash: format!("{n:064x}"),
            offline_at: "2026-11-23T01:00:00Z".parse::<DateTime<Utc>>().unwrap()
                + chrono::Duration::seconds(i64::from(n)),
        }
    }

    #[test]
    fn entries_come_back_in_the_order_they_were_appended_and_hold_no_names() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        assert!(journal.is_empty().unwrap());
        for n in 0..5 {
            journal.append(&entry(n)).unwrap();
        }
        let read: Vec<_> = journal.entries().unwrap();
        assert_eq!(read, (0..5).map(entry).collect::<Vec<_>>());
        let text = std::fs::read_to_string(journal.path()).unwrap();
        for field in ["request_id", "token_hash", "offline_at"] {
            assert!(text.contains(field));
        }
        assert_eq!(
            text.lines()
                .next()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .unwrap()
                .as_object()
                .unwrap()
                .len(),
            3,
            "exactly three fields: no name, no token"
        );
        let mode = std::fs::metadata(journal.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_journal_survives_reopening_as_a_crash_would_leave_it() {
        let dir = tempfile::tempdir().unwrap();
        Journal::new(dir.path()).append(&entry(1)).unwrap();
        Journal::new(dir.path()).append(&entry(2)).unwrap();
        // A power cut during a third append leaves half a line.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE_NAME))
            .unwrap();
        file.write_all(br#"{"request_id":"req-0000"#).unwrap();
        drop(file);
        let reopened = Journal::new(dir.path());
        assert_eq!(reopened.entries().unwrap(), vec![entry(1), entry(2)]);
        // The next append starts on a line of its own.
        reopened.append(&entry(4)).unwrap();
        assert_eq!(
            reopened.entries().unwrap(),
            vec![entry(1), entry(2), entry(4)]
        );
    }

    #[test]
    fn replayed_entries_are_removed_keeping_the_order_and_an_empty_journal_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        for n in 0..4 {
            journal.append(&entry(n)).unwrap();
        }
        journal
            .remove(&[entry(0).request_id, entry(2).request_id])
            .unwrap();
        assert_eq!(journal.entries().unwrap(), vec![entry(1), entry(3)]);
        journal
            .remove(&[entry(1).request_id, entry(3).request_id])
            .unwrap();
        assert!(!journal.path().exists(), "an empty journal is deleted");
        assert!(journal.is_empty().unwrap());
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no temporary file left"
        );
    }
}
