//! The endpoints under attack, read from where they are declared — the served OpenAPI
//! document and every `.route(…)` call of the server's router source — so that a new
//! endpoint is attacked without anyone listing it, or fails the test until it is.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

/// Who may call an OpenAPI operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// An API token (`gk_at_…`).
    Token,
    /// A kiosk credential (`gk_kiosk_…`).
    Kiosk,
    /// Nobody in particular.
    Open,
}

/// One operation of the OpenAPI document.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// HTTP method.
    pub(crate) method: Method,
    /// Path template, e.g. `/api/v1/appointments/{id}`.
    pub(crate) path: String,
    /// The credential it takes.
    pub(crate) security: Security,
    /// Its summary (admin-only operations end with `(admin)`).
    pub(crate) summary: String,
    /// The JSON schema of its request body, with references resolved one level.
    pub(crate) body: Option<Value>,
}

impl Operation {
    /// `METHOD /path`.
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether the document marks it as an administrators' operation.
    pub(crate) fn admin_only(&self) -> bool {
        self.summary.trim_end().ends_with("(admin)")
    }
}

/// Every operation of an OpenAPI document.
pub(crate) fn operations(doc: &Value) -> Vec<Operation> {
    let schemas = &doc["components"]["schemas"];
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_object())
                .flat_map(|s| s.keys().map(String::as_str))
                .collect();
            let security = if schemes.contains(&"apiToken") {
                Security::Token
            } else if schemes.contains(&"kioskCredential") {
                Security::Kiosk
            } else {
                Security::Open
            };
            let body = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| match s.get("$ref").and_then(Value::as_str) {
                    Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
                    None => Value::Object(s.clone()),
                });
            ops.push(Operation {
                method: m,
                path: path.clone(),
                security,
                summary: op["summary"].as_str().unwrap_or_default().to_owned(),
                body,
            });
        }
    }
    ops
}

/// The kinds of object an id in a path or body can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `/appointments/{id}`.
    Appointment,
    /// A visitor of an appointment.
    Visitor,
    /// A visit (an arrival).
    Visit,
    /// A site.
    Site,
    /// A staff user.
    User,
    /// A group of users.
    Group,
    /// A kiosk.
    Kiosk,
    /// An API token.
    Token,
    /// A web session's handle.
    Session,
}

/// Path parameters that are not object ids but names, languages or secrets handed out
/// by mail (checked by INV-1 and the reply tests): `/static/{name}`, `/invite/{secret}`,
/// `/reply/{token}`, `/settings/templates/{kind}/{locale}`,
/// `/settings/notifications/{channel}`.
pub(crate) const NOT_IDS: &[&str] = &["name", "secret", "token", "kind", "locale", "channel"];

/// The kind of object the parameter after `segment` names, `None` if unknown.
pub(crate) fn kind_after(segment: &str) -> Option<Kind> {
    Some(match segment {
        "appointments" => Kind::Appointment,
        "visitors" | "check-in" => Kind::Visitor,
        "visits" | "check-out" => Kind::Visit,
        "sites" => Kind::Site,
        "users" => Kind::User,
        "groups" => Kind::Group,
        "kiosks" => Kind::Kiosk,
        "tokens" | "api-tokens" => Kind::Token,
        "sessions" => Kind::Session,
        _ => return None,
    })
}

/// The kind of object a body field like `site_id` names, `None` if it is not an id.
pub(crate) fn kind_of_field(field: &str) -> Option<Kind> {
    Some(match field.strip_suffix("_id")? {
        "site" => Kind::Site,
        "host" | "user" => Kind::User,
        "appointment" => Kind::Appointment,
        "visit" => Kind::Visit,
        "visitor" => Kind::Visitor,
        "kiosk" => Kind::Kiosk,
        other => panic!("a body field names an object of unknown kind: {other}_id"),
    })
}

/// A path template's parameters: (name, kind of the object it names). Panics on an
/// id parameter of a kind this test does not know, so a new one gets attacked too.
pub(crate) fn params(path: &str) -> Vec<(String, Kind)> {
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let name = s.strip_prefix('{')?.strip_suffix('}')?;
            if NOT_IDS.contains(&name) {
                return None;
            }
            let before = segments[i - 1];
            let kind = kind_after(before).unwrap_or_else(|| {
                panic!("{path}: teach the isolation test which objects /{before}/{{{name}}} names")
            });
            Some((name.to_owned(), kind))
        })
        .collect()
}

/// A route as the router source declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// Methods routed.
    pub(crate) methods: Vec<Method>,
    /// Full path template.
    pub(crate) path: String,
}

fn routes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/genkan-server/src/routes")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of one `.route(` call: from its opening to its balanced closing parenthesis.
fn call_text(text: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return &text[..=i],
            ')' => depth -= 1,
            _ => {}
        }
    }
    text
}

/// Every route declared in `crates/genkan-server/src/routes/**` with its full path
/// (`/api/v1` and `/api/kiosk/v1` prefixes added where those routers are nested).
pub(crate) fn declared_routes() -> Vec<Route> {
    let root = routes_dir();
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut routes = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let prefix = if rel.starts_with("api_") {
            "/api/v1"
        } else if rel.starts_with("kiosk_v1") {
            "/api/kiosk/v1"
        } else {
            ""
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let call = call_text(&text[at + ".route".len()..]);
            let Some(path) = call.split('"').nth(1) else {
                continue;
            };
            let code = call.splitn(3, '"').nth(2).unwrap_or_default();
            let methods = ["get", "post", "put", "patch", "delete"]
                .into_iter()
                .filter(|m| {
                    code.match_indices(&format!("{m}("))
                        .any(|(i, _)| i == 0 || !code.as_bytes()[i - 1].is_ascii_alphanumeric())
                })
                .map(|m| Method::from_bytes(m.to_uppercase().as_bytes()).unwrap())
                .collect();
            routes.push(Route {
                methods,
                path: format!("{prefix}{path}"),
            });
        }
    }
    assert!(
        routes.len() > 50,
        "the router source was not read: {routes:?}"
    );
    routes
}
