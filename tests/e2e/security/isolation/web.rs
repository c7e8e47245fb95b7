//! The raw HTTP side of the isolation fixture: answers kept byte for byte (so tests
//! can look for another tenant's canary), JSON API calls with any credential, and
//! web sessions signed in through the real sign-in form with their cookies kept by hand.

use reqwest::Method;
use serde_json::Value;

use crate::security::kit::{csrf_field, set_cookies};

/// An answer as received.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: u16,
    /// The `Location` header of a redirect.
    pub(crate) location: Option<String>,
    /// Every byte of the body.
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as (lossy) text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Whether `needle` occurs anywhere in the body's bytes.
    pub(crate) fn leaks(&self, needle: &str) -> bool {
        let n = needle.as_bytes();
        self.body
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
    }
}

/// A client that follows no redirects, so every status is seen as sent.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

pub(crate) async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.unwrap().to_vec();
    Reply {
        status,
        location,
        body,
    }
}

/// Any API request with an optional bearer credential and JSON body.
pub(crate) async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut req = http.request(method, format!("{base}{path}"));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    read(req.send().await.unwrap()).await
}

/// A web app session signed in through the real sign-in form (cookies kept by hand).
pub(crate) struct Web {
    http: reqwest::Client,
    base: String,
    cookies: String,
    /// The session's CSRF token, added to every form post.
    pub(crate) csrf: String,
}

impl Web {
    /// An anonymous browser.
    pub(crate) fn anonymous(base: &str) -> Self {
        Self {
            http: client(),
            base: base.to_owned(),
            cookies: String::new(),
            csrf: String::new(),
        }
    }

    /// Signs in `email` of organisation `org`; panics unless the session is complete.
    pub(crate) async fn sign_in(base: &str, org: &str, email: &str, password: &str) -> Self {
        let http = client();
        let form = http.get(format!("{base}/login")).send().await.unwrap();
        let pre = set_cookies(form.headers()).join("; ");
        let page = form.text().await.unwrap();
        let answer = http
            .post(format!("{base}/login"))
            .header(reqwest::header::COOKIE, &pre)
            .header(reqwest::header::ORIGIN, base)
            .form(&[
                ("csrf", csrf_field(&page).as_str()),
                ("organisation", org),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        let cookies = set_cookies(answer.headers()).join("; ");
        let location = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            location, "/dashboard?notice=signed_in",
            "sign-in of {email} ended elsewhere"
        );
        let mut web = Self {
            http,
            base: base.to_owned(),
            cookies,
            csrf: String::new(),
        };
        let account = web.get("/account").await;
        assert_eq!(account.status, 200, "{}", account.text());
        web.csrf = csrf_field(&account.text());
        web
    }

    /// GET `path`.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            req = req.header(reqwest::header::COOKIE, &self.cookies);
        }
        read(req.send().await.unwrap()).await
    }

    /// POSTs a form with this session's CSRF token first.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POSTs a form exactly as given, from this origin.
    pub(crate) async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::ORIGIN, &self.base)
            .form(fields);
        if !self.cookies.is_empty() {
            req = req.header(reqwest::header::COOKIE, &self.cookies);
        }
        read(req.send().await.unwrap()).await
    }

    /// POSTs a multipart form with the CSRF token and one file named `file`.
    pub(crate) async fn upload(&self, path: &str, name: &str, bytes: &[u8]) -> Reply {
        let boundary = "----genkan-isolation-7e1c";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/csv\r\n\r\n",
            self.csrf
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::ORIGIN, &self.base)
            .header(reqwest::header::COOKIE, &self.cookies)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        read(req.send().await.unwrap()).await
    }

    /// The handle of this session as the account page names it.
    pub(crate) async fn session_handle(&self) -> String {
        let page = self.get("/account").await.text();
        let marker = "/account/sessions/";
        let start = page.find(marker).expect("no session on the account page") + marker.len();
        page[start..].split('/').next().unwrap().to_owned()
    }
}

/// Every id `N` written right after `marker` (e.g. `href="/visits/`) in a page, in
/// order, without repeats.
pub(crate) fn ids_after(page: &str, marker: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for rest in page.split(marker).skip(1) {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = rest[digits.len()..].chars().next();
        if let (Ok(id), Some('"' | '?' | '/')) = (digits.parse::<i64>(), after)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}
