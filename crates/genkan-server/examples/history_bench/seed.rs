//! The benchmark's data: one year of visits made through the store's own use cases,
//! and beside the database the record of what was made (`truth.tsv`, `seeded.json`)
//! that every answer is checked against.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveTime};
use genkan_core::access::Role;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_core::{Clock, ManualClock};
use genkan_server::config::Config;
use genkan_server::passwords::Passwords;
use genkan_server::startup::open_store;
use genkan_store::kiosks::KioskAuth;
use genkan_store::tenants::NewTenant;
use genkan_store::visits::{PassKey, Presented};
use genkan_store::{AuditCtx, KeyRing};
use serde::{Deserialize, Serialize};

/// The ground truth, one line per visit (see [`crate::truth`]).
pub(crate) const TRUTH_FILE: &str = "truth.tsv";
/// Written last: its presence means the seed completed.
const SEEDED_FILE: &str = "seeded.json";
/// The tenant's zone; the seed's days are its local days.
pub(crate) const ZONE: &str = "Asia/Tokyo";
/// Days seeded, from [`first_day`].
pub(crate) const DAYS: i64 = 365;

/// The first local day with visits.
pub(crate) fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 24).expect("a date")
}

/// The last local day with visits.
pub(crate) fn last_day() -> NaiveDate {
    first_day() + Duration::days(DAYS - 1)
}

pub(crate) const FAMILY: &[&str] = &[
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
pub(crate) const GIVEN: &[&str] = &[
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
pub(crate) const LATIN: &[&str] = &[
    "John Smith",
    "Emma Brown",
    "Liam Wilson",
    "Olivia Taylor",
    "Noah Martin",
    "Ava Thompson",
];
pub(crate) const COMPANY_A: &[&str] = &[
    "東京", "大阪", "日本", "北斗", "新星", "旭", "富士", "青葉", "桜", "Global", "Pacific", "Nova",
];
pub(crate) const COMPANY_B: &[&str] = &[
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

/// xorshift64*: reproducible data and queries without a dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next number.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// One element of `list`.
    pub(crate) fn pick<'a, T: ?Sized>(&mut self, list: &[&'a T]) -> &'a T {
        list[(self.next() % list.len() as u64) as usize]
    }
}

/// What the benchmark needs to know about a seeded directory.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Seeded {
    /// Visits made.
    pub(crate) visits: u64,
    /// The administrator's password.
    pub(crate) password: String,
    /// Site ids.
    pub(crate) sites: Vec<i64>,
    /// Host (user) ids.
    pub(crate) hosts: Vec<i64>,
}

impl Seeded {
    /// The record of a completed seed in `dir`, if any. A directory seeded before the
    /// truth file existed cannot be checked and must be seeded again.
    pub(crate) fn load(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(SEEDED_FILE)).ok()?;
        match serde_json::from_str(&text) {
            Ok(seeded) if dir.join(TRUTH_FILE).exists() => Some(seeded),
            _ => crate::fail(&format!(
                "{} was seeded by an older version of this benchmark (no {TRUTH_FILE} to check \
                 answers against); delete the directory to seed it again",
                dir.display()
            )),
        }
    }
}

/// The server configuration for `dir`.
pub(crate) fn config_for(dir: &Path) -> Config {
    let mut c = Config::default();
    c.data.dir = dir.to_path_buf();
    c.server.listen = "127.0.0.1:0".to_owned();
    c.server.public_url = "http://127.0.0.1".to_owned();
    c.auth.argon2_memory_kib = 19_456;
    c
}

/// One visit as the seed made it: a line of the truth file.
fn truth_line(
    visit_id: i64,
    arrived: chrono::DateTime<chrono::Utc>,
    site: i64,
    host: i64,
    inside: bool,
    name: &str,
    company: &str,
) -> String {
    assert!(
        !format!("{name}{company}").contains(['\t', '\n']),
        "names are written to a TSV file"
    );
    format!(
        "{visit_id}\t{}\t{site}\t{host}\t{}\t{name}\t{company}\n",
        arrived.timestamp(),
        u8::from(inside)
    )
}

/// Seeds `dir` with about `visits` visits over [`DAYS`] days and writes the truth file.
pub(crate) async fn seed(dir: &Path, visits: u64) -> Seeded {
    std::fs::create_dir_all(dir).unwrap();
    let key_path = dir.join("genkan.key");
    if !key_path.exists() {
        KeyRing::generate().save_new(&key_path).unwrap();
    }
    let config = config_for(dir);
    let store = open_store(&config, KeyRing::load(&key_path).unwrap()).unwrap();
    let zone = TimeZone::parse(ZONE).unwrap();
    let clock = ManualClock::new(zone.start_of_day(first_day()));
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
        let site = store
            .create_site(
                tenant.id,
                OrgName::parse(name).unwrap(),
                zone,
                String::new(),
                ctx(tenant.id),
            )
            .await
            .unwrap();
        sites.push(site.id);
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
    let mut truth = std::io::BufWriter::new(std::fs::File::create(dir.join(TRUTH_FILE)).unwrap());
    let per_day = visits.div_ceil(DAYS as u64);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut done = 0u64;
    let t0 = Instant::now();
    let mut request = 0u64;
    for day in 0..DAYS {
        let date = first_day() + Duration::days(day);
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
            let host = hosts[(rng.next() % hosts.len() as u64) as usize];
            let input = AppointmentInput {
                site_id: SiteId(sites[site_ix].get()),
                host_id: UserId(host.get()),
                title: Some("Meeting".into()),
                starts_at: starts,
                ends_at: starts + Duration::hours(1),
                valid_from_date: None,
                valid_until_date: None,
                visitors: visitors.clone(),
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
            assert_eq!(created.passes.len(), visitors.len(), "one pass per visitor");
            // Arrivals and departures are sent concurrently, as many kiosks would.
            let arrive = starts - Duration::minutes(5);
            let mut tasks = Vec::new();
            for (pass, visitor) in created.passes.iter().zip(&visitors) {
                request += 1;
                let (store, kiosk, token, id) =
                    (store.clone(), kiosks[site_ix], pass.token.clone(), request);
                let depart = !rng.next().is_multiple_of(20);
                let (name, company) = (
                    visitor.name.clone(),
                    visitor.company.clone().unwrap_or_default(),
                );
                let (site, host) = (sites[site_ix].get(), host.get());
                tasks.push(tokio::spawn(async move {
                    let key = PassKey::Token(token.hash());
                    let p = Presented {
                        request_id: format!("seed-in-{id:010}"),
                        key,
                        offline_at: None,
                    };
                    let welcome = store
                        .check_in(kiosk, p, AuditCtx::system(Some(kiosk.tenant_id), arrive))
                        .await
                        .unwrap()
                        .unwrap();
                    // The pass is the visitor's it was issued for.
                    assert_eq!(welcome.visitor_name, name);
                    assert_eq!(welcome.visitor_company.unwrap_or_default(), company);
                    if depart {
                        let p = Presented {
                            request_id: format!("seed-out-{id:010}"),
                            key,
                            offline_at: None,
                        };
                        let at = arrive + Duration::minutes(70);
                        store
                            .check_out(kiosk, p, AuditCtx::system(Some(kiosk.tenant_id), at))
                            .await
                            .unwrap()
                            .unwrap();
                    }
                    truth_line(
                        welcome.visit_id,
                        arrive,
                        site,
                        host,
                        !depart,
                        &name,
                        &company,
                    )
                }));
            }
            for t in tasks {
                truth.write_all(t.await.unwrap().as_bytes()).unwrap();
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
    truth.into_inner().unwrap().sync_all().unwrap();
    eprintln!(
        "seeded {done} visits in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    let seeded = Seeded {
        visits: done,
        password,
        sites: sites.iter().map(|s| s.get()).collect(),
        hosts: hosts.iter().map(|h| h.get()).collect(),
    };
    std::fs::write(
        dir.join(SEEDED_FILE),
        serde_json::to_string(&seeded).unwrap(),
    )
    .unwrap();
    seeded
}
