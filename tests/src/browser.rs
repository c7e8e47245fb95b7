//! Headless Chromium driven over WebDriver: starts `chromedriver` on a port it picks
//! itself, opens one session with a fresh profile, and offers the few helpers the web
//! tests need (sign in, fill, click, read text, screenshots, page state, console).
//!
//! `chromedriver --port=0` binds a free loopback port and prints "ChromeDriver was
//! started successfully on port N." on stdout, so nothing is guessed or rebound
//! (convention 2). When the driver is not installed the tests skip with a message:
//! `tests/run-all.sh` installs it, so in CI it is always there.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;
use thirtyfour::{ChromeCapabilities, LoggingPrefsLogLevel};

/// Where Debian's `chromium-driver` package puts the driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium launcher.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Width and height of the window (and so of every screenshot).
pub const WINDOW: (u32, u32) = (1366, 900);

/// Flags that make Chromium start quickly and quietly in a container (SETUP-NOTES.md).
const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
];

/// The driver to use: `$GENKAN_CHROMEDRIVER`, else [`CHROMEDRIVER`].
fn driver_path() -> PathBuf {
    std::env::var_os("GENKAN_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from(CHROMEDRIVER), PathBuf::from)
}

/// Fails the calling test when no browser driver is installed: a browser test never
/// skips (the test command installs Debian's chromium and chromium-driver).
pub fn require() {
    let path = driver_path();
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium and chromium-driver (tests/run-all.sh does)",
        path.display()
    );
}

/// Where screenshots go: `$GENKAN_SCREENSHOTS`, else `<target dir>/screenshots`.
pub fn screenshots_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GENKAN_SCREENSHOTS") {
        return PathBuf::from(dir);
    }
    // .../target/debug/deps/e2e-<hash> → .../target
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(|p| p.join("screenshots"))
        .unwrap()
}

/// A `chromedriver` process with one Chromium session; both end when dropped.
pub struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Option<Child>,
    profile: tempfile::TempDir,
    /// Base URL of the web app, e.g. `http://127.0.0.1:43123`.
    pub base: String,
}

impl Browser {
    /// Starts a driver and a browser whose preferred language is `lang` (`ja` or `en`),
    /// for the app at `base`. Fails when no driver is installed.
    pub async fn launch(base: &str, lang: &str) -> Self {
        require();
        let profile = tempfile::tempdir().unwrap();
        let (child, port) = start_chromedriver(&driver_path(), profile.path(), lang);
        let mut browser = Self {
            driver: None,
            chromedriver: Some(child),
            profile,
            base: base.trim_end_matches('/').to_owned(),
        };
        let server = format!("http://127.0.0.1:{port}");
        wait_until_ready(&server, &browser.log_path()).await;
        let caps = capabilities(&browser.profile.path().join("chromium"), lang);
        let driver = WebDriver::new(server, caps).await.unwrap_or_else(|e| {
            panic!(
                "no browser session: {e}\n--- chromedriver log ---\n{}",
                std::fs::read_to_string(browser.log_path()).unwrap_or_default()
            )
        });
        // The window includes (invisible) browser chrome; size it so the page itself,
        // and so every screenshot, is exactly WINDOW.
        driver
            .set_window_rect(0, 0, WINDOW.0, WINDOW.1)
            .await
            .unwrap();
        let inner = driver
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap()
            .convert::<(u32, u32)>()
            .unwrap();
        if inner != WINDOW {
            driver
                .set_window_rect(0, 0, 2 * WINDOW.0 - inner.0, 2 * WINDOW.1 - inner.1)
                .await
                .unwrap();
        }
        driver
            .set_page_load_timeout(Duration::from_secs(30))
            .await
            .unwrap();
        browser.driver = Some(driver);
        browser
    }

    /// The WebDriver session, for anything the helpers do not cover.
    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().unwrap()
    }

    fn log_path(&self) -> PathBuf {
        self.profile.path().join("chromedriver.log")
    }

    /// Turns off the page's Content-Security-Policy for this session, so that markup
    /// that slipped through escaping would really run: XSS tests then see execution
    /// itself, not only what the CSP happened to block.
    pub async fn bypass_csp(&self) {
        self.driver()
            .cdp()
            .send_raw("Page.setBypassCSP", json!({"enabled": true}))
            .await
            .unwrap();
    }

    /// Lets the browser save downloads (a form answered with an attachment) into
    /// [`Self::downloads`].
    pub async fn allow_downloads(&self) {
        let dir = self.downloads();
        std::fs::create_dir_all(&dir).unwrap();
        self.driver()
            .cdp()
            .send_raw(
                "Browser.setDownloadBehavior",
                json!({"behavior": "allow", "downloadPath": dir.display().to_string()}),
            )
            .await
            .unwrap();
    }

    /// Where downloads go.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("downloads")
    }

    /// Waits for a finished download whose name starts with `prefix`; returns its name
    /// and bytes, and removes it so the next download of that name is seen as new.
    pub async fn download(&self, prefix: &str) -> (String, Vec<u8>) {
        let dir = self.downloads();
        let start = Instant::now();
        loop {
            let done = std::fs::read_dir(&dir).ok().and_then(|entries| {
                entries.filter_map(Result::ok).find_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name.starts_with(prefix) && !name.ends_with(".crdownload")).then_some(name)
                })
            });
            if let Some(name) = done {
                let path = dir.join(&name);
                let bytes = std::fs::read(&path).unwrap();
                std::fs::remove_file(&path).unwrap();
                return (name, bytes);
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no download {prefix}* in {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Follows a link to `url` from a page of another site (as from a web mail client),
    /// so the navigation is cross-site the way a real click in a mail is.
    pub async fn follow_link_from_elsewhere(&self, url: &str) {
        self.driver()
            .goto("data:text/html;charset=utf-8,<title>Mail</title><a id=link>open</a>")
            .await
            .unwrap();
        let link = self.find("#link").await;
        self.driver()
            .execute(
                "arguments[0].href = arguments[1];",
                vec![link.to_json().unwrap(), json!(url)],
            )
            .await
            .unwrap();
        self.click_and_wait(&link).await;
    }

    /// Opens `path` of the app (or a full URL) and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.driver().goto(url).await.unwrap();
    }

    /// Path and query of the current page (`/dashboard?notice=signed_in`).
    pub async fn path(&self) -> String {
        let url = self.driver().current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The first element matching `css`.
    pub async fn find(&self, css: &str) -> WebElement {
        self.driver()
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?} on {}: {e}", self.location()))
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Vec<WebElement> {
        self.driver().find_all(By::Css(css)).await.unwrap()
    }

    /// Replaces the text of the input matched by `css` by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        fill_element(&element, text).await;
    }

    /// Sets an input's value directly: for `date`/`time` inputs, whose typing
    /// format depends on the browser's locale.
    pub async fn set_value(&self, css: &str, value: &str) {
        let element = self.find(css).await;
        self.driver()
            .execute(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
                vec![element.to_json().unwrap(), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Chooses the option with `value` in the select box matched by `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.find(css).await;
        select_element(&element, value).await;
    }

    /// Clicks the element matched by `css` (no wait for a new page: see [`Self::submit`]).
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks the element matched by `css` and waits until the browser shows the next
    /// document (a form post and its redirect, or a link).
    pub async fn submit(&self, css: &str) {
        let element = self.find(css).await;
        self.click_and_wait(&element).await;
    }

    /// Clicks `element` and waits for the next document to finish loading.
    pub async fn click_and_wait(&self, element: &WebElement) {
        self.driver()
            .execute("window.__genkan_old_page = true;", vec![])
            .await
            .unwrap();
        element.click().await.unwrap();
        let start = Instant::now();
        loop {
            let fresh = self
                .eval("return window.__genkan_old_page === undefined && document.readyState === 'complete';")
                .await;
            if fresh == Value::Bool(true) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no new page after a click on {}",
                self.location()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Visible text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Visible text of every element matching `css`.
    pub async fn texts_of(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(e.text().await.unwrap());
        }
        out
    }

    /// The page's visible text (`document.body.innerText`).
    pub async fn body_text(&self) -> String {
        self.eval("return document.body ? document.body.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page (`return …` gives a value) and returns its JSON result:
    /// the way to read `window` state.
    pub async fn eval(&self, script: &str) -> Value {
        self.driver()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed on {}: {e}\n{script}", self.location()))
            .json()
            .clone()
    }

    /// Console messages and uncaught errors since the last call, as `LEVEL message`.
    pub async fn console(&self) -> Vec<String> {
        self.driver()
            .browser_log()
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.level, e.message))
            .collect()
    }

    /// The value of cookie `name`, if the browser holds one (HttpOnly included).
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.driver()
            .get_all_cookies()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    }

    /// Puts cookie `name=value` for the app's origin back into the browser.
    pub async fn set_cookie(&self, name: &str, value: &str) {
        let mut cookie = Cookie::new(name, value);
        cookie.set_path("/");
        self.driver().add_cookie(cookie).await.unwrap();
    }

    /// Signs in through the form; returns the path the browser ends up on.
    pub async fn sign_in(&self, organisation: &str, email: &str, password: &str) -> String {
        self.goto("/login").await;
        self.fill("input[name=organisation]", organisation).await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", password).await;
        self.submit("form[action='/login'] button[type=submit]")
            .await;
        self.path().await
    }

    /// Signs out with the user menu's button; returns the path the browser ends up on.
    pub async fn sign_out(&self) -> String {
        self.click("details.usermenu summary").await;
        self.submit("form[action='/logout'] button").await;
        self.path().await
    }

    /// Saves a PNG of the window as `<screenshots dir>/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let png = self.driver().screenshot_as_png().await.unwrap();
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Ends the session and the processes now, reporting problems (use at the end of a
    /// test; dropping does the same without waiting for the browser to say goodbye).
    pub async fn close(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
        self.stop_processes();
    }

    fn location(&self) -> String {
        self.profile.path().display().to_string()
    }

    fn stop_processes(&mut self) {
        if let Some(mut child) = self.chromedriver.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Chromium's processes belong to us by their profile directory; they would
        // outlive a killed driver, so end exactly those, by id.
        for pid in processes_using(self.profile.path()) {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            // thirtyfour ends the session on a thread of its own when dropped.
            drop(driver);
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            eprintln!("--- chromedriver problems ---\n{}", problems(&log));
        }
        self.stop_processes();
    }
}

/// Types `text` into `element` after clearing it.
pub async fn fill_element(element: &WebElement, text: &str) {
    element.clear().await.unwrap();
    if !text.is_empty() {
        element.send_keys(text).await.unwrap();
    }
}

/// Chooses `value` in a select `element`.
pub async fn select_element(element: &WebElement, value: &str) {
    SelectElement::new(element)
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

fn capabilities(profile: &Path, lang: &str) -> ChromeCapabilities {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for flag in FLAGS {
        caps.add_arg(flag).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.display()))
        .unwrap();
    caps.add_arg(&format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .unwrap();
    // --lang sets the UI language; the preference is what goes into Accept-Language.
    caps.add_arg(&format!("--lang={lang}")).unwrap();
    caps.add_experimental_option("prefs", json!({"intl.accept_languages": lang}))
        .unwrap();
    caps.set_browser_log_level(LoggingPrefsLogLevel::All)
        .unwrap();
    caps
}

/// Starts the driver on a port of its own choosing and reads that port from stdout.
fn start_chromedriver(path: &Path, dir: &Path, lang: &str) -> (Child, u16) {
    let log = dir.join("chromedriver.log");
    let mut child = Command::new(path)
        .arg("--port=0")
        // On Linux Chromium takes its interface language (date and time input formats)
        // from the environment, not from --lang; the browser inherits the driver's.
        .env("LANGUAGE", lang)
        .env(
            "LANG",
            if lang == "ja" {
                "ja_JP.UTF-8"
            } else {
                "en_US.UTF-8"
            },
        )
        .arg(format!("--log-path={}", log.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = port_of(&line) {
                let _ = tx.send(port);
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(port) => (child, port),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromedriver did not report its port; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
}

/// The port in "ChromeDriver was started successfully on port 43823.".
fn port_of(line: &str) -> Option<u16> {
    line.split_once("started successfully on port ")
        .and_then(|(_, rest)| rest.trim().trim_end_matches('.').parse().ok())
}

/// Waits until the driver's `/status` says it is ready.
async fn wait_until_ready(server: &str, log: &Path) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Ok(resp) = http.get(format!("{server}/status")).send().await
            && let Ok(v) = resp.json::<Value>().await
            && v["value"]["ready"] == Value::Bool(true)
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromedriver at {server} never became ready; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Ids of processes whose command line mentions `dir` (our browser's profile).
fn processes_using(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .collect()
}

/// The warning and error lines of a chromedriver log (the rest is every command).
fn problems(log: &str) -> String {
    log.lines()
        .filter(|l| l.contains("[WARNING]") || l.contains("[SEVERE]"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::port_of;

    #[test]
    fn the_port_is_read_from_the_drivers_start_message() {
        assert_eq!(
            port_of("ChromeDriver was started successfully on port 43823."),
            Some(43823)
        );
        assert_eq!(port_of("Only local connections are allowed."), None);
    }
}
