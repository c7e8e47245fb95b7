//! The main pages with realistic data, in Japanese and in English: each page is
//! checked (right language, no console errors or CSP violations, nothing wider than
//! the window, not an error page) and saved as a PNG in the screenshots folder
//! (`target/screenshots/`, or `$GENKAN_SCREENSHOTS`).

use genkan_e2e::api::Api;
use genkan_e2e::browser::{Browser, WINDOW, fill_element, select_element};
use serde_json::{Value, json};

use super::{TenantNames, WebApp, request_id};

/// A reception desk's day: hosts, visitors (some already in, one gone), a
/// contractor with a period pass, in both languages.
struct Scene {
    first_appointment: i64,
    host: i64,
}

/// `hour:minute` today in Japan. Passes are valid all day by default, so visitors can
/// check in whatever the time of the test run.
fn today_at(hour: u32, minute: u32) -> chrono::DateTime<chrono::Utc> {
    use genkan_core::Clock as _;
    let jst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    let today = genkan_core::SystemClock
        .now()
        .with_timezone(&jst)
        .date_naive();
    today
        .and_hms_opt(hour, minute, 0)
        .unwrap()
        .and_local_timezone(jst)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

async fn morning(app: &WebApp) -> Scene {
    let password = "quiet lantern mosaic 7391";
    let tanaka = app
        .user("tanaka@minato-seiki.example", "田中 一郎", "host", password)
        .await;
    let sasaki = app
        .user(
            "sasaki@minato-seiki.example",
            "佐々木 美咲",
            "host",
            password,
        )
        .await;
    let carter = app
        .user(
            "carter@minato-seiki.example",
            "Emily Carter",
            "host",
            password,
        )
        .await;
    app.user(
        "uketsuke@minato-seiki.example",
        "受付 山本",
        "receptionist",
        password,
    )
    .await;
    let osaka = app
        .api
        .create_site("大阪工場", "Asia/Tokyo", "大阪府大阪市北区梅田 3-1-1")
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let kiosk = app.kiosk(app.site_id, "1F ロビー受付").await;
    app.kiosk(osaka, "正門").await;

    let slots =
        [(9, 30), (10, 0), (11, 0), (13, 30), (15, 0), (8, 30)].map(|(h, m)| today_at(h, m));
    let plans: [(i64, i64, &str, Value); 5] = [
        (
            app.site_id,
            tanaka,
            "新製品の打ち合わせ",
            json!([
                {"name": "佐藤 健", "company": "株式会社サンプル商事", "email": "sato@sample-shoji.example", "phone": "03-1234-5678", "locale": "ja"},
                {"name": "John Smith", "company": "Contoso Ltd.", "email": "john.smith@contoso.example", "locale": "en"},
            ]),
        ),
        (
            app.site_id,
            carter,
            "Quarterly business review",
            json!([{"name": "María García", "company": "Iberia Tech S.L.", "email": "maria@iberia-tech.example", "locale": "en"}]),
        ),
        (
            osaka,
            sasaki,
            "工場見学",
            json!([
                {"name": "李 明", "company": "上海精密有限公司", "email": "li.ming@shanghai-seimitsu.example", "locale": "en"},
                {"name": "鈴木 由美", "company": "日本物流株式会社", "email": "suzuki@nippon-butsuryu.example", "locale": "ja"},
            ]),
        ),
        (
            app.site_id,
            sasaki,
            "採用面接",
            json!([{"name": "伊藤 翔太", "email": "ito.shota@mail.example", "phone": "090-1234-5678", "locale": "ja"}]),
        ),
        (
            app.site_id,
            tanaka,
            "Security audit",
            json!([{"name": "Oliver Brown", "company": "Northwind Security", "email": "oliver@northwind.example", "locale": "en"}]),
        ),
    ];
    let mut created = Vec::new();
    for (i, (site, host, title, visitors)) in plans.into_iter().enumerate() {
        created.push(app.appointment(site, host, title, slots[i], visitors).await);
    }
    // A contractor with a pass valid all week.
    let today = slots[5].with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    app.api
        .create_appointment_with_passes(json!({
            "site_id": app.site_id, "host_id": tanaka, "title": "空調設備の点検",
            "starts_at": slots[5].to_rfc3339(), "ends_at": (slots[5] + chrono::Duration::hours(8)).to_rfc3339(),
            "valid_from_date": today.date_naive().to_string(),
            "valid_until_date": (today.date_naive() + chrono::Duration::days(4)).to_string(),
            "visitors": [{"name": "高橋 誠", "company": "高橋設備工業", "phone": "06-6123-4567", "locale": "ja"}],
        }))
        .await
        .ok();

    // Three arrive at the lobby kiosk; one of them has already left.
    let pass = |a: usize, v: usize| {
        created[a]["passes"][v]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (n, token) in [pass(0, 0), pass(0, 1), pass(1, 0)].into_iter().enumerate() {
        check(&kiosk, "check-in", n, &token).await;
    }
    check(&kiosk, "check-out", 9, &pass(1, 0)).await;
    Scene {
        first_appointment: created[0]["id"].as_i64().unwrap(),
        host: tanaka,
    }
}

async fn check(kiosk: &Api, what: &str, n: usize, token: &str) {
    let body = json!({"request_id": request_id(n), "token": token});
    let answer = if what == "check-in" {
        kiosk.check_in(body).await
    } else {
        kiosk.check_out(body).await
    };
    answer.ok();
}

/// Checks the page shown now and saves it as `<name>.png`.
async fn shoot(browser: &Browser, name: &str, lang: &str) {
    let page = browser
        .eval("return {lang: document.documentElement.lang, width: document.documentElement.scrollWidth, error: document.querySelector('.status-code') !== null};")
        .await;
    assert_eq!(page["lang"], lang, "{name}");
    assert_eq!(page["error"], false, "{name} is an error page");
    assert!(
        page["width"].as_u64().unwrap() <= u64::from(WINDOW.0),
        "{name} is wider than the window: {}",
        page["width"]
    );
    let problems: Vec<String> = browser
        .console()
        .await
        .into_iter()
        .filter(|l| l.starts_with("SEVERE"))
        .collect();
    assert!(problems.is_empty(), "{name}: {problems:?}");
    let path = browser.screenshot(name).await;
    let png = std::fs::read(&path).unwrap();
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, WINDOW.0, "{}", path.display());
}

/// Opens the new appointment form and types a two-visitor appointment into it.
async fn filled_form(browser: &Browser, site: i64, host: i64) {
    browser.goto("/appointments/new").await;
    browser
        .select("select[name=site_id]", &site.to_string())
        .await;
    browser
        .select("select[name=host_id]", &host.to_string())
        .await;
    browser
        .fill("input[name=title]", "Joint development kickoff")
        .await;
    browser.click("button[data-add-visitor]").await;
    let rows = [
        [
            "Sophie Martin",
            "Lumière Optics SAS",
            "sophie.martin@lumiere.example",
            "+33 1 23 45 67 89",
            "en",
        ],
        [
            "山口 大輔",
            "株式会社ヤマグチ電機",
            "yamaguchi@yamaguchi-denki.example",
            "045-123-4567",
            "ja",
        ],
    ];
    for (i, field) in [
        "visitor_name",
        "visitor_company",
        "visitor_email",
        "visitor_phone",
    ]
    .iter()
    .enumerate()
    {
        let inputs = browser.find_all(&format!("input[name={field}]")).await;
        for (input, row) in inputs.iter().zip(&rows) {
            fill_element(input, row[i]).await;
        }
    }
    let locales = browser.find_all("select[name=visitor_locale]").await;
    for (select, row) in locales.iter().zip(&rows) {
        select_element(select, row[4]).await;
    }
    let tomorrow = today_at(10, 0) + chrono::Duration::days(1);
    let date = tomorrow
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .date_naive();
    browser
        .set_value("input[name=date]", &date.to_string())
        .await;
    browser.set_value("input[name=start]", "10:00").await;
    browser.set_value("input[name=end]", "11:30").await;
    browser.eval("document.activeElement.blur();").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_pages_render_cleanly_in_japanese_and_english_and_are_saved_as_screenshots() {
    let names = TenantNames {
        company: "ミナト精機株式会社",
        site: "東京本社",
        admin: "山田 花子",
    };
    let app = WebApp::start_named("minato", &names).await;
    let scene = morning(&app).await;

    let ja = app.browser("ja").await;
    ja.goto("/login").await;
    ja.fill("input[name=organisation]", &app.org).await;
    ja.fill("input[name=email]", &app.admin_email).await;
    shoot(&ja, "web-login-ja", "ja").await;
    ja.fill("input[name=password]", &app.admin_password).await;
    ja.submit("form[action='/login'] button[type=submit]").await;
    ja.goto("/dashboard").await;
    assert_eq!(ja.find_all("tbody[data-rows=inside] tr").await.len(), 2);
    assert_eq!(ja.find_all("tbody[data-rows=departed] tr").await.len(), 1);
    shoot(&ja, "web-dashboard-ja", "ja").await;
    ja.goto(&format!("/appointments/{}", scene.first_appointment))
        .await;
    shoot(&ja, "web-appointment-ja", "ja").await;
    ja.goto("/appointments").await;
    shoot(&ja, "web-appointments-ja", "ja").await;
    filled_form(&ja, app.site_id, scene.host).await;
    shoot(&ja, "web-appointment-form-ja", "ja").await;
    for (path, name) in [
        ("/onsite", "web-onsite-ja"),
        ("/onsite/muster", "web-muster-ja"),
        ("/visits", "web-visits-ja"),
        ("/users", "web-users-ja"),
        ("/sites", "web-sites-ja"),
        ("/settings", "web-settings-ja"),
        ("/account", "web-account-ja"),
    ] {
        ja.goto(path).await;
        shoot(&ja, name, "ja").await;
    }
    ja.close().await;

    let en = app.admin_browser("en").await;
    shoot(&en, "web-dashboard-en", "en").await;
    filled_form(&en, app.site_id, scene.host).await;
    shoot(&en, "web-appointment-form-en", "en").await;
    en.goto(&format!("/appointments/{}", scene.first_appointment))
        .await;
    shoot(&en, "web-appointment-en", "en").await;
    en.submit("form[action$='/pass'] button").await;
    assert!(
        en.find("svg").await.is_displayed().await.unwrap(),
        "the QR code is shown"
    );
    shoot(&en, "web-pass-en", "en").await;
    for (path, name) in [
        ("/visits", "web-visits-en"),
        ("/onsite", "web-onsite-en"),
        ("/exports", "web-exports-en"),
        ("/users", "web-users-en"),
        ("/sites", "web-sites-en"),
        ("/settings", "web-settings-en"),
    ] {
        en.goto(path).await;
        shoot(&en, name, "en").await;
    }
    en.close().await;
}
