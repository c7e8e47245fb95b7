//! Benchmark of the visit history page and the CSV export with a large database, every
//! answer checked against what was seeded.
//!
//! `cargo run --release -p genkan-server --example history_bench -- [--visits N] [--data DIR]`
//!
//! The first run seeds DIR (default `target/bench/history-N`) through the store's own
//! use cases — appointments with 50 visitors each over one year, every visitor checked
//! in at a kiosk and most checked out — so the data has every index and search row a
//! real installation has; beside the database it writes `truth.tsv`, one line per visit
//! as the seed made it (id, arrival, site, host, still inside, name, company). Later runs
//! reuse DIR.
//!
//! The server is started on 127.0.0.1:0 with
//! `Application::run_without_background_jobs`: HTTP only — no outbox worker, no
//! scheduler (auto check-out, reminders, no-shows, backups, …), no metrics listener —
//! so nothing changes the data while it is measured. Pages are measured over HTTP with
//! a signed-in admin session. After each timed request, outside the timing, the answer
//! is checked against the truth file, computed without the store: a page lists exactly
//! the first min(page size, matching) visits in the page's order and offers "next" only
//! when more match; the pages reached through "next" continue the list without gaps or
//! repeats; the CSV export lists every visit of the year, oldest first. A mismatch stops
//! the benchmark with the query and both numbers.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark tool fails loudly"
)]

mod client;
mod seed;
mod truth;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone as _, Utc};
use genkan_core::{Clock, ManualClock};
use genkan_server::routes::web::visits::PAGE;
use genkan_server::startup::{Application, open_store};
use genkan_store::{KeyRing, Store};

use client::Client;
use seed::{COMPANY_A, COMPANY_B, FAMILY, GIVEN, Rng, Seeded};
use truth::{Expected, Search, Truth, csv_first_cells, next_link, page_ids};

/// Requests per query shape, and pages followed through "next".
const ROUNDS: usize = 40;

/// Prints why the benchmark stops and exits with status 1.
pub(crate) fn fail(why: &str) -> ! {
    eprintln!("history benchmark stopped: {why}");
    std::process::exit(1)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Checks the page at `offset` (rows before it) of the answer to `path`.
fn check_page(path: &str, html: &str, expected: &Expected, offset: usize) {
    let page = PAGE as usize;
    let shown = page_ids(html);
    let want = expected.total.saturating_sub(offset).min(page);
    if shown.len() != want {
        fail(&format!(
            "{path}: the page shows {} rows, expected {want} ({} visits match, {offset} on earlier pages)",
            shown.len(),
            expected.total
        ));
    }
    let ids = &expected.ids[offset..offset + want];
    if let Some(i) = (0..want).find(|&i| shown[i] != ids[i]) {
        fail(&format!(
            "{path}: row {} is visit {}, expected visit {}",
            offset + i + 1,
            shown[i],
            ids[i]
        ));
    }
    let more = expected.total > offset + want;
    if next_link(html).is_some() != more {
        fail(&format!(
            "{path}: \"next\" link {}, expected {} ({} visits match, {} shown so far)",
            if more { "missing" } else { "present" },
            if more { "one" } else { "none" },
            expected.total,
            offset + want
        ));
    }
}

/// Prints one table line for `times` (sorted in place) and adds them to `all`.
fn report(name: &str, matched: &str, times: &mut Vec<f64>, all: &mut Vec<f64>) {
    times.sort_by(f64::total_cmp);
    println!(
        "| {name} | {:.1} | {:.1} | {:.1} | {matched} |",
        percentile(times, 0.5),
        percentile(times, 0.95),
        times[times.len() - 1]
    );
    all.append(times);
}

#[tokio::main]
async fn main() {
    let visits: u64 = arg("--visits")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir =
        PathBuf::from(arg("--data").unwrap_or_else(|| format!("target/bench/history-{visits}")));
    let seeded = match Seeded::load(&dir) {
        Some(s) => s,
        None => seed::seed(&dir, visits).await,
    };
    let truth = Truth::load(&dir.join(seed::TRUTH_FILE), seed::ZONE);
    eprintln!("{} visits seeded in {}", truth.len(), dir.display());
    let config = seed::config_for(&dir);
    let store: Store =
        open_store(&config, KeyRing::load(&dir.join("genkan.key")).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The server's "now": noon of the last seeded day, in the tenant's zone.
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    let today = now
        .with_timezone(&seed::ZONE.parse::<chrono_tz::Tz>().unwrap())
        .date_naive();
    assert_eq!(
        today,
        seed::last_day(),
        "the server's today is the last seeded day"
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let app = Application::build(config, store, clock, listener).unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_without_background_jobs(std::future::pending()));
    let client = Client::sign_in(&base, &seeded.password).await;

    let (first, last) = (seed::first_day(), seed::last_day());
    let year = Search {
        from: Some(first),
        to: Some(last),
        ..Search::default()
    };
    let june = Search {
        from: NaiveDate::from_ymd_opt(2026, 6, 1),
        to: NaiveDate::from_ymd_opt(2026, 6, 30),
        ..Search::default()
    };
    let (sites, hosts) = (&seeded.sites, &seeded.hosts);
    let pick = |r: &mut Rng, list: &[i64]| list[(r.next() % list.len() as u64) as usize];
    type Make<'a> = Box<dyn Fn(&mut Rng) -> Search + 'a>;
    let scenarios: Vec<(&str, Make<'_>)> = vec![
        ("default (last 30 days)", Box::new(|_| Search::default())),
        ("whole year", Box::new(|_| year.clone())),
        (
            "one host, year",
            Box::new(|r| Search {
                host: Some(pick(r, hosts)),
                ..year.clone()
            }),
        ),
        (
            "one site, year",
            Box::new(|r| Search {
                site: Some(pick(r, sites)),
                ..year.clone()
            }),
        ),
        (
            "visitor family name, year",
            Box::new(|r| Search {
                visitor: Some(r.pick(FAMILY).to_owned()),
                ..year.clone()
            }),
        ),
        (
            "visitor full name, year",
            Box::new(|r| Search {
                visitor: Some(format!("{}{}", r.pick(FAMILY), r.pick(GIVEN))),
                ..year.clone()
            }),
        ),
        (
            "company, year",
            Box::new(|r| Search {
                company: Some(format!("{}{}", r.pick(COMPANY_A), r.pick(COMPANY_B))),
                ..year.clone()
            }),
        ),
        (
            "status inside, year",
            Box::new(|_| Search {
                inside: true,
                ..year.clone()
            }),
        ),
        (
            "name + site + month",
            Box::new(|r| Search {
                site: Some(pick(r, sites)),
                visitor: Some(r.pick(FAMILY).to_owned()),
                ..june.clone()
            }),
        ),
    ];
    let page = PAGE as usize;
    let mut rng = Rng(42);
    let (mut all, mut checked_rows) = (Vec::new(), 0usize);
    println!("| query | p50 ms | p95 ms | max ms | rows matching (min–max) |");
    println!("|---|---|---|---|---|");
    for (name, make) in &scenarios {
        let (mut times, mut matched) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let search = make(&mut rng);
            let path = search.path();
            let (ms, body) = client.get(&path).await;
            times.push(ms);
            let expected = truth.expect(&search, today, page);
            check_page(&path, &body, &expected, 0);
            checked_rows += expected.ids.len();
            matched.push(expected.total);
        }
        let (lo, hi) = (matched.iter().min().unwrap(), matched.iter().max().unwrap());
        report(name, &format!("{lo}–{hi}"), &mut times, &mut all);
    }
    // Deep pages: follow "next" links from the first page of the whole year.
    let expected = truth.expect(&year, today, ROUNDS * page);
    let (mut deep, mut path) = (Vec::new(), year.path());
    for round in 0..ROUNDS {
        let (ms, body) = client.get(&path).await;
        deep.push(ms);
        check_page(&path, &body, &expected, round * page);
        checked_rows += page_ids(&body).len();
        match next_link(&body) {
            Some(next) => path = next,
            None => break,
        }
    }
    report(
        &format!("pages 1-{} following \"next\"", deep.len()),
        &expected.total.to_string(),
        &mut deep,
        &mut all,
    );
    all.sort_by(f64::total_cmp);
    println!(
        "\nall {} page loads: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; {checked_rows} rows checked",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        all[all.len() - 1]
    );

    // CSV export of the whole year, streamed to a file; checked once it is complete.
    let file = dir.join("visits-export.csv");
    let e = client
        .export(&first.to_string(), &last.to_string(), &file)
        .await;
    let cells = csv_first_cells(&std::fs::read(&file).unwrap());
    std::fs::remove_file(&file).unwrap();
    let want = truth.export(first, last);
    if cells.len() != want.len() {
        fail(&format!(
            "CSV export {first}..{last}: {} rows, expected {}",
            cells.len(),
            want.len()
        ));
    }
    if let Some(i) = (0..want.len()).find(|&i| cells[i] != want[i].to_string()) {
        fail(&format!(
            "CSV export {first}..{last}: row {} is visit {}, expected visit {}",
            i + 1,
            cells[i],
            want[i]
        ));
    }
    let rows = cells.len();
    println!(
        "\nCSV export: {rows} rows (as expected), {:.1} MB in {:.2} s = {:.0} rows/s; process RSS {} MiB before, peak {} MiB during",
        e.bytes as f64 / 1e6,
        e.secs,
        rows as f64 / e.secs,
        e.rss_before / 1024,
        e.rss_peak / 1024
    );
}
