//! What the server and a sandbox process say to each other: length-prefixed JSON
//! frames (a 4-byte big-endian length, then that many bytes) on the child's stdin
//! and stdout.

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::Limit;
use crate::notify::custom::Part;

/// The first frame a sandbox process writes, so a wrong program is told apart.
pub(super) const HELLO: &str = "genkan-render-sandbox/1";

/// Largest job a sandbox process reads (three parts of at most 64 KiB and a context).
pub(super) const MAX_JOB_BYTES: usize = 4 * 1024 * 1024;

/// One template part to render.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JobPart {
    /// Which part it is.
    pub(super) part: Part,
    /// Template name; `.html` names are auto-escaped.
    pub(super) name: String,
    /// The tenant's source.
    pub(super) source: String,
}

/// A render job: parts rendered in order with one context, within the limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Job {
    /// The parts.
    pub(super) parts: Vec<JobPart>,
    /// The template variables.
    pub(super) context: serde_json::Value,
    /// Instructions per part.
    pub(super) fuel: u64,
    /// Bytes per rendered part.
    pub(super) output_bytes: usize,
}

/// Why one part could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Failure {
    /// The template is wrong: syntax, an unknown variable, a failing filter.
    Template {
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        detail: String,
    },
    /// The template went over a limit.
    Limit(Limit),
}

/// A frame from the sandbox process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Answer {
    /// Ready for jobs.
    Hello {
        /// [`HELLO`].
        protocol: String,
    },
    /// Started rendering part `index` of the job (so a kill names the part).
    Started {
        /// Index into [`Job::parts`].
        index: usize,
    },
    /// Every part rendered, in order.
    Rendered {
        /// One output per part.
        outputs: Vec<String>,
        /// The process stops after this answer (it used its CPU allowance).
        retire: bool,
    },
    /// Part `index` failed; the job stops there.
    Failed {
        /// Index into [`Job::parts`].
        index: usize,
        /// Why.
        failure: Failure,
        /// The process stops after this answer.
        retire: bool,
    },
}

/// Writes one frame.
pub(super) fn write_frame(w: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&bytes)?;
    w.flush()
}

/// Reads one frame of at most `max` bytes; `None` at a clean end of input.
pub(super) fn read_frame<T: DeserializeOwned>(
    r: &mut impl Read,
    max: usize,
) -> std::io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::other(format!("frame of {len} bytes")));
    }
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(std::io::Error::other)
}

/// Writes one frame (server side).
pub(super) async fn send(
    w: &mut (impl AsyncWrite + Unpin),
    value: &impl Serialize,
) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(&bytes).await?;
    w.flush().await
}

/// Reads one frame of at most `max` bytes (server side); `None` when the process
/// closed its output.
pub(super) async fn receive<T: DeserializeOwned>(
    r: &mut (impl AsyncRead + Unpin),
    max: usize,
) -> std::io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::other(format!("frame of {len} bytes")));
    }
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes).await?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &Answer::Started { index: 2 }).unwrap();
        let back: Answer = read_frame(&mut buf.as_slice(), 1024).unwrap().unwrap();
        assert!(matches!(back, Answer::Started { index: 2 }));
        assert!(read_frame::<Answer>(&mut buf.as_slice(), 4).is_err());
        assert!(
            read_frame::<Answer>(&mut [].as_slice(), 4)
                .unwrap()
                .is_none()
        );
    }
}
