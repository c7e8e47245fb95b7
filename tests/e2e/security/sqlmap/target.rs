//! One request for sqlmap: its parameters, injection markers and Burp-log form.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

/// One request for sqlmap, and the parameters it must report as tested.
pub(super) struct Target {
    pub(super) method: String,
    /// Path and query, with `*` after each path parameter.
    pub(super) path: String,
    headers: Vec<(String, String)>,
    /// Content type and body.
    body: Option<(&'static str, String)>,
    /// Parameter names as sqlmap reports them (`JSON ` prefix dropped).
    pub(super) params: BTreeSet<String>,
}

impl Target {
    /// A request to `path` (with `*` after each path parameter) and `query`. When the
    /// path has markers sqlmap attacks only marked places, so the query values are
    /// marked too.
    pub(super) fn new(method: &str, path: &str, query: &[(&str, String)]) -> Self {
        let marked = path.contains('*');
        let mut path = path.to_owned();
        let mut params = BTreeSet::new();
        if !query.is_empty() {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in query {
                q.append_pair(k, v);
                if !marked {
                    params.insert((*k).to_owned());
                }
            }
            let q = q.finish();
            let q = if marked {
                q.split('&')
                    .map(|kv| format!("{kv}*"))
                    .collect::<Vec<_>>()
                    .join("&")
            } else {
                q
            };
            path = format!("{path}?{q}");
        }
        for i in 1..=path.matches('*').count() {
            params.insert(format!("#{i}*"));
        }
        Self {
            method: method.to_owned(),
            path,
            headers: Vec::new(),
            body: None,
            params,
        }
    }

    pub(super) fn header(mut self, name: &str, value: &str) -> Self {
        if value.contains('*') {
            self.params.insert(format!("{name} #1*"));
        }
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body; sqlmap attacks every scalar in it. Below level 4 sqlmap ignores
    /// fields whose name looks like a session or CSRF token (`*token*`), so a body
    /// with such a field gets a marker after every scalar instead.
    pub(super) fn json(mut self, body: &Value) -> Self {
        let mut keys = BTreeSet::new();
        leaf_keys(body, &mut keys);
        let ignored_by_sqlmap = keys.iter().any(|k| {
            let k = k.to_ascii_lowercase();
            ["token", "csrf", "xsrf"].iter().any(|i| k.contains(i))
        });
        let text = if ignored_by_sqlmap {
            assert!(
                !self.path.contains('*'),
                "markers in both path and body of {}",
                self.path
            );
            let mut out = String::new();
            let marks = marked_json(body, &mut out);
            self.params.extend((1..=marks).map(|i| format!("#{i}*")));
            out
        } else {
            self.params.extend(keys);
            body.to_string()
        };
        self.body = Some(("application/json", text));
        self
    }

    /// A form; `csrf` is sent but not attacked (`--skip=csrf`).
    pub(super) fn form(mut self, fields: &[(&str, String)]) -> Self {
        let mut f = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            f.append_pair(k, v);
            if *k != "csrf" {
                self.params.insert((*k).to_owned());
            }
        }
        self.body = Some(("application/x-www-form-urlencoded", f.finish()));
        self
    }

    pub(super) fn without_query(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// `v` as JSON text with the custom injection marker `*` after every scalar; returns
/// how many markers were written.
fn marked_json(v: &Value, out: &mut String) -> usize {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut n = 0;
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                n += marked_json(v, out);
            }
            out.push('}');
            n
        }
        Value::Array(items) => {
            out.push('[');
            let mut n = 0;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                n += marked_json(v, out);
            }
            out.push(']');
            n
        }
        Value::String(s) => {
            let quoted = Value::String(s.clone()).to_string();
            out.push_str(&quoted[..quoted.len() - 1]);
            out.push_str("*\"");
            1
        }
        scalar => {
            out.push_str(&scalar.to_string());
            out.push('*');
            1
        }
    }
}

/// The keys of every scalar in a JSON document: what sqlmap marks in a JSON body.
fn leaf_keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if v.is_object() || v.is_array() {
                    leaf_keys(v, out);
                } else {
                    out.insert(k.clone());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| leaf_keys(i, out)),
        _ => {}
    }
}

/// The requests as a Burp proxy log, the multi-request format sqlmap's `-l` reads.
pub(super) fn burp_log(host: &str, targets: &[Target]) -> String {
    const RULE: &str = "======================================================";
    let mut log = String::new();
    for t in targets {
        let _ = write!(
            log,
            "{RULE}\n{} {} HTTP/1.1\nHost: {host}\n",
            t.method, t.path
        );
        for (k, v) in &t.headers {
            let _ = writeln!(log, "{k}: {v}");
        }
        match &t.body {
            Some((content_type, body)) => {
                let _ = write!(log, "Content-Type: {content_type}\n\n{body}\n");
            }
            None => log.push('\n'),
        }
        let _ = write!(log, "{RULE}\n\n");
    }
    log
}
