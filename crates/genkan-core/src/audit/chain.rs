//! Walking stored chains row by row: which link rule each row follows (unkeyed up
//! to the boundary recorded when its chain was keyed, keyed after it), and the first
//! row, or missing tail, that breaks the chain.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{AuditEvent, ChainKey, GENESIS};

/// How the rows of a database are linked.
#[derive(Debug, Clone)]
pub enum Keying {
    /// A database from before chains were keyed (an old backup): every link is
    /// the unkeyed hash of the first version.
    Unkeyed,
    /// Keyed links under `key`; a chain that held rows when the database was keyed
    /// keeps unkeyed links up to its [`Boundary`].
    Keyed {
        /// The audit key.
        key: ChainKey,
        /// Boundaries by chain.
        boundaries: BTreeMap<i64, Boundary>,
    },
}

/// Where a chain's keyed part starts: its last row at the time it was keyed,
/// sealed under the audit key so that it can be neither moved nor forged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// The last unkeyed row's sequence number.
    pub seq: i64,
    /// That row's link.
    pub link: Vec<u8>,
    /// [`Boundary::seal`] of the above.
    pub seal: Vec<u8>,
}

impl Boundary {
    /// The seal of a boundary at `seq` with `link` in `chain`.
    pub fn seal(key: &ChainKey, chain: i64, seq: i64, link: &[u8]) -> [u8; 32] {
        key.mac(&[
            b"genkan/audit-boundary/v1\0",
            &chain.to_be_bytes(),
            &seq.to_be_bytes(),
            link,
        ])
    }
}

/// One stored row, as read back.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// Row id.
    pub row_id: i64,
    /// Chain (tenant id, 0 for the system chain).
    pub chain: i64,
    /// Sequence number in the chain.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
    /// The stored link of the previous row.
    pub prev: Vec<u8>,
    /// The stored link of this row.
    pub link: Vec<u8>,
}

/// The first place where a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The chain (tenant id, 0 for system).
    pub chain: i64,
    /// The first bad row, or `None` when rows are missing at the end of the chain.
    pub row_id: Option<i64>,
    /// The sequence number where the break was found.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row_id {
            Some(id) => write!(
                f,
                "chain {} row id {} (seq {}): {}",
                self.chain, id, self.seq, self.reason
            ),
            None => write!(
                f,
                "chain {} at seq {}: {}",
                self.chain, self.seq, self.reason
            ),
        }
    }
}

/// Checks rows given in (chain, seq) order.
#[derive(Debug)]
pub struct Walker {
    keying: Keying,
    current: Option<i64>,
    expected_seq: i64,
    expected_prev: [u8; 32],
    /// Chains seen so far (to find boundaries of chains without any row).
    seen: Vec<i64>,
}

impl Walker {
    /// A walker for a database keyed as `keying`.
    pub fn new(keying: Keying) -> Self {
        Self {
            keying,
            current: None,
            expected_seq: 1,
            expected_prev: GENESIS,
            seen: Vec::new(),
        }
    }

    fn boundary(&self, chain: i64) -> Option<&Boundary> {
        match &self.keying {
            Keying::Unkeyed => None,
            Keying::Keyed { boundaries, .. } => boundaries.get(&chain),
        }
    }

    /// Rows recorded at a chain's boundary that are gone from its end.
    fn check_end(&self, chain: i64, last_seq: i64) -> Result<(), Break> {
        match self.boundary(chain) {
            Some(b) if b.seq > last_seq => Err(Break {
                chain,
                row_id: None,
                seq: last_seq + 1,
                reason: format!(
                    "rows {}..={} existed when the chain was keyed and are missing (removed tail)",
                    last_seq + 1,
                    b.seq
                ),
            }),
            _ => Ok(()),
        }
    }

    fn start_chain(&mut self, chain: i64) -> Result<(), Break> {
        if let Some(previous) = self.current {
            self.check_end(previous, self.expected_seq - 1)?;
        }
        self.current = Some(chain);
        self.seen.push(chain);
        self.expected_seq = 1;
        self.expected_prev = GENESIS;
        if let Keying::Keyed { key, boundaries } = &self.keying
            && let Some(b) = boundaries.get(&chain)
            && Boundary::seal(key, chain, b.seq, &b.link).as_slice() != b.seal.as_slice()
        {
            return Err(Break {
                chain,
                row_id: None,
                seq: b.seq,
                reason: "the record of where this chain's keyed part starts does not match its seal (altered, or sealed without the audit key)".to_owned(),
            });
        }
        Ok(())
    }

    /// Checks the next row.
    pub fn row(&mut self, row: &StoredRow) -> Result<(), Break> {
        if self.current != Some(row.chain) {
            self.start_chain(row.chain)?;
        }
        let broken = |reason: &str| Break {
            chain: row.chain,
            row_id: Some(row.row_id),
            seq: row.seq,
            reason: reason.to_owned(),
        };
        if row.seq != self.expected_seq {
            return Err(broken("a row is missing before this one"));
        }
        if row.prev.as_slice() != self.expected_prev.as_slice() {
            return Err(broken("previous-hash link does not match"));
        }
        let boundary = self.boundary(row.chain).cloned();
        match &self.keying {
            Keying::Keyed { key, .. } if boundary.as_ref().is_none_or(|b| row.seq > b.seq) => {
                let mac = row.event.chain_mac(key, row.seq, &self.expected_prev);
                if row.link.as_slice() != mac.as_slice() {
                    return Err(broken(
                        "row content does not match its MAC (changed, or re-linked without the audit key)",
                    ));
                }
            }
            _ => {
                let hash = row.event.chain_hash(row.seq, &self.expected_prev);
                if row.link.as_slice() != hash.as_slice() {
                    return Err(broken("row content does not match its hash"));
                }
                if let Some(b) = boundary.filter(|b| b.seq == row.seq)
                    && b.link != row.link
                {
                    return Err(broken(
                        "the chain up to this row differs from the one recorded when it was keyed",
                    ));
                }
            }
        }
        self.expected_prev = row
            .link
            .as_slice()
            .try_into()
            .map_err(|_| broken("the stored link has the wrong length"))?;
        self.expected_seq += 1;
        Ok(())
    }

    /// Ends the walk: a chain whose rows recorded at keying are gone (at its end,
    /// or entirely) breaks here.
    pub fn finish(self) -> Result<(), Break> {
        if let Some(chain) = self.current {
            self.check_end(chain, self.expected_seq - 1)?;
        }
        if let Keying::Keyed { boundaries, .. } = &self.keying
            && let Some((chain, _)) = boundaries.iter().find(|(c, _)| !self.seen.contains(c))
        {
            return self.check_end(*chain, 0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Outcome;
    use super::*;

    fn event(n: i64) -> AuditEvent {
        AuditEvent {
            tenant_id: Some(3),
            at: "2026-11-23T01:02:03Z".parse().unwrap(),
            actor_kind: "user".into(),
            actor_id: Some(5),
            action: format!("action.{n}"),
            target_kind: "user".into(),
            target_id: None,
            outcome: Outcome::Ok,
            ip: None,
            request_id: None,
            details: "{}".into(),
        }
    }

    /// A chain of `n` rows, the first `unkeyed` of them with unkeyed links.
    fn chain(key: &ChainKey, n: i64, unkeyed: i64) -> Vec<StoredRow> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let event = event(seq);
                let link = if seq <= unkeyed {
                    event.chain_hash(seq, &prev)
                } else {
                    event.chain_mac(key, seq, &prev)
                };
                let row = StoredRow {
                    row_id: 100 + seq,
                    chain: 3,
                    seq,
                    event,
                    prev: prev.to_vec(),
                    link: link.to_vec(),
                };
                prev = link;
                row
            })
            .collect()
    }

    fn keyed(key: &ChainKey, boundary: Option<(i64, &[u8])>) -> Keying {
        let boundaries = boundary
            .map(|(seq, link)| {
                let seal = Boundary::seal(key, 3, seq, link).to_vec();
                (
                    3,
                    Boundary {
                        seq,
                        link: link.to_vec(),
                        seal,
                    },
                )
            })
            .into_iter()
            .collect();
        Keying::Keyed {
            key: key.clone(),
            boundaries,
        }
    }

    fn walk(keying: Keying, rows: &[StoredRow]) -> Result<(), Break> {
        let mut w = Walker::new(keying);
        for r in rows {
            w.row(r)?;
        }
        w.finish()
    }

    #[test]
    fn a_keyed_chain_verifies_only_under_its_key() {
        let key = ChainKey::new([1; 32]);
        let rows = chain(&key, 5, 0);
        assert_eq!(walk(keyed(&key, None), &rows), Ok(()));
        let err = walk(keyed(&ChainKey::new([2; 32]), None), &rows).unwrap_err();
        assert_eq!((err.row_id, err.seq), (Some(101), 1));
        assert!(err.reason.contains("MAC"), "{err}");
    }

    #[test]
    fn a_chain_re_linked_without_the_key_fails_at_its_first_row() {
        let key = ChainKey::new([1; 32]);
        // Every link recomputed as unkeyed hashes, as someone without the key would.
        let forged = chain(&key, 4, 4);
        let err = walk(keyed(&key, None), &forged).unwrap_err();
        assert_eq!((err.row_id, err.seq), (Some(101), 1));
        // An old, never keyed database verifies as before.
        assert_eq!(walk(Keying::Unkeyed, &forged), Ok(()));
    }

    #[test]
    fn rows_before_the_sealed_boundary_keep_their_unkeyed_links() {
        let key = ChainKey::new([1; 32]);
        let rows = chain(&key, 6, 3);
        let head = rows[2].link.clone();
        assert_eq!(walk(keyed(&key, Some((3, &head))), &rows), Ok(()));
        // A boundary moved to cover keyed rows does not match its seal.
        let mut moved = keyed(&key, Some((3, &head)));
        if let Keying::Keyed { boundaries, .. } = &mut moved {
            boundaries.get_mut(&3).unwrap().seq = 6;
        }
        let err = walk(moved, &rows).unwrap_err();
        assert!(err.reason.contains("seal"), "{err}");
        // Without its boundary, the unkeyed rows are refused.
        let err = walk(keyed(&key, None), &rows).unwrap_err();
        assert_eq!(err.seq, 1);
        // The unkeyed part replaced by another unkeyed history: the head differs.
        let mut replaced = chain(&key, 6, 3);
        replaced[0].event.action = "other".into();
        let mut prev = GENESIS;
        for r in replaced.iter_mut().take(3) {
            r.prev = prev.to_vec();
            let link = r.event.chain_hash(r.seq, &prev);
            r.link = link.to_vec();
            prev = link;
        }
        let err = walk(keyed(&key, Some((3, &head))), &replaced).unwrap_err();
        assert_eq!(err.seq, 3);
        assert!(err.reason.contains("recorded when it was keyed"), "{err}");
    }

    #[test]
    fn edited_missing_and_removed_rows_are_named() {
        let key = ChainKey::new([1; 32]);
        let rows = chain(&key, 5, 2);
        let head = rows[1].link.clone();
        let mut edited = rows.clone();
        edited[3].event.ip = Some("203.0.113.66".into());
        let err = walk(keyed(&key, Some((2, &head))), &edited).unwrap_err();
        assert_eq!((err.row_id, err.seq), (Some(104), 4));
        assert!(err.reason.contains("does not match"));
        let mut gap = rows.clone();
        gap.remove(2);
        let err = walk(keyed(&key, Some((2, &head))), &gap).unwrap_err();
        assert_eq!(err.seq, 4);
        // Unkeyed rows recorded at keying removed from the end of the chain.
        let err = walk(keyed(&key, Some((2, &head))), &rows[..1]).unwrap_err();
        assert_eq!((err.row_id, err.seq), (None, 2));
        assert!(err.to_string().contains("removed tail"), "{err}");
        // A whole chain gone, its boundary left behind.
        let err = walk(keyed(&key, Some((2, &head))), &[]).unwrap_err();
        assert_eq!((err.chain, err.seq), (3, 1));
    }
}
