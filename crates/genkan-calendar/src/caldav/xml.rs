//! WebDAV XML: a small namespace-resolved element tree read with quick-xml's
//! `NsReader` (servers use any prefix, or none), bounded in depth and size, and the
//! request bodies CalDAV needs.
//!
//! Hand-written rather than a WebDAV crate: the only maintained one (libdav) is built
//! on a hyper `tower::Service`, while the server's outbound guard is a `reqwest::Client`.

use quick_xml::NsReader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// The WebDAV namespace.
pub(crate) const DAV: &str = "DAV:";
/// The CalDAV namespace.
pub(crate) const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// CalendarServer's namespace (`getctag`).
pub(crate) const CS: &str = "http://calendarserver.org/ns/";

const MAX_DEPTH: usize = 64;
const MAX_ELEMENTS: usize = 500_000;

/// One element: namespace, local name, text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) text: String,
    /// Attributes by local name (CalDAV uses only unqualified ones).
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
}

impl Element {
    pub(crate) fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The first child with this name.
    pub(crate) fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// All children with this name.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// Why a body is not usable XML.
#[derive(Debug, thiserror::Error)]
#[error("invalid XML: {0}")]
pub(crate) struct XmlError(pub(crate) String);

/// Parses a whole document into its root element.
pub(crate) fn parse(body: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(body);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError(e.to_string()))?;
        match event {
            Event::Start(start) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(XmlError("document too deep or too large".into()));
                }
                let ns = match ns {
                    ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
                    _ => String::new(),
                };
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for a in start.attributes() {
                    let a = a.map_err(|e| XmlError(e.to_string()))?;
                    let value = a
                        .decoded_and_normalized_value(
                            quick_xml::XmlVersion::Implicit1_0,
                            reader.decoder(),
                        )
                        .map_err(|e| XmlError(e.to_string()))?;
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    attrs.push((key, value.into_owned()));
                }
                stack.push(Element {
                    ns,
                    name,
                    attrs,
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| XmlError("unbalanced".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let text = t.xml10_content().map_err(|e| XmlError(e.to_string()))?;
                    top.text.push_str(&text);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Event::GeneralRef(r) => {
                let Some(top) = stack.last_mut() else {
                    continue;
                };
                if let Some(ch) = r.resolve_char_ref().map_err(|e| XmlError(e.to_string()))? {
                    top.text.push(ch);
                } else {
                    let name = r.decode().map_err(|e| XmlError(e.to_string()))?;
                    let value = resolve_predefined_entity(&name)
                        .ok_or_else(|| XmlError(format!("unknown entity &{name};")))?;
                    top.text.push_str(value);
                }
            }
            Event::DocType(_) => return Err(XmlError("DOCTYPE is not accepted".into())),
            Event::Eof => return Err(XmlError("unexpected end".into())),
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
}

/// The status code in `HTTP/1.1 404 Not Found`.
pub(crate) fn status_code(status_line: &str) -> Option<u16> {
    status_line.split_whitespace().nth(1)?.parse().ok()
}

/// One `DAV:response` of a multistatus.
#[derive(Debug, Clone, Default)]
pub(crate) struct DavResponse {
    pub(crate) href: String,
    /// The response-level status (sync-collection reports removals with 404 here).
    pub(crate) status: Option<u16>,
    /// Properties found with a 2xx propstat.
    pub(crate) props: Vec<Element>,
}

impl DavResponse {
    pub(crate) fn prop(&self, ns: &str, name: &str) -> Option<&Element> {
        self.props.iter().find(|p| p.is(ns, name))
    }

    pub(crate) fn prop_text(&self, ns: &str, name: &str) -> Option<String> {
        self.prop(ns, name)
            .map(|p| p.trimmed().to_owned())
            .filter(|t| !t.is_empty())
    }
}

/// A parsed `DAV:multistatus`: its responses and, for sync-collection, the new token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Multistatus {
    pub(crate) responses: Vec<DavResponse>,
    pub(crate) sync_token: Option<String>,
}

pub(crate) fn multistatus(body: &str) -> Result<Multistatus, XmlError> {
    let root = parse(body)?;
    if !root.is(DAV, "multistatus") {
        return Err(XmlError(format!("expected multistatus, got {}", root.name)));
    }
    let responses = root
        .children_named(DAV, "response")
        .map(|r| {
            let href = r
                .child(DAV, "href")
                .map(|h| h.trimmed().to_owned())
                .unwrap_or_default();
            let status = r
                .child(DAV, "status")
                .and_then(|s| status_code(s.trimmed()));
            let props = r
                .children_named(DAV, "propstat")
                .filter(|ps| {
                    ps.child(DAV, "status")
                        .and_then(|s| status_code(s.trimmed()))
                        .is_some_and(|c| (200..300).contains(&c))
                })
                .filter_map(|ps| ps.child(DAV, "prop"))
                .flat_map(|p| p.children.iter().cloned())
                .collect();
            DavResponse {
                href,
                status,
                props,
            }
        })
        .collect();
    let sync_token = root
        .child(DAV, "sync-token")
        .map(|t| t.trimmed().to_owned())
        .filter(|t| !t.is_empty());
    Ok(Multistatus {
        responses,
        sync_token,
    })
}

const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

pub(crate) fn propfind_principal() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#
    )
}

pub(crate) fn propfind_home() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:prop><c:calendar-home-set/><c:calendar-user-address-set/><d:displayname/></d:prop></d:propfind>"#
    )
}

pub(crate) fn propfind_calendars() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:" xmlns:c="{CALDAV}" xmlns:cs="{CS}"><d:prop><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/><d:supported-report-set/><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#
    )
}

pub(crate) fn propfind_tokens() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:" xmlns:cs="{CS}"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#
    )
}

pub(crate) fn propfind_etags() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/></d:prop></d:propfind>"#
    )
}

pub(crate) fn sync_collection(token: Option<&str>) -> String {
    let token = escape(token.unwrap_or_default());
    format!(
        r#"{HEAD}<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
    )
}

pub(crate) fn calendar_multiget<'a>(hrefs: impl IntoIterator<Item = &'a str>) -> String {
    let mut body = format!(
        r#"{HEAD}<c:calendar-multiget xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:prop><d:getetag/><c:calendar-data/></d:prop>"#
    );
    for href in hrefs {
        body.push_str("<d:href>");
        body.push_str(&escape(href));
        body.push_str("</d:href>");
    }
    body.push_str("</c:calendar-multiget>");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_prefix_or_a_default_namespace_reads_the_same() {
        let a = r#"<x:multistatus xmlns:x="DAV:" xmlns:q="http://calendarserver.org/ns/"><x:response><x:href>/c/a%20b.ics</x:href><x:propstat><x:prop><x:getetag>"1&amp;2"</x:getetag><q:getctag>c1</q:getctag></x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat><x:propstat><x:prop><x:displayname/></x:prop><x:status>HTTP/1.1 404 Not Found</x:status></x:propstat></x:response><x:sync-token>tok&#x3C;1</x:sync-token></x:multistatus>"#;
        let b = r#"<?xml version="1.0"?><multistatus xmlns="DAV:"><response><href>/c/a%20b.ics</href><propstat><prop><getetag><![CDATA["1&2"]]></getetag><getctag xmlns="http://calendarserver.org/ns/">c1</getctag></prop><status>HTTP/1.1 200 OK</status></propstat></response><sync-token>tok&lt;1</sync-token></multistatus>"#;
        for body in [a, b] {
            let ms = multistatus(body).unwrap();
            assert_eq!(ms.sync_token.as_deref(), Some("tok<1"));
            let r = &ms.responses[0];
            assert_eq!(r.href, "/c/a%20b.ics");
            assert_eq!(r.prop_text(DAV, "getetag").as_deref(), Some("\"1&2\""));
            assert_eq!(r.prop_text(CS, "getctag").as_deref(), Some("c1"));
            assert!(r.prop(DAV, "displayname").is_none());
        }
    }

    #[test]
    fn doctype_entities_and_deep_nesting_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><multistatus xmlns="DAV:">&a;</multistatus>"#;
        assert!(parse(bomb).is_err());
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(parse(&deep).is_err());
        assert!(multistatus("<a xmlns='DAV:'/>").is_err());
    }

    #[test]
    fn hrefs_and_tokens_are_escaped_in_requests() {
        let body = calendar_multiget(["/c/<x>&.ics"]);
        assert!(body.contains("<d:href>/c/&lt;x&gt;&amp;.ics</d:href>"));
        assert!(parse(&body).is_ok());
        assert!(sync_collection(Some("a]]><b")).contains("a]]&gt;&lt;b"));
    }
}
