//! The benchmark's HTTP client: signs in as the seeded administrator and times page
//! loads and the CSV export.

use std::path::Path;
use std::time::Instant;

use std::io::Write as _;

/// A signed-in administrator's session on the server at `base`.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Client {
    /// Signs in with `password`.
    pub(crate) async fn sign_in(base: &str, password: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http.get(format!("{base}/login")).send().await.unwrap();
        let pre = cookie(&page, "genkan_pre").expect("a pre-session cookie");
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
        let session = cookie(&resp, "genkan_session").expect("signed in");
        Self {
            http,
            base: base.to_owned(),
            cookie: format!("genkan_session={session}"),
        }
    }

    /// Loads `path`; the milliseconds from sending the request to the end of the body,
    /// and the body.
    pub(crate) async fn get(&self, path: &str) -> (f64, String) {
        let t = Instant::now();
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if status != 200 {
            crate::fail(&format!("{path}: HTTP {status}"));
        }
        (ms, body)
    }

    /// Exports the visits of the local days `from` to `to` into the file `to_file`, as a
    /// browser saves a download; the seconds it took, the bytes, and the process's
    /// resident memory (KiB) before and at its peak while the export ran.
    pub(crate) async fn export(&self, from: &str, to: &str, to_file: &Path) -> Export {
        let (_, page) = self.get("/exports").await;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a CSRF field on the exports page")
            .to_owned();
        let mut file = std::io::BufWriter::new(std::fs::File::create(to_file).unwrap());
        let rss_before = rss_kib();
        let t = Instant::now();
        let mut resp = self
            .http
            .post(format!("{}/exports/visits.csv", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", csrf.as_str()), ("from", from), ("to", to)]))
            .send()
            .await
            .unwrap();
        if resp.status() != 200 {
            crate::fail(&format!("CSV export {from}..{to}: HTTP {}", resp.status()));
        }
        let (mut bytes, mut rss_peak) = (0usize, rss_before);
        while let Some(chunk) = resp.chunk().await.unwrap() {
            bytes += chunk.len();
            file.write_all(&chunk).unwrap();
            rss_peak = rss_peak.max(rss_kib());
        }
        file.flush().unwrap();
        Export {
            secs: t.elapsed().as_secs_f64(),
            bytes,
            rss_before,
            rss_peak,
        }
    }
}

/// A timed export.
pub(crate) struct Export {
    /// From sending the request to the last byte.
    pub(crate) secs: f64,
    /// Body size.
    pub(crate) bytes: usize,
    /// Resident memory before, KiB.
    pub(crate) rss_before: u64,
    /// Peak resident memory during, KiB.
    pub(crate) rss_peak: u64,
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(name)?
                .strip_prefix('=')
                .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        })
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The process's resident memory in KiB (server and client share the process).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
