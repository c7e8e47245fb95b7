//! Chain heads recorded outside the database (in every backup manifest and in a
//! daily log line) and what comparing them with the live chains reveals: a removed
//! tail (an anchored row is gone) or a re-linked chain (it holds another link).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The last row of one chain at some moment: its sequence number and its link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHead {
    /// The chain (tenant id, 0 for system).
    pub chain: i64,
    /// The last row's sequence number.
    pub seq: i64,
    /// The last row's link, lower-case hex (its MAC; the hash for a row from
    /// before chains were keyed).
    pub mac: String,
}

impl ChainHead {
    /// The head of `chain` at row `seq` linked `link`.
    pub fn new(chain: i64, seq: i64, link: &[u8]) -> Self {
        Self {
            chain,
            seq,
            mac: hex::encode(link),
        }
    }

    /// The copyable form `chain:seq:mac`.
    pub fn token(&self) -> String {
        format!("{}:{}:{}", self.chain, self.seq, self.mac)
    }

    /// Parses one `chain:seq:mac` token (the MAC as 64 hex digits).
    pub fn parse_token(token: &str) -> Option<Self> {
        let mut parts = token.split(':');
        let chain = parts.next()?.parse::<i64>().ok()?;
        let seq = parts.next()?.parse::<i64>().ok()?;
        let mac = parts.next()?;
        let valid = parts.next().is_none()
            && chain >= 0
            && seq >= 1
            && mac.len() == 64
            && mac.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Self {
            chain,
            seq,
            mac: mac.to_ascii_lowercase(),
        })
    }
}

/// The heads as one line of space-separated `chain:seq:mac` tokens.
pub fn format_heads(heads: &[ChainHead]) -> String {
    heads
        .iter()
        .map(ChainHead::token)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every `chain:seq:mac` token found in `text` (a log line in any format, or the
/// output of `genkan audit verify`); other text is ignored.
pub fn parse_heads(text: &str) -> Vec<ChainHead> {
    let mut heads: Vec<ChainHead> = text
        .split(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
        .filter_map(ChainHead::parse_token)
        .collect();
    heads.dedup();
    heads
}

/// What the live database holds where an anchor points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// The chain's tenant was purged: its chain is gone by design.
    Purged,
    /// The row at the anchored sequence number, with its link.
    Row(Vec<u8>),
    /// No such row; the chain's last sequence number, if it has rows.
    Absent(Option<i64>),
}

/// An anchored head the live database contradicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The anchored row is gone: the chain's tail was removed.
    Removed {
        /// The chain.
        chain: i64,
        /// The anchored sequence number.
        seq: i64,
        /// Where the chain ends now.
        last_seq: Option<i64>,
    },
    /// The anchored row holds another link: the chain was re-linked or replaced.
    Differs {
        /// The chain.
        chain: i64,
        /// The anchored sequence number.
        seq: i64,
        /// The anchored link (hex).
        anchored: String,
        /// The live link (hex).
        live: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Removed {
                chain,
                seq,
                last_seq: Some(last),
            } => write!(
                f,
                "chain {chain}: the anchored row seq {seq} is missing; the chain ends at seq {last} (rows {}..={seq} were removed)",
                last + 1
            ),
            Self::Removed {
                chain,
                seq,
                last_seq: None,
            } => write!(
                f,
                "chain {chain}: the anchored row seq {seq} is missing; the chain has no rows at all (rows 1..={seq} were removed)"
            ),
            Self::Differs {
                chain,
                seq,
                anchored,
                live,
            } => write!(
                f,
                "chain {chain}: row seq {seq} holds link {}…, the anchor recorded {}… (the chain was re-linked or replaced)",
                &live[..live.len().min(12)],
                &anchored[..anchored.len().min(12)]
            ),
        }
    }
}

/// Compares one anchored head with what the database holds there.
pub fn compare(head: &ChainHead, live: &Live) -> Option<Finding> {
    match live {
        Live::Purged => None,
        Live::Row(link) if hex::encode(link) == head.mac => None,
        Live::Row(link) => Some(Finding::Differs {
            chain: head.chain,
            seq: head.seq,
            anchored: head.mac.clone(),
            live: hex::encode(link),
        }),
        Live::Absent(last_seq) => Some(Finding::Removed {
            chain: head.chain,
            seq: head.seq,
            last_seq: *last_seq,
        }),
    }
}

/// A restore of an older backup over the database, as recorded in the system chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restore {
    /// When the restored snapshot was taken.
    pub snapshot_at: DateTime<Utc>,
    /// When it was restored.
    pub at: DateTime<Utc>,
}

/// Whether an anchor recorded at `recorded` describes history a later restore
/// replaced (taken after the restored snapshot, before the restore): its rows are
/// expected to be missing or different.
pub fn superseded(recorded: DateTime<Utc>, restores: &[Restore]) -> bool {
    restores
        .iter()
        .any(|r| recorded > r.snapshot_at && recorded <= r.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(chain: i64, seq: i64, byte: u8) -> ChainHead {
        ChainHead::new(chain, seq, &[byte; 32])
    }

    #[test]
    fn heads_round_trip_through_a_line_and_are_found_inside_log_lines() {
        let heads = vec![head(0, 12, 0xab), head(3, 7, 0x01)];
        let line = format_heads(&heads);
        assert_eq!(parse_heads(&line), heads);
        let log = format!(
            r#"{{"timestamp":"2026-11-24T00:00:01.123+09:00","level":"INFO","fields":{{"message":"audit chain heads","audit.heads":"{line}"}}}}"#
        );
        assert_eq!(parse_heads(&log), heads);
        assert!(parse_heads("12:34:56 0:1:abc 1:0:00").is_empty());
        assert_eq!(
            ChainHead::parse_token(&head(1, 1, 0).token()),
            Some(head(1, 1, 0))
        );
    }

    #[test]
    fn a_removed_tail_and_a_different_link_are_findings_and_a_purge_is_not() {
        let h = head(3, 10, 0xcd);
        assert_eq!(compare(&h, &Live::Row(vec![0xcd; 32])), None);
        assert_eq!(compare(&h, &Live::Purged), None);
        let removed = compare(&h, &Live::Absent(Some(7))).unwrap();
        assert!(
            removed.to_string().contains("rows 8..=10 were removed"),
            "{removed}"
        );
        assert!(matches!(
            compare(&h, &Live::Absent(None)),
            Some(Finding::Removed { last_seq: None, .. })
        ));
        let differs = compare(&h, &Live::Row(vec![0xee; 32])).unwrap();
        assert!(differs.to_string().contains("re-linked"), "{differs}");
    }

    #[test]
    fn only_anchors_between_a_restored_snapshot_and_its_restore_are_superseded() {
        let t = |h: u32| -> DateTime<Utc> { format!("2026-11-24T{h:02}:00:00Z").parse().unwrap() };
        let restores = [Restore {
            snapshot_at: t(2),
            at: t(5),
        }];
        assert!(!superseded(t(1), &restores));
        assert!(!superseded(t(2), &restores));
        assert!(superseded(t(3), &restores));
        assert!(superseded(t(5), &restores));
        assert!(!superseded(t(6), &restores));
    }
}
