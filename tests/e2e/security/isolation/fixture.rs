//! Three tenants on one real server, each with admins, hosts, a receptionist, two
//! sites, a paired kiosk, API tokens, appointments, visits, a group, signed-in web
//! sessions and a canary string in every name; and what one tenant holds, dumped
//! through its administrator's eyes to compare before and after an attack.

use chrono::Duration;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use reqwest::Method;
use serde_json::{Value, json};

use super::web::{Reply, Web, call, client, ids_after, read};

/// Every staff password of the fixture (the first admin's is generated).
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// An API token and its id.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// The secret.
    pub(crate) secret: String,
    /// Its id in `/api/v1/tokens`.
    pub(crate) id: i64,
}

/// One visitor's pass as issued.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    /// Visitor id.
    pub(crate) visitor_id: i64,
    /// QR token.
    pub(crate) token: String,
    /// Fallback code.
    pub(crate) code: String,
}

/// An appointment of the fixture.
#[derive(Debug, Clone)]
pub(crate) struct Appointment {
    /// Its id.
    pub(crate) id: i64,
    /// Its host.
    pub(crate) host_id: i64,
    /// Its site.
    pub(crate) site_id: i64,
    /// Its visitors' passes.
    pub(crate) passes: Vec<Pass>,
}

/// One tenant of the fixture with every kind of object it can own.
pub(crate) struct Tenant {
    /// Organisation id.
    pub(crate) slug: String,
    /// A string in every name of this tenant; no other tenant's answer may hold it.
    pub(crate) canary: String,
    /// Its sites (the first holds the kiosk).
    pub(crate) site_ids: Vec<i64>,
    /// The first administrator.
    pub(crate) admin_id: i64,
    /// A receptionist.
    pub(crate) desk_id: i64,
    /// Two hosts.
    pub(crate) host_ids: [i64; 2],
    /// Admin-scoped token of the first administrator.
    pub(crate) admin_token: Token,
    /// Receptionist token with the default scopes.
    pub(crate) desk_token: Token,
    /// Tokens of the two hosts with the default scopes.
    pub(crate) host_tokens: [Token; 2],
    /// The paired kiosk's id and credential.
    pub(crate) kiosk: (i64, String),
    /// Appointments: [host 0 with two visitors (the first arrived), host 1 (arrived),
    /// host 0 at the second site (nobody arrived)].
    pub(crate) appointments: Vec<Appointment>,
    /// Visits of the arrived visitors: [host 0's, host 1's].
    pub(crate) visit_ids: Vec<i64>,
    /// A group with the hosts as members.
    pub(crate) group_id: i64,
    /// Signed-in web sessions: admin, receptionist, host 0.
    pub(crate) web_admin: Web,
    /// The receptionist's session.
    pub(crate) web_desk: Web,
    /// Host 0's session.
    pub(crate) web_host: Web,
}

impl Tenant {
    /// Every visitor id of the tenant.
    pub(crate) fn visitor_ids(&self) -> Vec<i64> {
        self.appointments
            .iter()
            .flat_map(|a| a.passes.iter().map(|p| p.visitor_id))
            .collect()
    }

    /// Every user id of the tenant.
    pub(crate) fn user_ids(&self) -> Vec<i64> {
        vec![
            self.admin_id,
            self.desk_id,
            self.host_ids[0],
            self.host_ids[1],
        ]
    }

    /// Every token id of the tenant.
    pub(crate) fn token_ids(&self) -> Vec<i64> {
        [
            &self.admin_token,
            &self.desk_token,
            &self.host_tokens[0],
            &self.host_tokens[1],
        ]
        .iter()
        .map(|t| t.id)
        .collect()
    }

    /// The pass nobody used (second visitor of the first appointment).
    pub(crate) fn unused_pass(&self) -> &Pass {
        &self.appointments[0].passes[1]
    }

    /// An API client with the admin token.
    pub(crate) fn admin(&self, base: &str) -> Api {
        Api::new(base, Some(&self.admin_token.secret))
    }
}

/// A server with three tenants.
pub(crate) struct World {
    /// The running server.
    pub(crate) server: Server,
    /// `acme`, `globex`, `initech`.
    pub(crate) tenants: Vec<Tenant>,
    /// Raw client.
    pub(crate) http: reqwest::Client,
}

/// Creates an API token through the operator CLI.
fn token(server: &Server, slug: &str, email: &str, scopes: &str) -> Token {
    let out = server.genkan(&[
        "token", "create", "--tenant", slug, "--user", email, "--scopes", scopes,
    ]);
    assert!(
        out.status.success(),
        "token create {email} {scopes:?}: {:?} {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    Token {
        secret: v["token"].as_str().unwrap().to_owned(),
        id: v["token_id"].as_i64().unwrap(),
    }
}

/// An appointment body starting now for an hour.
pub(crate) fn appointment_body(site: i64, host: i64, title: &str, visitors: Value) -> Value {
    let now = SystemClock.now();
    let mut body = json!({
        "site_id": site, "host_id": host, "title": title,
        "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(1)).to_rfc3339(),
    });
    body["visitors"] = visitors;
    body
}

async fn appointment(
    admin: &Api,
    site: i64,
    host: i64,
    title: &str,
    visitors: Value,
) -> Appointment {
    let created = admin
        .create_appointment_with_passes(appointment_body(site, host, title, visitors))
        .await
        .ok();
    Appointment {
        id: created["id"].as_i64().unwrap(),
        host_id: host,
        site_id: site,
        passes: created["passes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| Pass {
                visitor_id: p["visitor_id"].as_i64().unwrap(),
                token: p["token"].as_str().unwrap().to_owned(),
                code: p["code"].as_str().unwrap().to_owned(),
            })
            .collect(),
    }
}

async fn user(admin: &Api, email: &str, name: &str, role: &str) -> i64 {
    admin
        .create_user_with_password(email, name, role, PASSWORD)
        .await
        .ok()["id"]
        .as_i64()
        .unwrap()
}

async fn tenant(server: &Server, slug: &str) -> Tenant {
    let canary = format!("Cnry{slug}Q7x");
    let created = server.create_tenant_named(
        slug,
        &format!("{canary} Corporation"),
        &format!("{canary} Head Office"),
        &format!("{canary} Admin"),
    );
    let admin_login = (
        created["admin_email"].as_str().unwrap().to_owned(),
        created["admin_password"].as_str().unwrap().to_owned(),
    );
    let admin_token = token(server, slug, &admin_login.0, "admin");
    let admin = Api::new(&server.url, Some(&admin_token.secret));
    let first_site = created["site_id"].as_i64().unwrap();
    let annex = admin
        .create_site(
            &format!("{canary} Annex"),
            "Asia/Tokyo",
            &format!("1-2-3 {canary} Street"),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let desk_id = user(
        &admin,
        &format!("desk@{slug}.example"),
        &format!("{canary} Desk"),
        "receptionist",
    )
    .await;
    let host_ids = [
        user(
            &admin,
            &format!("host0@{slug}.example"),
            &format!("{canary} Tanaka"),
            "host",
        )
        .await,
        user(
            &admin,
            &format!("host1@{slug}.example"),
            &format!("{canary} Suzuki"),
            "host",
        )
        .await,
    ];
    let defaults = "appointments:read appointments:write visits:read directory:read";
    let desk_token = token(server, slug, &format!("desk@{slug}.example"), defaults);
    let host_tokens = [
        token(server, slug, &format!("host0@{slug}.example"), defaults),
        token(server, slug, &format!("host1@{slug}.example"), defaults),
    ];
    let kiosk_created = admin
        .create_kiosk(first_site, &format!("Lobby {canary}"))
        .await
        .ok();
    let paired = Api::new(&server.url, None)
        .pair_kiosk(kiosk_created["pairing_code"].as_str().unwrap(), "lobby")
        .await
        .ok();
    let kiosk = (
        paired["kiosk_id"].as_i64().unwrap(),
        paired["credential"].as_str().unwrap().to_owned(),
    );
    let visitor = |n: u32| {
        json!({"name": format!("{canary} Visitor {n}"), "company": format!("{canary} KK"),
               "email": format!("v{n}.{}@visitor.example", canary.to_lowercase())})
    };
    let appointments = vec![
        appointment(
            &admin,
            first_site,
            host_ids[0],
            &format!("{canary} design review"),
            json!([visitor(1), visitor(2)]),
        )
        .await,
        appointment(
            &admin,
            first_site,
            host_ids[1],
            &format!("{canary} contract talk"),
            json!([visitor(3)]),
        )
        .await,
        appointment(
            &admin,
            annex,
            host_ids[0],
            &format!("{canary} annex tour"),
            json!([visitor(4)]),
        )
        .await,
    ];
    let kiosk_api = Api::new(&server.url, Some(&kiosk.1));
    let mut visit_ids = Vec::new();
    for (n, a) in appointments[..2].iter().enumerate() {
        let answer = kiosk_api
            .check_in(
                json!({"request_id": format!("fixture-{slug}-{n}"), "token": a.passes[0].token}),
            )
            .await
            .ok();
        visit_ids.push(answer["visit_id"].as_i64().unwrap());
    }
    let web_admin = Web::sign_in(&server.url, slug, &admin_login.0, &admin_login.1).await;
    let web_desk = Web::sign_in(&server.url, slug, &format!("desk@{slug}.example"), PASSWORD).await;
    let web_host = Web::sign_in(
        &server.url,
        slug,
        &format!("host0@{slug}.example"),
        PASSWORD,
    )
    .await;
    let group = web_admin
        .post("/users/groups", &[("name", &format!("{canary} Sales"))])
        .await;
    let group_id = group
        .location
        .as_deref()
        .and_then(|l| l.strip_prefix("/users/groups/"))
        .and_then(|l| l.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("group not created: {} {}", group.status, group.text()));
    let members = web_admin
        .post(
            &format!("/users/groups/{group_id}"),
            &[
                ("member", &host_ids[0].to_string()),
                ("member", &host_ids[1].to_string()),
            ],
        )
        .await;
    assert_eq!(members.status, 303, "{}", members.text());
    Tenant {
        slug: slug.to_owned(),
        canary,
        site_ids: vec![first_site, annex],
        admin_id: created["admin_id"].as_i64().unwrap(),
        desk_id,
        host_ids,
        admin_token,
        desk_token,
        host_tokens,
        kiosk,
        appointments,
        visit_ids,
        group_id,
        web_admin,
        web_desk,
        web_host,
    }
}

impl World {
    /// Starts a server (no mail transport) with the three tenants.
    pub(crate) async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts a server with extra configuration and the three tenants.
    pub(crate) async fn start_with(extra_toml: &str) -> Self {
        let server = Server::start(&ServerOptions {
            smtp_port: None,
            extra_toml: extra_toml.to_owned(),
        });
        let mut tenants = Vec::new();
        for slug in ["acme", "globex", "initech"] {
            tenants.push(tenant(&server, slug).await);
        }
        Self {
            server,
            tenants,
            http: client(),
        }
    }

    /// The server's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.server.url
    }

    /// An API request with `bearer`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        call(&self.http, self.url(), method, path, bearer, body).await
    }

    /// An API request with a JSON body given as text (e.g. with a key twice).
    pub(crate) async fn call_raw(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        json_text: &str,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json_text.to_owned());
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        read(req.send().await.unwrap()).await
    }

    /// Everything tenant `t` holds, as its own administrator reads it: the API's
    /// lists and every appointment with its delivery ledger, group memberships,
    /// and the number of rows in its audit log.
    pub(crate) async fn dump(&self, t: &Tenant) -> Value {
        let bearer = Some(t.admin_token.secret.as_str());
        let mut dump = serde_json::Map::new();
        let all_time = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
        for (key, path) in [
            ("me", "/api/v1/me".to_owned()),
            ("sites", "/api/v1/sites".to_owned()),
            ("users", "/api/v1/users".to_owned()),
            ("kiosks", "/api/v1/kiosks".to_owned()),
            ("tokens", "/api/v1/tokens".to_owned()),
            ("appointments", format!("/api/v1/appointments?{all_time}")),
            ("visits", format!("/api/v1/visits?{all_time}&limit=1000")),
        ] {
            let r = self.call(Method::GET, &path, bearer, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            dump.insert(key.to_owned(), r.json());
        }
        let ids: Vec<i64> = dump["appointments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect();
        for id in ids {
            for path in [
                format!("/api/v1/appointments/{id}"),
                format!("/api/v1/appointments/{id}/deliveries"),
            ] {
                let r = self.call(Method::GET, &path, bearer, None).await;
                assert_eq!(r.status, 200, "{path}: {}", r.text());
                dump.insert(path, r.json());
            }
        }
        let groups = t.web_admin.get("/users/groups").await;
        assert_eq!(groups.status, 200);
        for id in ids_after(&groups.text(), "href=\"/users/groups/") {
            let page = t.web_admin.get(&format!("/users/groups/{id}")).await;
            assert_eq!(page.status, 200);
            dump.insert(format!("group {id}"), json!(checked_members(&page.text())));
        }
        dump.insert("audit".to_owned(), json!(audit_rows(&t.web_admin).await));
        Value::Object(dump)
    }
}

/// Panics unless two dumps of one tenant are equal, but for the single audit row
/// the first dump's own audit export added.
pub(crate) fn assert_unchanged(slug: &str, before: &Value, after: &Value) {
    let (mut b, mut a) = (before.clone(), after.clone());
    let rows_before = b["audit"].take();
    let rows_after = a["audit"].take();
    for (key, value) in b.as_object().unwrap() {
        assert_eq!(Some(value), a.get(key), "{slug}: {key} changed");
    }
    assert_eq!(
        b.as_object().unwrap().len(),
        a.as_object().unwrap().len(),
        "{slug}: objects appeared: {a}"
    );
    let old: Vec<&Value> = rows_before.as_array().unwrap().iter().collect();
    let new: Vec<&Value> = rows_after
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !old.contains(r))
        .collect();
    assert!(
        new.len() == 1
            && new[0][1] == "export.csv"
            && old.len() + 1 == rows_after.as_array().unwrap().len(),
        "{slug}: the audit log changed beyond the dump's own export: {new:?}"
    );
}

/// The checked `member` checkboxes of a group page.
fn checked_members(page: &str) -> Vec<String> {
    page.split("<input")
        .filter(|tag| tag.contains("name=\"member\"") && tag.contains("checked"))
        .filter_map(|tag| tag.split("value=\"").nth(1))
        .filter_map(|v| v.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The tenant's audit log as `[id, action, target]` rows of its CSV export. The
/// export is itself audited, so each call adds one row for the next.
pub(crate) async fn audit_rows(admin: &Web) -> Vec<[String; 3]> {
    let export = admin.post("/audit/export.csv", &[]).await;
    assert_eq!(export.status, 200, "{}", export.text());
    let body = export
        .body
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(&export.body);
    csv::Reader::from_reader(body)
        .records()
        .map(|r| {
            let r = r.unwrap();
            [
                r[0].to_owned(),
                r[5].to_owned(),
                format!("{} {}", &r[6], &r[7]),
            ]
        })
        .collect()
}
