//! "Download all data": every entity of the tenant as one CSV each (UTF-8 with BOM,
//! formula cells neutralised), zipped, streamed while the rows are read so memory
//! stays flat. Administrators only; recorded in the audit log. Works for a tenant
//! whose contract has ended, until its purge.

use std::io::Write as _;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use genkan_core::access::Permission;
use genkan_core::audit::Outcome;
use genkan_store::tenant_export::ExportSink;
use serde_json::json;
use tokio::sync::mpsc;
use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use crate::state::AppState;
use crate::web::csv::push_row;
use crate::web::error::PageResult;
use crate::web::session::ReadForm;

/// Bytes buffered before a chunk goes to the client.
const CHUNK: usize = 64 * 1024;

/// Routes of this download.
pub fn router() -> Router<AppState> {
    Router::new().route("/exports/all.zip", post(download))
}

/// A `Write` that hands chunks to the response body (from a blocking thread).
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn ship(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK + 1024),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.ship()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.ship()
    }
}

/// Writes each entity as a CSV entry of the zip.
struct ZipSink {
    zip: ZipWriter<StreamWriter<ChannelWriter>>,
    row: Vec<u8>,
}

impl ZipSink {
    fn write_row(&mut self, cells: &[&str]) -> bool {
        self.row.clear();
        push_row(&mut self.row, cells);
        self.zip.write_all(&self.row).is_ok()
    }
}

impl ExportSink for ZipSink {
    fn table(&mut self, name: &str, header: &[&str]) -> bool {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o600);
        if self.zip.start_file(format!("{name}.csv"), options).is_err() {
            return false;
        }
        self.zip.write_all("\u{feff}".as_bytes()).is_ok() && self.write_row(header)
    }

    fn row(&mut self, cells: &[String]) -> bool {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        self.write_row(&cells)
    }
}

async fn download(State(state): State<AppState>, ReadForm(form): ReadForm) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let user = form.user;
    let tenant = user.session.tenant_id;
    let slug = state.store.tenant(tenant).await?.slug;
    state
        .store
        .record_audit(
            user.ctx.clone(),
            "export.all",
            "export",
            Some("all".to_owned()),
            Outcome::Ok,
            json!({"entities": genkan_store::tenant_export::entity_names()}),
        )
        .await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let sink = ZipSink {
        zip: ZipWriter::new_stream(ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK + 1024),
        }),
        row: Vec::new(),
    };
    let store = state.store.clone();
    tokio::spawn(async move {
        let finished = match store.export_tenant(tenant, sink).await {
            Ok((_, sink)) => tokio::task::spawn_blocking(move || {
                let mut inner = sink.zip.finish()?;
                inner.flush()
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        if let Err(e) = finished {
            tracing::error!(error = %e, "full export failed");
            // Ends the body with an error, so the client sees an incomplete download.
            let _ = tx.send(Err(e)).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let today = state.clock.now().format("%Y%m%d");
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"genkan-{slug}-{today}.zip\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
