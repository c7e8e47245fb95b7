//! Plain-HTTP serving with hyper: what `axum::serve` does, plus a deadline for each
//! request head, so slow or silent clients (slowloris) cannot hold connections open
//! for ever (`axum::serve` installs no timer, so hyper's header timeout never fires
//! there). HTTP/1.1 only: browsers speak HTTP/2 over TLS only, and detecting
//! cleartext HTTP/2 would read the first bytes without any deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service as _, ServiceExt as _};

/// How long open connections may finish their requests after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// An HTTP/1.1 connection builder that closes a connection whose next request head
/// (the first, or the next one on a kept-alive connection) is not complete within
/// `header_read_timeout`.
pub fn builder(header_read_timeout: Duration) -> Builder {
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections
/// finish for a few seconds.
pub async fn serve(
    listener: TcpListener,
    app: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let builder = builder(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut make_service = app;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(router) = make_service.call(peer).await;
        let service = TowerToHyperService::new(router.map_request(
            |r: axum::http::Request<hyper::body::Incoming>| r.map(axum::body::Body::new),
        ));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}
