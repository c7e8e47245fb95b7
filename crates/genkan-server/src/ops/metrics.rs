//! Prometheus metrics in the text exposition format, on their own listener
//! (`metrics.listen`, off by default). Counters and the check-in latency histogram
//! live in process memory; gauges (outbox depth, backups, kiosks) are read from the
//! store at scrape time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Duration;

use crate::state::AppState;

/// Upper bounds (seconds) of the check-in latency buckets.
const BUCKETS: [f64; 11] = [
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process-wide counters.
struct Counters {
    /// Check-ins answered 2xx, 4xx, 5xx.
    checkins: [AtomicU64; 3],
    /// Cumulative bucket counts (the last is +Inf).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of latencies in microseconds.
    sum_micros: AtomicU64,
}

static COUNTERS: Counters = Counters {
    checkins: [const { AtomicU64::new(0) }; 3],
    buckets: [const { AtomicU64::new(0) }; BUCKETS.len() + 1],
    sum_micros: AtomicU64::new(0),
};

/// Whether a request is a check-in (the kiosk API's).
fn is_check_in(path: &str) -> bool {
    path == "/api/kiosk/v1/check-in"
}

/// Records one answered check-in.
pub fn observe_check_in(status: StatusCode, seconds: f64) {
    let outcome = if status.is_success() {
        0
    } else if status.is_client_error() {
        1
    } else {
        2
    };
    COUNTERS.checkins[outcome].fetch_add(1, Ordering::Relaxed);
    for (i, bound) in BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            COUNTERS.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    COUNTERS.buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
    COUNTERS
        .sum_micros
        .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
}

/// Middleware: times check-in requests.
pub async fn track(request: Request, next: Next) -> Response {
    if !is_check_in(request.uri().path()) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let response = next.run(request).await;
    observe_check_in(response.status(), started.elapsed().as_secs_f64());
    response
}

/// The metrics listener's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/readyz", get(crate::routes::health::readyz_detailed))
        .with_state(state)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

async fn scrape(State(state): State<AppState>) -> Response {
    match render(&state).await {
        Ok(body) => {
            let mut r = body.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics scrape failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The NTP clock check (absent while unknown).
fn clock(state: &AppState, out: &mut String) {
    use crate::ops::clock_sync::ClockState;
    family(
        out,
        "genkan_clock_synchronised",
        "gauge",
        "1 if the system clock is within readiness.max_clock_offset_ms of NTP time, 0 if not (absent: unknown).",
    );
    family(
        out,
        "genkan_clock_offset_seconds",
        "gauge",
        "Offset of the system clock from NTP time at the last check (absent: unknown).",
    );
    if let ClockState::Measured(sample) = state.clock_status.get() {
        let max = state.config.readiness.max_clock_offset_ms;
        let ok = crate::ops::clock_sync::within(sample.offset_secs, max);
        let _ = writeln!(out, "genkan_clock_synchronised {}", u8::from(ok));
        let _ = writeln!(out, "genkan_clock_offset_seconds {}", sample.offset_secs);
    }
}

/// The whole exposition.
pub async fn render(state: &AppState) -> Result<String, genkan_store::StoreError> {
    let mut out = String::with_capacity(4096);
    family(
        &mut out,
        "genkan_up",
        "gauge",
        "1 while the server answers.",
    );
    out.push_str("genkan_up 1\n");

    family(
        &mut out,
        "genkan_checkins_total",
        "counter",
        "Kiosk check-in requests answered, by outcome.",
    );
    for (i, outcome) in ["ok", "refused", "error"].iter().enumerate() {
        let n = COUNTERS.checkins[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "genkan_checkins_total{{outcome=\"{outcome}\"}} {n}");
    }
    family(
        &mut out,
        "genkan_checkin_duration_seconds",
        "histogram",
        "Time to answer a kiosk check-in.",
    );
    for (i, bound) in BUCKETS.iter().enumerate() {
        let n = COUNTERS.buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "genkan_checkin_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
        );
    }
    let count = COUNTERS.buckets[BUCKETS.len()].load(Ordering::Relaxed);
    let sum = COUNTERS.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(
        out,
        "genkan_checkin_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(out, "genkan_checkin_duration_seconds_sum {sum}");
    let _ = writeln!(out, "genkan_checkin_duration_seconds_count {count}");
    family(
        &mut out,
        "genkan_kiosk_code_lookups_total",
        "counter",
        "Typed pass codes looked up (past the kiosk and address limits).",
    );
    let lookups = state.store.code_lookups();
    let _ = writeln!(out, "genkan_kiosk_code_lookups_total {lookups}");

    let depths = state.store.outbox_depths().await?;
    family(
        &mut out,
        "genkan_outbox_depth",
        "gauge",
        "Outbox messages not delivered, by channel and status.",
    );
    for d in &depths {
        for (status, n) in [
            ("queued", d.queued),
            ("sending", d.sending),
            ("dead", d.dead),
        ] {
            let _ = writeln!(
                out,
                "genkan_outbox_depth{{channel=\"{}\",status=\"{status}\"}} {n}",
                d.channel
            );
        }
    }
    family(
        &mut out,
        "genkan_outbox_failures_total",
        "counter",
        "Failed delivery attempts (retried or given up), by channel.",
    );
    for d in &depths {
        let _ = writeln!(
            out,
            "genkan_outbox_failures_total{{channel=\"{}\"}} {}",
            d.channel, d.failed_attempts
        );
    }

    clock(state, &mut out);

    let now = state.clock.now();
    let (last_ok, last) = state.store.backup_health().await?;
    family(
        &mut out,
        "genkan_backup_last_success_timestamp_seconds",
        "gauge",
        "When the last successful backup finished (absent: none yet).",
    );
    family(
        &mut out,
        "genkan_backup_age_seconds",
        "gauge",
        "Seconds since the last successful backup (absent: none yet).",
    );
    if let Some(ok) = &last_ok {
        let _ = writeln!(
            out,
            "genkan_backup_last_success_timestamp_seconds {}",
            ok.finished_at.timestamp()
        );
        let _ = writeln!(
            out,
            "genkan_backup_age_seconds {}",
            (now - ok.finished_at).num_seconds().max(0)
        );
    }
    family(
        &mut out,
        "genkan_backup_last_run_success",
        "gauge",
        "1 if the last backup run succeeded, 0 if it failed.",
    );
    family(
        &mut out,
        "genkan_backup_drill_success",
        "gauge",
        "1 if the last restore drill passed, 0 if it failed.",
    );
    family(
        &mut out,
        "genkan_backup_drill_duration_seconds",
        "gauge",
        "Duration of the last restore drill.",
    );
    if let Some(run) = &last {
        let _ = writeln!(out, "genkan_backup_last_run_success {}", u8::from(run.ok));
        if let Some(drill) = run.drill_ok {
            let _ = writeln!(out, "genkan_backup_drill_success {}", u8::from(drill));
        }
        if let Some(ms) = run.drill_ms {
            let _ = writeln!(
                out,
                "genkan_backup_drill_duration_seconds {}",
                ms as f64 / 1000.0
            );
        }
    }

    let window = Duration::minutes(state.config.metrics.kiosk_stale_minutes.max(1));
    let kiosks = state.store.kiosk_liveness(now, window).await?;
    family(
        &mut out,
        "genkan_kiosks",
        "gauge",
        "Active kiosks: all, heard from recently (check-in or heartbeat), stale.",
    );
    let _ = writeln!(out, "genkan_kiosks{{state=\"active\"}} {}", kiosks.active);
    let _ = writeln!(out, "genkan_kiosks{{state=\"recent\"}} {}", kiosks.recent);
    let _ = writeln!(out, "genkan_kiosks{{state=\"stale\"}} {}", kiosks.stale);
    Ok(out)
}

/// Starts the metrics listener if `metrics.listen` is set; it stops when `stop`
/// turns true. The bound address is printed and logged (port 0 picks one).
pub async fn spawn(
    state: &AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let listen = state.config.metrics.listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("metrics.listen {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    println!("genkan metrics on http://{addr}/metrics");
    tracing::info!(metrics.addr = %addr, "metrics listening");
    let state = state.clone();
    Ok(Some(tokio::spawn(serve(listener, state, async move {
        let _ = stop.wait_for(|s| *s).await;
    }))))
}

/// Serves the metrics on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if let Err(e) = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "metrics listener failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ins_land_in_every_bucket_at_or_above_their_latency() {
        let before: Vec<u64> = COUNTERS
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        observe_check_in(StatusCode::OK, 0.03);
        let after: Vec<u64> = COUNTERS
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let grew: Vec<bool> = before.iter().zip(&after).map(|(b, a)| a > b).collect();
        // 0.03 s: not in the buckets up to 0.025, in 0.05 and every larger one.
        assert_eq!(&grew[..4], &[false, false, false, false]);
        assert!(grew[4..].iter().all(|g| *g));
    }
}
