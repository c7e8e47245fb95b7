//! A real Radicale CalDAV server per test: temp storage, one user, 127.0.0.1 and a
//! port the OS picks (read back from Radicale's "Listening on" line). Missing
//! Radicale fails the test: install it with `apt-get install radicale` (Debian) or
//! `pip install radicale`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use genkan_calendar::auth::Secret;
use genkan_calendar::caldav::{CalDavAuth, CalDavClient};

use crate::helpers::{http, limits};

pub(crate) const USER: &str = "tanaka";
pub(crate) const PASSWORD: &str = "app-password-1";

pub(crate) struct Radicale {
    child: Child,
    pub(crate) base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command() -> Command {
    // An explicit interpreter/binary may be named; otherwise the `radicale` on PATH.
    match std::env::var("GENKAN_RADICALE") {
        Ok(bin) => Command::new(bin),
        Err(_) => Command::new("radicale"),
    }
}

impl Radicale {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(&users, format!("{USER}:{PASSWORD}\n")).unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:0\n[auth]\ntype = htpasswd\nhtpasswd_filename = {}\n\
                 htpasswd_encryption = plain\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = info\n\
                 mask_passwords = True\n",
                users.display(),
                dir.path().join("collections").display()
            ),
        )
        .unwrap();
        let mut child = command()
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "Radicale is required for the CalDAV tests and could not be started ({e}); \
                     install it with `apt-get install radicale` or `pip install radicale`"
                )
            });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining stderr for the server's whole life.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Listening on '[127.0.0.1]:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("Radicale did not report its port within 30 s");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}/"),
            _dir: dir,
        }
    }

    pub(crate) fn client(&self) -> CalDavClient {
        CalDavClient::new(
            http(),
            &self.base,
            CalDavAuth::Basic {
                username: USER.into(),
                password: Secret::new(PASSWORD),
            },
            limits(),
        )
        .unwrap()
    }

    fn request(&self, method: &str, url: &str) -> reqwest::RequestBuilder {
        http()
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .basic_auth(USER, Some(PASSWORD))
    }

    /// Creates a calendar collection and returns its URL.
    pub(crate) async fn mkcalendar(&self, name: &str, display: &str) -> String {
        let url = format!("{}{USER}/{name}/", self.base);
        let display = display
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let body = format!(
            r#"<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>{display}</D:displayname></D:prop></D:set></C:mkcalendar>"#
        );
        let r = self
            .request("MKCALENDAR", &url)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "MKCALENDAR: {}", r.status());
        url
    }

    pub(crate) async fn put(&self, calendar: &str, file: &str, ics: &str) {
        let r = self
            .request("PUT", &format!("{calendar}{file}"))
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(ics.to_owned())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "PUT: {}", r.status());
    }

    pub(crate) async fn delete(&self, calendar: &str, file: &str) {
        let r = self
            .request("DELETE", &format!("{calendar}{file}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "DELETE: {}", r.status());
    }
}
