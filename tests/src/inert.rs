//! Checks that text typed by users stays inert where it is shown: the injection payload list (XSS) and the in-browser inspection shared by the web page and e-mail tests.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::browser::Browser;

/// The one script the web app's pages load.
pub const APP_SCRIPT: &str = "/static/app.js";

/// Injection payloads: each tries to set `window.__xss` or to leave a marker element.
/// Every one fits a display name (100 characters) and is distinct (site names are unique).
pub const PAYLOADS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "\"><svg onload=window.__xss=3>",
    "'><svg/onload=window.__xss=4>",
    "javascript:window.__xss=5",
    "</textarea><script>window.__xss=6</script>",
    "</title><script>window.__xss=7</script>",
    "{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
    "<iframe srcdoc=\"<script>parent.__xss=9</script>\"></iframe>",
    "<a href=\"javascript:window.__xss=10\">click me</a>",
    "<details open ontoggle=window.__xss=11>",
    "<body onload=window.__xss=12>",
    "<input autofocus onfocus=window.__xss=13>",
    "<b data-xss=14>bold</b><style>*{display:none}</style>",
    "\" onmouseover=\"window.__xss=15\" x=\"",
    "' onfocus='window.__xss=16' autofocus='",
    "＜script＞window.__xss=17＜/script＞",
    "&lt;script&gt;window.__xss=18&lt;/script&gt;",
    "<scr<script>ipt>window.__xss=19</scr</script>ipt>",
    "\u{200F}<img src=x onerror=window.__xss=20>\u{FEFF}",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=21>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=22>\">",
    "<object data=\"javascript:window.__xss=23\"></object>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=24\">",
    "</script><script>window.__xss=25</script>",
    "<base href=\"//evil.example/\"><b data-xss=26>base</b>",
    "<form action=\"javascript:window.__xss=27\"><button>go</button></form>",
    "\\u003cimg src=x onerror=window.__xss=28\\u003e",
];

/// Addresses that are valid e-mail addresses and still try to break out of HTML.
pub const EMAILS: &[&str] = &[
    "x'onmouseover='window.__xss=101'@evil.example",
    "{{7*7}}@evil.example",
    "'-window.__xss=102-'@evil.example",
    "x/onfocus=window.__xss=103/@evil.example",
    "${7*7}#{7*7}@evil.example",
    "ｓａｔｏ@evil.example",
];

/// What a page looks like from inside. With an HTML string as argument it inspects
/// that markup parsed (not run) instead of the page: the self-check below uses it.
const INSPECT: &str = r#"
const doc = arguments[0] ? new DOMParser().parseFromString(arguments[0], 'text/html') : document;
const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href', 'poster', 'background'];
const known = (e) => e.closest('.qr') !== null || e.matches('details.usermenu') || e.matches('img[src^="/static/"], img[src="/logo.png"], img[src^="cid:"]');
const suspicious = 'img, iframe, frame, object, embed, svg, math, details, noscript, template, style, meta[http-equiv], base, input[autofocus], [data-xss], marquee, video, audio, body form:not([method=post]):not([method=get])';
const all = [...doc.querySelectorAll('*')];
return {
  xss: window.__xss === undefined ? null : String(window.__xss),
  scripts: [...doc.scripts].map(s => s.getAttribute('src') || ('inline: ' + s.textContent.slice(0, 80))),
  injected: [...doc.querySelectorAll(suspicious)].filter(e => !known(e)).map(e => e.outerHTML.slice(0, 160)),
  unknown: all.filter(e => e instanceof HTMLUnknownElement).map(e => e.tagName),
  handlers: all.flatMap(e => [...e.attributes].filter(a => a.name.toLowerCase().startsWith('on')).map(a => e.tagName + ' ' + a.name + '=' + a.value)),
  js_urls: all.flatMap(e => urlAttrs.map(n => e.getAttribute(n)).filter(v => v !== null && /^\s*(javascript|vbscript):/i.test(v))),
  text: doc.body ? (arguments[0] ? doc.body.textContent : doc.body.innerText) : '',
};
"#;

/// What is wrong with the page (or with `markup`, parsed): script that ran, scripts
/// other than `own_script` (the app's `/static/app.js`; `None` for a mail, which may
/// carry none), injected or unknown elements, event handlers, `javascript:` URLs, and
/// any of `texts` not shown as text.
pub async fn problems(
    browser: &Browser,
    markup: Option<&str>,
    own_script: Option<&str>,
    texts: &[&str],
) -> Vec<String> {
    let report = browser
        .driver()
        .execute(INSPECT, vec![json!(markup)])
        .await
        .unwrap()
        .json()
        .clone();
    let mut found = Vec::new();
    if report["xss"] != Value::Null {
        found.push(format!("script ran: window.__xss = {}", report["xss"]));
    }
    let scripts: Vec<&str> = report["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let allowed = |s: &&str| own_script.is_some_and(|own| s.starts_with(own));
    if scripts.len() > usize::from(own_script.is_some()) || !scripts.iter().all(allowed) {
        found.push(format!("scripts: {scripts:?}"));
    }
    for key in ["injected", "unknown", "handlers", "js_urls"] {
        if report[key] != json!([]) {
            found.push(format!("{key}: {}", report[key]));
        }
    }
    let text = report["text"].as_str().unwrap();
    for t in texts {
        if !text.contains(t) {
            found.push(format!("{t:?} is not shown as text"));
        }
    }
    found
}

/// Checks the current page of the web app: nothing ran, nothing was injected, every one of `texts`
/// is shown as text; then proves the check could have failed here.
pub async fn assert_inert(browser: &Browser, page: &str, texts: &[&str]) {
    let found = problems(browser, None, Some(APP_SCRIPT), texts).await;
    assert!(found.is_empty(), "{page}:\n{}", found.join("\n"));
    assert_probe_runs(browser, page).await;
}

/// Script injected into the page now does run: the CSP is really bypassed, so the
/// absence of `window.__xss` above means escaping held.
pub async fn assert_probe_runs(browser: &Browser, page: &str) {
    browser
        .eval("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__probe=1; this.remove()\">');")
        .await;
    let start = Instant::now();
    while browser.eval("return window.__probe === 1;").await != Value::Bool(true) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{page}: injected script does not run, so the XSS check would prove nothing"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
