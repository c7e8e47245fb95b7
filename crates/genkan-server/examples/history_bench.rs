//! Benchmark of the visit history page and the CSV export with a large database.
//!
//! `cargo run --release -p genkan-server --example history_bench -- [--visits N] [--data DIR]`
//!
//! The first run seeds DIR (default `target/bench/history`) through the store's own
//! use cases — appointments with 50 visitors each over one year, every visitor checked
//! in at a kiosk and most checked out — so the data has every index and search row a
//! real installation has. Later runs reuse it. The server is then started on
//! 127.0.0.1:0 and measured over HTTP with a signed-in admin session.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark tool fails loudly"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveTime, TimeZone as _, Utc};
use genkan_core::access::Role;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_core::{Clock, ManualClock};
use genkan_server::config::Config;
use genkan_server::passwords::Passwords;
use genkan_server::startup::{Application, open_store};
use genkan_store::kiosks::KioskAuth;
use genkan_store::tenants::NewTenant;
use genkan_store::visits::{PassKey, Presented};
use genkan_store::{AuditCtx, KeyRing, Store};

const FAMILY: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
    "藤田",
    "後藤",
    "近藤",
    "村上",
    "遠藤",
    "青木",
    "坂本",
];
const GIVEN: &[&str] = &[
    "太郎",
    "花子",
    "一郎",
    "健",
    "陽子",
    "大輔",
    "美咲",
    "翔太",
    "由美",
    "直樹",
    "恵",
    "拓也",
    "愛",
    "誠",
    "彩",
    "翼",
    "優子",
    "亮",
    "真由美",
    "浩",
];
const LATIN: &[&str] = &[
    "John Smith",
    "Emma Brown",
    "Liam Wilson",
    "Olivia Taylor",
    "Noah Martin",
    "Ava Thompson",
];
const COMPANY_A: &[&str] = &[
    "東京", "大阪", "日本", "北斗", "新星", "旭", "富士", "青葉", "桜", "Global", "Pacific", "Nova",
];
const COMPANY_B: &[&str] = &[
    "商事",
    "工業",
    "電機",
    "物産",
    "システムズ",
    "建設",
    "製作所",
    "Holdings",
    "Labs",
    "Trading",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: reproducible data without a dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn config_for(dir: &Path) -> Config {
    let mut c = Config::default();
    c.data.dir = dir.to_path_buf();
    c.server.listen = "127.0.0.1:0".to_owned();
    c.server.public_url = "http://127.0.0.1".to_owned();
    c.auth.argon2_memory_kib = 19_456;
    c
}

async fn seed(dir: &Path, visits: u64) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let key_path = dir.join("genkan.key");
    if !key_path.exists() {
        KeyRing::generate().save_new(&key_path).unwrap();
    }
    let config = config_for(dir);
    let store = open_store(&config, KeyRing::load(&key_path).unwrap()).unwrap();
    let zone = TimeZone::default();
    let start_day = zone.local_date(Utc.with_ymd_and_hms(2025, 11, 24, 0, 0, 0).unwrap());
    let clock = ManualClock::new(zone.start_of_day(start_day));
    let ctx = |tenant| AuditCtx::system(Some(tenant), clock.now());
    let tenant = store
        .create_tenant(
            NewTenant {
                slug: "bench".into(),
                name: OrgName::parse("Bench KK").unwrap(),
                default_locale: Locale::Ja,
                time_zone: zone,
            },
            AuditCtx::system(None, clock.now()),
        )
        .await
        .unwrap();
    let mut sites = Vec::new();
    for name in ["Tokyo HQ", "Osaka", "Fukuoka"] {
        sites.push(
            store
                .create_site(
                    tenant.id,
                    OrgName::parse(name).unwrap(),
                    zone,
                    String::new(),
                    ctx(tenant.id),
                )
                .await
                .unwrap()
                .id,
        );
    }
    let password = "bench-admin-password-2026".to_owned();
    let hash = Passwords::new(&config.auth).hash(&password);
    store
        .create_user(
            tenant.id,
            EmailAddress::parse("admin@bench.example").unwrap(),
            DisplayName::parse("Bench Admin").unwrap(),
            Role::Admin,
            Some(hash),
            ctx(tenant.id),
        )
        .await
        .unwrap();
    let mut hosts = Vec::new();
    for i in 0..50 {
        let u = store
            .create_user(
                tenant.id,
                EmailAddress::parse(&format!("host{i}@bench.example")).unwrap(),
                DisplayName::parse(&format!("Host {i:02}")).unwrap(),
                Role::Host,
                None,
                ctx(tenant.id),
            )
            .await
            .unwrap();
        hosts.push(u.id);
    }
    let mut kiosks: Vec<KioskAuth> = Vec::new();
    for site in &sites {
        let k = store
            .create_kiosk(tenant.id, *site, "Lobby".into(), ctx(tenant.id))
            .await
            .unwrap();
        let paired = store
            .pair_kiosk(&k.pairing_code, None, ctx(tenant.id))
            .await
            .unwrap()
            .unwrap();
        kiosks.push(
            store
                .kiosk_by_credential(&paired.credential)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let per_day = visits.div_ceil(365);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut done = 0u64;
    let t0 = Instant::now();
    let mut request = 0u64;
    for day in 0..365 {
        let date = start_day + Duration::days(day);
        let mut today_left = per_day.min(visits - done);
        while today_left > 0 {
            let n = today_left.min(50);
            let site_ix = (rng.next() % 3) as usize;
            let hour = 9 + (rng.next() % 8) as u32;
            let starts = zone.start_of_day(date)
                + (date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap())
                    - date.and_time(NaiveTime::MIN));
            clock.set(starts - Duration::hours(1));
            let visitors: Vec<VisitorInput> = (0..n)
                .map(|_| VisitorInput {
                    name: if rng.next().is_multiple_of(10) {
                        rng.pick(LATIN).to_owned()
                    } else {
                        format!("{} {}", rng.pick(FAMILY), rng.pick(GIVEN))
                    },
                    company: Some(format!("{}{}", rng.pick(COMPANY_A), rng.pick(COMPANY_B))),
                    ..VisitorInput::default()
                })
                .collect();
            let input = AppointmentInput {
                site_id: SiteId(sites[site_ix].get()),
                host_id: UserId(hosts[(rng.next() % hosts.len() as u64) as usize].get()),
                title: Some("Meeting".into()),
                starts_at: starts,
                ends_at: starts + Duration::hours(1),
                valid_from_date: None,
                valid_until_date: None,
                visitors,
            };
            let created = store
                .create_appointment(
                    tenant.id,
                    input.validate(Locale::Ja).unwrap(),
                    ctx(tenant.id),
                )
                .await
                .unwrap()
                .unwrap();
            // Arrivals and departures are sent concurrently, as many kiosks would.
            let arrive = starts - Duration::minutes(5);
            let mut tasks = Vec::new();
            for pass in &created.passes {
                request += 1;
                let (store, kiosk, token, id) =
                    (store.clone(), kiosks[site_ix], pass.token.clone(), request);
                let depart = !rng.next().is_multiple_of(20);
                tasks.push(tokio::spawn(async move {
                    let key = PassKey::Token(token.hash());
                    let p = Presented {
                        request_id: format!("seed-in-{id:010}"),
                        key,
                        offline_at: None,
                    };
                    store
                        .check_in(kiosk, p, AuditCtx::system(Some(kiosk.tenant_id), arrive))
                        .await
                        .unwrap()
                        .unwrap();
                    if depart {
                        let p = Presented {
                            request_id: format!("seed-out-{id:010}"),
                            key,
                            offline_at: None,
                        };
                        store
                            .check_out(
                                kiosk,
                                p,
                                AuditCtx::system(
                                    Some(kiosk.tenant_id),
                                    arrive + Duration::minutes(70),
                                ),
                            )
                            .await
                            .unwrap()
                            .unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            done += n;
            today_left -= n;
        }
        if day % 30 == 0 {
            eprintln!(
                "seeded {done} visits ({:.0}/s)",
                done as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "seeded {done} visits in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    std::fs::write(
        dir.join("seeded.json"),
        serde_json::json!({"visits": done, "password": password}).to_string(),
    )
    .unwrap();
    password
}

/// Makes the path of one history request.
type Query = Box<dyn Fn(&mut Rng) -> String>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn sign_in(http: &reqwest::Client, base: &str, password: &str) -> String {
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("genkan_pre=")
                .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        })
        .unwrap();
    let resp = http
        .post(format!("{base}/login"))
        .header("cookie", format!("genkan_pre={pre}"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("csrf", pre.as_str()),
            ("organisation", "bench"),
            ("email", "admin@bench.example"),
            ("password", password),
        ]))
        .send()
        .await
        .unwrap();
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("genkan_session=")
                .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        })
        .expect("signed in")
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let visits: u64 = arg("--visits")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir =
        PathBuf::from(arg("--data").unwrap_or_else(|| format!("target/bench/history-{visits}")));
    let password = match std::fs::read_to_string(dir.join("seeded.json")) {
        Ok(text) => serde_json::from_str::<serde_json::Value>(&text).unwrap()["password"]
            .as_str()
            .unwrap()
            .to_owned(),
        Err(_) => seed(&dir, visits).await,
    };
    let config = config_for(&dir);
    let store: Store =
        open_store(&config, KeyRing::load(&dir.join("genkan.key")).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap(),
    ));
    let app = Application::build(config, store, clock, listener).unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = sign_in(&http, &base, &password).await;
    let cookie = format!("genkan_session={session}");
    let get = |path: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let body = r.text().await.unwrap();
            (t.elapsed().as_secs_f64() * 1000.0, body)
        }
    };
    let mut rng = Rng(42);
    let scenarios: Vec<(&str, Query)> = vec![
        ("default (last 30 days)", Box::new(|_| "/visits".to_owned())),
        (
            "whole year",
            Box::new(|_| "/visits?from=2025-11-24&to=2026-11-23".to_owned()),
        ),
        (
            "one host, year",
            Box::new(|r| {
                format!(
                    "/visits?from=2025-11-24&to=2026-11-23&host={}",
                    3 + r.next() % 50
                )
            }),
        ),
        (
            "one site, year",
            Box::new(|r| {
                format!(
                    "/visits?from=2025-11-24&to=2026-11-23&site={}",
                    1 + r.next() % 3
                )
            }),
        ),
        (
            "visitor family name, year",
            Box::new(|r| {
                format!(
                    "/visits?from=2025-11-24&to=2026-11-23&visitor={}",
                    url::form_urlencoded::byte_serialize(r.pick(FAMILY).as_bytes())
                        .collect::<String>()
                )
            }),
        ),
        (
            "visitor full name, year",
            Box::new(|r| {
                format!(
                    "/visits?from=2025-11-24&to=2026-11-23&visitor={}",
                    url::form_urlencoded::byte_serialize(
                        format!("{}{}", r.pick(FAMILY), r.pick(GIVEN)).as_bytes()
                    )
                    .collect::<String>()
                )
            }),
        ),
        (
            "company, year",
            Box::new(|r| {
                format!(
                    "/visits?from=2025-11-24&to=2026-11-23&company={}",
                    url::form_urlencoded::byte_serialize(
                        format!("{}{}", r.pick(COMPANY_A), r.pick(COMPANY_B)).as_bytes()
                    )
                    .collect::<String>()
                )
            }),
        ),
        (
            "status inside, year",
            Box::new(|_| "/visits?from=2025-11-24&to=2026-11-23&status=inside".to_owned()),
        ),
        (
            "name + site + month",
            Box::new(|r| {
                format!(
                    "/visits?from=2026-06-01&to=2026-06-30&site={}&visitor={}",
                    1 + r.next() % 3,
                    url::form_urlencoded::byte_serialize(r.pick(FAMILY).as_bytes())
                        .collect::<String>()
                )
            }),
        ),
    ];
    let mut all = Vec::new();
    println!("| query | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|");
    for (name, make) in &scenarios {
        let mut times = Vec::new();
        for _ in 0..40 {
            let (ms, _) = get(make(&mut rng)).await;
            times.push(ms);
        }
        // Deep pages: follow "next" links from the first page.
        times.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1]
        );
        all.extend(times);
    }
    let mut deep = Vec::new();
    let mut path = "/visits?from=2025-11-24&to=2026-11-23".to_owned();
    for _ in 0..40 {
        let (ms, body) = get(path.clone()).await;
        deep.push(ms);
        let Some(next) = body
            .split("class=\"button\" href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        else {
            break;
        };
        path = next.replace("&amp;", "&");
    }
    deep.sort_by(f64::total_cmp);
    println!(
        "| pages 1-40 following \"next\" | {:.1} | {:.1} | {:.1} |",
        percentile(&deep, 0.5),
        percentile(&deep, 0.95),
        deep[deep.len() - 1]
    );
    all.extend(deep);
    all.sort_by(f64::total_cmp);
    println!(
        "\nall {} page loads: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        all[all.len() - 1]
    );

    // CSV export of the whole year, streamed.
    let page = http
        .get(format!("{base}/exports"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let rss_before = rss_kib();
    let t = Instant::now();
    let mut resp = http
        .post(format!("{base}/exports/visits.csv"))
        .header("cookie", &cookie)
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("csrf", csrf.as_str()),
            ("from", "2025-11-24"),
            ("to", "2026-11-23"),
        ]))
        .send()
        .await
        .unwrap();
    let (mut bytes, mut lines, mut rss_peak) = (0usize, 0usize, rss_before);
    while let Some(chunk) = resp.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        rss_peak = rss_peak.max(rss_kib());
    }
    let secs = t.elapsed().as_secs_f64();
    let rows = lines.saturating_sub(1);
    println!(
        "\nCSV export: {rows} rows, {:.1} MB in {secs:.2} s = {:.0} rows/s; process RSS {} MiB before, peak {} MiB during",
        bytes as f64 / 1e6,
        rows as f64 / secs,
        rss_before / 1024,
        rss_peak / 1024
    );
}
