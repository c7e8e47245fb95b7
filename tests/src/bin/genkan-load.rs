//! `genkan-load`: a load generator for the kiosk check-in API. It prepares kiosks and
//! fresh passes through the admin API, then sends check-ins either as fast as
//! `--concurrency` clients can (closed loop) or at a fixed `--rate` (open loop,
//! latency measured from each request's scheduled time, so a stall is not hidden).
//! `--passes N` caps the passes prepared (a closed loop then ends when they run out).
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark tool that fails should fail loudly"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use genkan_core::{Clock as _, SystemClock};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Check-in load against a running server.
#[derive(Debug, clap::Parser)]
#[command(name = "genkan-load")]
struct Args {
    /// The server's base URL.
    #[arg(long)]
    url: String,
    /// An admin API token of the tenant to load.
    #[arg(long)]
    token: String,
    /// Kiosks paired (their credentials are shared out between requests).
    #[arg(long, default_value_t = 16)]
    kiosks: usize,
    /// Check-ins per second (open loop); 0 sends as fast as the clients can.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Clients sending at once (closed loop).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Passes prepared (a closed loop ends when they run out).
    #[arg(long)]
    passes: Option<usize>,
}

fn parse_args() -> Args {
    <Args as clap::Parser>::parse()
}

async fn call(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    body: Option<&Value>,
    get: bool,
) -> (u16, Value) {
    let req = if get {
        http.get(url)
    } else {
        http.post(url).json(body.unwrap_or(&Value::Null))
    };
    let resp = req.bearer_auth(bearer).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Creates `n` passes valid now at the first site, 50 visitors per appointment.
async fn make_passes(http: &reqwest::Client, a: &Args, n: usize) -> Vec<String> {
    let (_, sites) = call(
        http,
        &format!("{}/api/v1/sites", a.url),
        &a.token,
        None,
        true,
    )
    .await;
    let (_, users) = call(
        http,
        &format!("{}/api/v1/users", a.url),
        &a.token,
        None,
        true,
    )
    .await;
    let site = sites[0]["id"].as_i64().unwrap();
    let host = users[0]["id"].as_i64().unwrap();
    let now = SystemClock.now();
    let tokens = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let batches = n.div_ceil(50);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, tokens, next) = (http.clone(), Arc::clone(&tokens), Arc::clone(&next));
        let (url, token) = (a.url.clone(), a.token.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < batches {
                let visitors: Vec<Value> = (0..50).map(|i| json!({"name": format!("Load Visitor {i}")})).collect();
                let body = json!({
                    "site_id": site, "host_id": host, "title": "load",
                    "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
                    "visitors": visitors,
                });
                let (status, out) =
                    call(&http, &format!("{url}/api/v1/appointments?return_passes=true"), &token, Some(&body), false).await;
                assert_eq!(status, 201, "{out}");
                let mut t = tokens.lock().await;
                t.extend(out["passes"].as_array().unwrap().iter().map(|p| p["token"].as_str().unwrap().to_owned()));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut t = tokens.lock().await;
    t.truncate(n);
    std::mem::take(&mut *t)
}

async fn make_kiosks(http: &reqwest::Client, a: &Args) -> Vec<String> {
    let (_, sites) = call(
        http,
        &format!("{}/api/v1/sites", a.url),
        &a.token,
        None,
        true,
    )
    .await;
    let site = sites[0]["id"].as_i64().unwrap();
    let mut creds = Vec::new();
    for i in 0..a.kiosks {
        let body = json!({"site_id": site, "name": format!("Load kiosk {i}")});
        let (_, created) = call(
            http,
            &format!("{}/api/v1/kiosks", a.url),
            &a.token,
            Some(&body),
            false,
        )
        .await;
        let pair = json!({"pairing_code": created["pairing_code"], "device_name": "load"});
        let (status, paired) = call(
            http,
            &format!("{}/api/kiosk/v1/pair", a.url),
            "",
            Some(&pair),
            false,
        )
        .await;
        assert_eq!(status, 200, "{paired}");
        creds.push(paired["credential"].as_str().unwrap().to_owned());
    }
    creds
}

#[derive(Default)]
struct Results {
    latencies_us: Vec<u64>,
    outcomes: BTreeMap<String, u64>,
}

async fn check_in(
    http: &reqwest::Client,
    url: &str,
    credential: &str,
    token: &str,
    n: usize,
) -> String {
    let body = json!({"request_id": format!("load-{n:012}"), "token": token});
    match http
        .post(url)
        .bearer_auth(credential)
        .json(&body)
        .send()
        .await
    {
        Ok(resp) if resp.status().is_success() => {
            let _ = resp.bytes().await;
            "ok".to_owned()
        }
        Ok(resp) => {
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            v["code"].as_str().unwrap_or("unknown").to_owned()
        }
        Err(e) => format!("transport: {e}"),
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let a = parse_args();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency.max(64))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let needed = match (a.passes, a.rate) {
        (Some(n), _) => n,
        (None, 0) => (12_000 * a.duration) as usize, // closed loop: ~12,000 check-ins/s
        (None, rate) => (rate * a.duration) as usize + 100,
    };
    eprintln!("preparing {} kiosks and {needed} passes…", a.kiosks);
    let kiosks = Arc::new(make_kiosks(&http, &a).await);
    let tokens = Arc::new(make_passes(&http, &a, needed).await);
    eprintln!(
        "running for {} s ({})",
        a.duration,
        if a.rate > 0 {
            format!("{} check-ins/s", a.rate)
        } else {
            format!("closed loop, {} clients", a.concurrency)
        }
    );
    let url = Arc::new(format!("{}/api/kiosk/v1/check-in", a.url));
    let results = Arc::new(Mutex::new(Results::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(a.duration);
    let mut tasks = Vec::new();
    if a.rate == 0 {
        for _ in 0..a.concurrency {
            let (http, kiosks, tokens, url, results, next) = (
                http.clone(),
                Arc::clone(&kiosks),
                Arc::clone(&tokens),
                Arc::clone(&url),
                Arc::clone(&results),
                Arc::clone(&next),
            );
            tasks.push(tokio::spawn(async move {
                let mut local = Results::default();
                while Instant::now() < end {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(token) = tokens.get(n) else { break };
                    let t0 = Instant::now();
                    let outcome = check_in(&http, &url, &kiosks[n % kiosks.len()], token, n).await;
                    local.latencies_us.push(t0.elapsed().as_micros() as u64);
                    *local.outcomes.entry(outcome).or_default() += 1;
                }
                let mut r = results.lock().await;
                r.latencies_us.extend(local.latencies_us);
                for (k, v) in local.outcomes {
                    *r.outcomes.entry(k).or_default() += v;
                }
            }));
        }
    } else {
        let interval = Duration::from_nanos(1_000_000_000u64.checked_div(a.rate).unwrap_or(1));
        let total = ((a.rate * a.duration) as usize).min(tokens.len());
        for n in 0..total {
            let scheduled = start + interval * n as u32;
            tokio::time::sleep_until(scheduled.into()).await;
            let (http, kiosks, tokens, url, results) = (
                http.clone(),
                Arc::clone(&kiosks),
                Arc::clone(&tokens),
                Arc::clone(&url),
                Arc::clone(&results),
            );
            tasks.push(tokio::spawn(async move {
                let outcome = check_in(&http, &url, &kiosks[n % kiosks.len()], &tokens[n], n).await;
                let latency = scheduled.elapsed().as_micros() as u64;
                let mut r = results.lock().await;
                r.latencies_us.push(latency);
                *r.outcomes.entry(outcome).or_default() += 1;
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut r = results.lock().await;
    r.latencies_us.sort_unstable();
    let ok = r.outcomes.get("ok").copied().unwrap_or(0);
    let report = json!({
        "mode": if a.rate > 0 { "open" } else { "closed" },
        "target_rate": a.rate,
        "concurrency": a.concurrency,
        "duration_s": elapsed,
        "requests": r.latencies_us.len(),
        "acknowledged": ok,
        "acknowledged_per_s": ok as f64 / elapsed,
        "outcomes": r.outcomes,
        "latency_ms": {
            "p50": percentile(&r.latencies_us, 0.50),
            "p90": percentile(&r.latencies_us, 0.90),
            "p99": percentile(&r.latencies_us, 0.99),
            "p999": percentile(&r.latencies_us, 0.999),
            "max": percentile(&r.latencies_us, 1.0),
        },
    });
    println!("{report}");
}
