//! CSV downloads for spreadsheets: UTF-8 with a BOM (so Excel reads Japanese
//! correctly), cells that a spreadsheet would run as formulas neutralised, and the
//! body streamed in chunks while rows are read, so memory stays flat.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

/// Bytes buffered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// Prefixes a cell that starts like a formula (`= + - @`, tab, CR) with `'`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{cell}")),
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

struct Buffer {
    bytes: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

/// Writes rows into chunks and hands them to the response body. Rows are written from
/// the store's blocking reader thread; `finish` sends the rest from async code.
#[derive(Clone)]
pub struct CsvSink {
    inner: Arc<Mutex<Buffer>>,
}

/// Appends one CSV row (formula cells neutralised, quoted where needed, CRLF),
/// written by the `csv` crate.
pub fn push_row(buf: &mut Vec<u8>, cells: &[&str]) {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(256)
        .from_writer(buf);
    // Writing into memory cannot fail. Field by field, then an empty record ends the
    // row, so no cell is copied.
    for cell in cells {
        let _ = writer.write_field(neutralise(cell).as_bytes());
    }
    let _ = writer.write_record(None::<&[u8]>);
    let _ = writer.flush();
}

impl CsvSink {
    /// Appends one row (from a blocking thread); `false` once the client has gone away.
    pub fn row(&self, cells: &[&str]) -> bool {
        let mut b = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        push_row(&mut b.bytes, cells);
        if b.bytes.len() >= CHUNK {
            let chunk = Bytes::from(std::mem::replace(
                &mut b.bytes,
                Vec::with_capacity(CHUNK + 1024),
            ));
            return b.tx.blocking_send(Ok(chunk)).is_ok();
        }
        true
    }

    /// Sends whatever is still buffered and ends the body.
    pub async fn finish(self) {
        let (chunk, tx) = {
            let mut b = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            (Bytes::from(std::mem::take(&mut b.bytes)), b.tx.clone())
        };
        if !chunk.is_empty() {
            let _ = tx.send(Ok(chunk)).await;
        }
    }
}

/// A streamed CSV download named `filename`: the BOM and `header` first, then what
/// `fill` writes (it runs as its own task and must end with `sink.finish().await`).
pub fn download<F, Fut>(filename: &str, header: &[&str], fill: F) -> Response
where
    F: FnOnce(CsvSink) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(8);
    let mut bytes = Vec::with_capacity(CHUNK + 1024);
    bytes.extend_from_slice("\u{feff}".as_bytes());
    push_row(&mut bytes, header);
    let sink = CsvSink {
        inner: Arc::new(Mutex::new(Buffer { bytes, tx })),
    };
    tokio::spawn(fill(sink));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+81", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("Sato"), "Sato");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn rows_are_quoted_when_needed() {
        let mut buf = Vec::new();
        push_row(&mut buf, &["a,b", "say \"hi\"", "line\nbreak", "=cmd"]);
        assert_eq!(
            &buf[..],
            b"\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",'=cmd\r\n"
        );
    }

    #[test]
    fn plain_rows_are_unquoted_and_end_with_crlf() {
        let mut buf = Vec::new();
        push_row(&mut buf, &["佐藤 花子", "", "2026-12-07T10:00:00+09:00"]);
        push_row(&mut buf, &["next"]);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "佐藤 花子,,2026-12-07T10:00:00+09:00\r\nnext\r\n"
        );
    }
}
