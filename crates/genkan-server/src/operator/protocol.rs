//! The control protocol between an operator command and the running server: one
//! request line, then output frames and a last `done` frame, each a JSON object on
//! its own line. Versioned: a server answers a request of another version with an
//! error naming both.

use genkan_store::audit_chain::Anchor;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncReadExt as _};

/// Version of the protocol spoken here.
pub const VERSION: u32 = 1;

/// Longest request line accepted: arguments of a command line fit many times, and
/// so do the chain heads of anchor files (about 100 bytes a tenant).
pub const MAX_REQUEST: u64 = 8 * 1024 * 1024;

/// Longest frame a client accepts (output is sent line by line).
pub const MAX_FRAME: u64 = 16 * 1024 * 1024;

/// What the command line asks the server to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Protocol version ([`VERSION`]).
    pub v: u32,
    /// Whether the command's stderr is a terminal (progress is drawn on one line then).
    pub tty: bool,
    /// The operation.
    pub op: Operation,
}

/// An operator command that uses the database, with its arguments (the
/// configuration file is not among them: the server uses its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// `genkan tenant create`.
    TenantCreate {
        /// Organisation id.
        slug: String,
        /// Company name.
        name: String,
        /// Default language.
        locale: String,
        /// Time zone of the first site.
        time_zone: String,
        /// Name of the first site.
        site: String,
        /// First administrator's address.
        admin_email: String,
        /// First administrator's name.
        admin_name: String,
    },
    /// `genkan tenant end`.
    TenantEnd {
        /// Organisation id.
        tenant: String,
        /// Last day of the contract, `YYYY-MM-DD`.
        date: String,
    },
    /// `genkan tenant list`.
    TenantList,
    /// `genkan token create`.
    TokenCreate {
        /// Organisation id.
        tenant: String,
        /// The user's e-mail address.
        user: String,
        /// Scopes, space- or comma-separated.
        scopes: String,
        /// Days until expiry.
        days: i64,
        /// With a refresh token.
        refresh: bool,
    },
    /// `genkan audit verify`.
    AuditVerify {
        /// Chain heads from the files given with `--anchor`, read by the command.
        #[serde(default)]
        anchors: Vec<Anchor>,
    },
    /// `genkan backup now`.
    BackupNow,
    /// `genkan backup list`.
    BackupList,
    /// `genkan notice publish`.
    NoticePublish {
        /// Kind of notice.
        kind: String,
        /// One-line title.
        title: String,
        /// Text.
        body: String,
        /// Comma-separated organisation ids (`None`: every tenant).
        tenants: Option<String>,
        /// Days the banner shows.
        days: i64,
    },
    /// `genkan notice list`.
    NoticeList,
    /// `genkan visitor erase`.
    VisitorErase {
        /// Organisation id.
        tenant: String,
        /// Visitor id.
        visitor: i64,
    },
}

impl Operation {
    /// Name for logs (never the arguments: they may hold addresses).
    pub fn name(&self) -> &'static str {
        match self {
            Self::TenantCreate { .. } => "tenant create",
            Self::TenantEnd { .. } => "tenant end",
            Self::TenantList => "tenant list",
            Self::TokenCreate { .. } => "token create",
            Self::AuditVerify { .. } => "audit verify",
            Self::BackupNow => "backup now",
            Self::BackupList => "backup list",
            Self::NoticePublish { .. } => "notice publish",
            Self::NoticeList => "notice list",
            Self::VisitorErase { .. } => "visitor erase",
        }
    }

    /// Whether the command may create a missing data directory (the first
    /// command of an installation); the others say it is missing.
    pub fn creates_data_dir(&self) -> bool {
        matches!(self, Self::TenantCreate { .. })
    }
}

/// What the server sends back while and after it runs the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Text for the command's standard output, exactly as printed.
    Out(String),
    /// Text for the command's standard error, exactly as printed.
    Err(String),
    /// The command finished: `None` on success, else the message it failed with.
    Done(Option<String>),
}

/// Encodes one message as a line.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Reads one line of at most `limit` bytes and decodes it; `Ok(None)` at the end of
/// the stream.
pub async fn read<T, R>(reader: &mut R, limit: u64) -> anyhow::Result<Option<T>>
where
    T: for<'de> Deserialize<'de>,
    R: AsyncBufRead + Unpin,
{
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(limit + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        anyhow::bail!(if n as u64 > limit {
            "control message too long"
        } else {
            "control connection closed in the middle of a message"
        });
    }
    Ok(Some(serde_json::from_slice(&line)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_survives_the_round_trip_and_long_or_cut_lines_are_refused() {
        let request = Request {
            v: VERSION,
            tty: false,
            op: Operation::VisitorErase {
                tenant: "acme".to_owned(),
                visitor: 7,
            },
        };
        let line = encode(&request);
        let mut reader = tokio::io::BufReader::new(&line[..]);
        let back: Request = read(&mut reader, MAX_REQUEST).await.unwrap().unwrap();
        assert_eq!(back, request);
        assert!(
            read::<Request, _>(&mut reader, MAX_REQUEST)
                .await
                .unwrap()
                .is_none()
        );

        let long = [b'x'; 100];
        let mut reader = tokio::io::BufReader::new(&long[..]);
        let err = read::<Request, _>(&mut reader, 10).await.unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        let mut reader = tokio::io::BufReader::new(&line[..line.len() - 1]);
        let err = read::<Request, _>(&mut reader, MAX_REQUEST)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[test]
    fn audit_verify_carries_the_operators_anchors_and_reads_a_request_without_them() {
        let head = genkan_core::audit::anchor::ChainHead::new(3, 42, &[7; 32]);
        let op = Operation::AuditVerify {
            anchors: vec![Anchor {
                source: "anchor file heads.txt".to_owned(),
                recorded: None,
                heads: vec![head],
            }],
        };
        let back: Operation = serde_json::from_slice(&encode(&op)).unwrap();
        assert_eq!(back, op);
        let bare: Operation = serde_json::from_str("{\"op\":\"audit_verify\"}").unwrap();
        assert_eq!(bare, Operation::AuditVerify { anchors: vec![] });
    }

    #[test]
    fn frames_have_a_stable_shape() {
        assert_eq!(
            String::from_utf8(encode(&Frame::Done(None))).unwrap(),
            "{\"done\":null}\n"
        );
        assert_eq!(
            String::from_utf8(encode(&Frame::Out("a\n".to_owned()))).unwrap(),
            "{\"out\":\"a\\n\"}\n"
        );
        let op = serde_json::to_string(&Operation::BackupNow).unwrap();
        assert_eq!(op, "{\"op\":\"backup_now\"}");
    }
}
