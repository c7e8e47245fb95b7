//! `genkan-notify-bench`: notification benchmarks against the real server (build it
//! with `--release` too; the binary next to this one is used) and loopback peers in
//! this process, which timestamp every arrival.
//!
//! - `slack --rate 1000 --duration 20`: check-ins at a fixed rate through the kiosk
//!   API; latency from each check-in's scheduled send time to the Slack message's
//!   arrival at the webhook receiver (and the host's e-mail at the SMTP server).
//! - `outage --rate 200 --duration 10`: check-in latency with healthy peers, then
//!   with SMTP stalled and Slack hanging.
//! - `invitations --count 1000`: invitation e-mails (QR inline and attached, .ics)
//!   per second to the SMTP server, from the first appointment request to the last
//!   mail received.
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark tool that fails should fail loudly"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use genkan_e2e::api::Api;
use genkan_e2e::lab::{HOST, visitor_email};
use genkan_e2e::receiver::{Answer, Receiver};
use genkan_e2e::server::{Server, ServerOptions, prepare};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::{Value, json};
use tokio::sync::Mutex;

struct Args {
    scenario: String,
    rate: u64,
    duration: u64,
    count: usize,
    kiosks: usize,
    degraded_first: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        scenario: String::new(),
        rate: 1000,
        duration: 20,
        count: 1000,
        kiosks: 16,
        degraded_first: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--rate" => a.rate = value().parse().unwrap(),
            "--duration" => a.duration = value().parse().unwrap(),
            "--count" => a.count = value().parse().unwrap(),
            "--kiosks" => a.kiosks = value().parse().unwrap(),
            "--degraded-first" => a.degraded_first = true,
            s if !s.starts_with("--") && a.scenario.is_empty() => a.scenario = s.to_owned(),
            other => panic!(
                "unknown argument {other}; use slack | outage | invitations [--rate N --duration S --count N --kiosks N]"
            ),
        }
    }
    a
}

fn percentiles(mut v: Vec<f64>) -> Value {
    v.sort_by(f64::total_cmp);
    let p = |q: f64| {
        if v.is_empty() {
            return 0.0;
        }
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        (v[i] * 10.0).round() / 10.0
    };
    json!({"n": v.len(), "p50": p(0.5), "p90": p(0.9), "p99": p(0.99), "p999": p(0.999), "max": p(1.0)})
}

struct Setup {
    server: Server,
    api: Api,
    site: i64,
    host: i64,
    kiosks: Vec<String>,
}

async fn start(smtp: &SmtpSink, slack: Option<&Receiver>, kiosks: usize, notify: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(
        dir.path(),
        &ServerOptions {
            smtp_port: Some(smtp.port),
            extra_toml: format!("\n[notify]\n{notify}\n"),
        },
    );
    // Benchmarks log only warnings: an info line per delivery would measure the logger.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("level = \"info\"", "level = \"warn\"");
    std::fs::write(&config, text).unwrap();
    let server = Server::start_in(dir, config);
    let tenant = server.create_tenant("bench");
    let token = server.create_token("bench", "admin@bench.example", "admin");
    let api = Api::new(&server.url, Some(&token));
    let host = api.create_user(HOST, "Bench Host", "host").await.ok();
    if let Some(slack) = slack {
        api.set_slack(&format!("{}/services/T/B/bench", slack.url))
            .await
            .ok();
    }
    let site = tenant["site_id"].as_i64().unwrap();
    let mut creds = Vec::new();
    for i in 0..kiosks {
        let created = api
            .create_kiosk(site, &format!("Bench kiosk {i}"))
            .await
            .ok();
        let paired = api
            .pair_kiosk(created["pairing_code"].as_str().unwrap(), "bench")
            .await
            .ok();
        creds.push(paired["credential"].as_str().unwrap().to_owned());
    }
    Setup {
        server,
        api,
        site,
        host: host["id"].as_i64().unwrap(),
        kiosks: creds,
    }
}

fn name(n: usize) -> String {
    format!("Bench {n:06}")
}

/// Appointments of 50 visitors each for `names`; `with_email` sends invitations.
async fn invite(s: &Setup, names: &[String], with_email: bool) -> Vec<String> {
    let now = genkan_core::Clock::now(&genkan_core::SystemClock);
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let chunks: Vec<Vec<String>> = names.chunks(50).map(<[String]>::to_vec).collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let chunks = Arc::new(chunks);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (api, tokens, next, chunks) = (
            s.api.clone(),
            Arc::clone(&tokens),
            Arc::clone(&next),
            Arc::clone(&chunks),
        );
        let (site, host) = (s.site, s.host);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                let visitors: Vec<Value> = chunk
                    .iter()
                    .map(|n| {
                        if with_email {
                            json!({"name": n, "email": visitor_email(n), "locale": "en"})
                        } else {
                            json!({"name": n, "locale": "en"})
                        }
                    })
                    .collect();
                let out = api
                    .create_appointment_with_passes(json!({
                        "site_id": site, "host_id": host, "title": "bench",
                        "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::Duration::hours(3)).to_rfc3339(),
                        "visitors": visitors,
                    }))
                    .await
                    .ok();
                let mut t = tokens.lock().await;
                for (k, p) in out["passes"].as_array().unwrap().iter().enumerate() {
                    t.push((i * 50 + k, p["token"].as_str().unwrap().to_owned()));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut t = std::mem::take(&mut *tokens.lock().await);
    t.sort();
    t.into_iter().map(|(_, tok)| tok).collect()
}

/// Sends check-ins at `rate` for `duration`; returns (scheduled send time per index,
/// check-in latencies in ms, failures).
async fn load(
    s: &Setup,
    tokens: &[String],
    rate: u64,
    duration: u64,
    offset: usize,
) -> (Vec<Instant>, Vec<f64>, usize) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = Arc::new(format!("{}/api/kiosk/v1/check-in", s.server.url));
    let total = (rate * duration) as usize;
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = Instant::now();
    let results = Arc::new(Mutex::new((Vec::with_capacity(total), 0usize)));
    let mut scheduled = Vec::with_capacity(total);
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let at = start + interval * n as u32;
        scheduled.push(at);
        tokio::time::sleep_until(at.into()).await;
        let (http, url, results) = (http.clone(), Arc::clone(&url), Arc::clone(&results));
        let cred = s.kiosks[n % s.kiosks.len()].clone();
        let body =
            json!({"request_id": format!("bench-{:09}", offset + n), "token": tokens[offset + n]});
        tasks.push(tokio::spawn(async move {
            let ok = http
                .post(url.as_str())
                .bearer_auth(cred)
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            let ms = at.elapsed().as_secs_f64() * 1000.0;
            let mut r = results.lock().await;
            r.0.push(ms);
            if !ok {
                r.1 += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = std::mem::take(&mut *results.lock().await);
    (scheduled, r.0, r.1)
}

fn index_of(text: &str) -> Option<usize> {
    let i = text.find("Bench ")? + 6;
    text.get(i..i + 6)?.parse().ok()
}

async fn slack(a: &Args) -> Value {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let slack = Receiver::start(Answer::Ok).await;
    let s = start(&smtp, Some(&slack), a.kiosks, "").await;
    let total = (a.rate * a.duration) as usize;
    let names: Vec<String> = (0..total).map(name).collect();
    eprintln!("preparing {total} passes…");
    let tokens = invite(&s, &names, false).await;
    eprintln!("check-ins at {}/s for {} s…", a.rate, a.duration);
    let (scheduled, checkin, failures) = load(&s, &tokens, a.rate, a.duration, 0).await;
    let waited = genkan_e2e::eventually(Duration::from_secs(120), || {
        (slack.hits().len() >= total && smtp.to(HOST).len() >= total).then_some(())
    })
    .await;
    let mut slack_ms = Vec::new();
    let mut seen = vec![0u32; total];
    for hit in slack.hits() {
        if let Some(i) = index_of(&String::from_utf8_lossy(&hit.body)) {
            seen[i] += 1;
            slack_ms.push(hit.at.saturating_duration_since(scheduled[i]).as_secs_f64() * 1000.0);
        }
    }
    let mut mail_ms = Vec::new();
    for m in smtp.to(HOST) {
        let subject = m.parsed().subject().unwrap_or("").to_owned();
        if let Some(i) = index_of(&subject) {
            mail_ms.push(m.at.saturating_duration_since(scheduled[i]).as_secs_f64() * 1000.0);
        }
    }
    json!({
        "scenario": "slack", "rate": a.rate, "duration_s": a.duration, "checkins": total,
        "checkin_failures": failures, "all_arrived": waited.is_some(),
        "slack_lost": seen.iter().filter(|c| **c == 0).count(),
        "slack_duplicates": seen.iter().filter(|c| **c > 1).count(),
        "checkin_ms": percentiles(checkin),
        "checkin_to_slack_ms": percentiles(slack_ms),
        "checkin_to_host_mail_ms": percentiles(mail_ms),
    })
}

async fn outage(a: &Args) -> Value {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let slack = Receiver::start(Answer::Ok).await;
    let s = start(&smtp, Some(&slack), a.kiosks, "").await;
    let per_phase = (a.rate * a.duration) as usize;
    let names: Vec<String> = (0..2 * per_phase).map(name).collect();
    let tokens = invite(&s, &names, false).await;
    // The phase run second works on a larger database; `--degraded-first` swaps
    // the order to tell that apart from the outage itself.
    let degrade = || {
        smtp.set_mode(Mode::Stall);
        slack.set_answer(Answer::Hang);
    };
    let heal = || {
        smtp.set_mode(Mode::Accept);
        slack.set_answer(Answer::Ok);
    };
    let ((healthy, f1), (degraded, f2)) = if a.degraded_first {
        degrade();
        let (_, d, f2) = load(&s, &tokens, a.rate, a.duration, 0).await;
        heal();
        let (_, h, f1) = load(&s, &tokens, a.rate, a.duration, per_phase).await;
        ((h, f1), (d, f2))
    } else {
        let (_, h, f1) = load(&s, &tokens, a.rate, a.duration, 0).await;
        degrade();
        let (_, d, f2) = load(&s, &tokens, a.rate, a.duration, per_phase).await;
        ((h, f1), (d, f2))
    };
    json!({
        "scenario": "outage", "rate": a.rate, "duration_s": a.duration, "degraded_first": a.degraded_first,
        "healthy": {"failures": f1, "checkin_ms": percentiles(healthy)},
        "smtp_stalled_and_slack_hanging": {"failures": f2, "checkin_ms": percentiles(degraded)},
    })
}

async fn invitations(a: &Args) -> Value {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let s = start(&smtp, None, 1, "").await;
    let names: Vec<String> = (0..a.count).map(name).collect();
    let t0 = Instant::now();
    invite(&s, &names, true).await;
    let created = t0.elapsed().as_secs_f64();
    let done = genkan_e2e::eventually(Duration::from_secs(600), || {
        (smtp.messages().len() >= a.count).then_some(Instant::now())
    })
    .await;
    let mails = smtp.messages();
    let elapsed = done.map_or(f64::NAN, |d| d.duration_since(t0).as_secs_f64());
    let counts: HashMap<String, usize> = mails.iter().fold(HashMap::new(), |mut m, x| {
        *m.entry(x.rcpt_to.join(",")).or_default() += 1;
        m
    });
    let avg_kb = mails.iter().map(|m| m.data.len()).sum::<usize>() as f64
        / mails.len().max(1) as f64
        / 1024.0;
    json!({
        "scenario": "invitations", "count": a.count, "received": mails.len(),
        "duplicates": counts.values().filter(|c| **c > 1).count(),
        "appointments_created_s": (created * 100.0).round() / 100.0,
        "all_received_s": (elapsed * 100.0).round() / 100.0,
        "emails_per_s": ((a.count as f64 / elapsed) * 10.0).round() / 10.0,
        "average_mail_kib": (avg_kb * 10.0).round() / 10.0,
    })
}

#[tokio::main]
async fn main() {
    let a = parse_args();
    let report = match a.scenario.as_str() {
        "slack" => slack(&a).await,
        "outage" => outage(&a).await,
        "invitations" => invitations(&a).await,
        other => panic!("unknown scenario {other:?}: slack | outage | invitations"),
    };
    println!("{report}");
}
