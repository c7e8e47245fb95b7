//! What every answer must hold, computed from the seed's own record (`truth.tsv`)
//! without the store: which visits a history query matches, in the page's order
//! (newest arrival first, then highest id), and which rows a CSV export lists.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use genkan_core::search::compact;

/// One seeded visit.
struct Visit {
    id: i64,
    /// Arrival, Unix seconds.
    arrived: i64,
    site: i64,
    host: i64,
    inside: bool,
    /// Index into `Truth::names`.
    name: usize,
    /// Index into `Truth::companies`.
    company: usize,
}

/// The seeded visits, newest first.
pub(crate) struct Truth {
    visits: Vec<Visit>,
    /// Distinct visitor names, compact form.
    names: Vec<String>,
    /// Distinct companies, compact form.
    companies: Vec<String>,
    zone: Tz,
}

/// A history query as the benchmark sends it; empty fields are not sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    /// First local day (the page's default: 30 days before today).
    pub(crate) from: Option<NaiveDate>,
    /// Last local day (default: today).
    pub(crate) to: Option<NaiveDate>,
    /// Site id.
    pub(crate) site: Option<i64>,
    /// Host id.
    pub(crate) host: Option<i64>,
    /// Part of the visitor's name.
    pub(crate) visitor: Option<String>,
    /// Part of the company.
    pub(crate) company: Option<String>,
    /// Only visitors still inside.
    pub(crate) inside: bool,
}

impl Search {
    /// The page's path and query string.
    pub(crate) fn path(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        let (from, to) = (
            self.from.map(|d| d.to_string()),
            self.to.map(|d| d.to_string()),
        );
        let (site, host) = (
            self.site.map(|s| s.to_string()),
            self.host.map(|h| h.to_string()),
        );
        for (key, value) in [
            ("from", from.as_deref()),
            ("to", to.as_deref()),
            ("site", site.as_deref()),
            ("host", host.as_deref()),
            ("visitor", self.visitor.as_deref()),
            ("company", self.company.as_deref()),
            ("status", self.inside.then_some("inside")),
        ] {
            if let Some(v) = value {
                q.append_pair(key, v);
            }
        }
        match q.finish() {
            q if q.is_empty() => "/visits".to_owned(),
            q => format!("/visits?{q}"),
        }
    }
}

/// The visits a query matches.
pub(crate) struct Expected {
    /// How many.
    pub(crate) total: usize,
    /// The first ids in the page's order (as many as asked for).
    pub(crate) ids: Vec<i64>,
}

impl Truth {
    /// Reads the truth file; `zone` is the tenant's time zone.
    pub(crate) fn load(path: &Path, zone: &str) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| crate::fail(&format!("reading {}: {e}", path.display())));
        let (mut names, mut companies) = (Interner::default(), Interner::default());
        let mut visits: Vec<Visit> = text
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let [id, arrived, site, host, inside, name, company] = f[..] else {
                    crate::fail(&format!("{}: bad line {line:?}", path.display()));
                };
                let int = |s: &str| -> i64 { s.parse().expect("a number in the truth file") };
                Visit {
                    id: int(id),
                    arrived: int(arrived),
                    site: int(site),
                    host: int(host),
                    inside: inside == "1",
                    name: names.get(name),
                    company: companies.get(company),
                }
            })
            .collect();
        visits.sort_unstable_by(|a, b| b.arrived.cmp(&a.arrived).then(b.id.cmp(&a.id)));
        Self {
            visits,
            names: names.list,
            companies: companies.list,
            zone: zone.parse().expect("a time zone"),
        }
    }

    /// How many visits were seeded.
    pub(crate) fn len(&self) -> usize {
        self.visits.len()
    }

    /// `[start, end)` in Unix seconds of the local days `from` to `to`.
    fn window(&self, from: NaiveDate, to: NaiveDate) -> (i64, i64) {
        let midnight = |d: NaiveDate| -> DateTime<Utc> {
            self.zone
                .from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()
                .expect("a local midnight")
                .with_timezone(&Utc)
        };
        (
            midnight(from).timestamp(),
            midnight(to + Duration::days(1)).timestamp(),
        )
    }

    /// The visits `search` matches when the server's local date is `today`; `keep`
    /// caps the ids returned.
    pub(crate) fn expect(&self, search: &Search, today: NaiveDate, keep: usize) -> Expected {
        let from = search.from.unwrap_or(today - Duration::days(30));
        let to = search.to.unwrap_or(today);
        assert!(to >= from, "the benchmark sends ordered dates");
        let (start, end) = self.window(from, to);
        // Name and company: the compact query is part of the compact text.
        let matching = |list: &[String], query: &Option<String>| -> Option<Vec<bool>> {
            let q = compact(query.as_deref()?);
            (!q.is_empty()).then(|| list.iter().map(|t| t.contains(&q)).collect())
        };
        let names = matching(&self.names, &search.visitor);
        let companies = matching(&self.companies, &search.company);
        let mut out = Expected {
            total: 0,
            ids: Vec::new(),
        };
        for v in &self.visits {
            let hit = v.arrived >= start
                && v.arrived < end
                && search.site.is_none_or(|s| s == v.site)
                && search.host.is_none_or(|h| h == v.host)
                && (!search.inside || v.inside)
                && names.as_ref().is_none_or(|m| m[v.name])
                && companies.as_ref().is_none_or(|m| m[v.company]);
            if hit {
                out.total += 1;
                if out.ids.len() < keep {
                    out.ids.push(v.id);
                }
            }
        }
        out
    }

    /// The ids of the visits arriving on the local days `from` to `to`, oldest first
    /// (the CSV export's order).
    pub(crate) fn export(&self, from: NaiveDate, to: NaiveDate) -> Vec<i64> {
        let (start, end) = self.window(from, to);
        self.visits
            .iter()
            .rev()
            .filter(|v| v.arrived >= start && v.arrived < end)
            .map(|v| v.id)
            .collect()
    }
}

/// Distinct strings by index, kept in compact form.
#[derive(Default)]
struct Interner {
    index: HashMap<String, usize>,
    list: Vec<String>,
}

impl Interner {
    fn get(&mut self, text: &str) -> usize {
        if let Some(i) = self.index.get(text) {
            return *i;
        }
        self.list.push(compact(text));
        self.index.insert(text.to_owned(), self.list.len() - 1);
        self.list.len() - 1
    }
}

/// The visit ids of the rows of a history page, in order.
pub(crate) fn page_ids(html: &str) -> Vec<i64> {
    html.split("<tr><td><a href=\"/visits/")
        .skip(1)
        .map(|s| {
            s.split('"')
                .next()
                .and_then(|id| id.parse().ok())
                .expect("a visit link in a history row")
        })
        .collect()
}

/// The page's "next page" link, if any.
pub(crate) fn next_link(html: &str) -> Option<String> {
    let href = html
        .split("<div class=\"pager\"><a class=\"button\" href=\"")
        .nth(1)?
        .split('"')
        .next()?;
    Some(unescape(href))
}

/// `text` with HTML character references replaced by their characters.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').expect("a terminated character reference");
        let c = match &tail[1..end] {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            name => {
                let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => name.trim_start_matches('#').parse(),
                };
                code.ok()
                    .and_then(char::from_u32)
                    .expect("a known character reference")
            }
        };
        out.push(c);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The first cell of every record of a CSV file (after its header), honouring quotes.
pub(crate) fn csv_first_cells(csv: &[u8]) -> Vec<String> {
    let csv = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
    let (mut cells, mut cell, mut quoted, mut first) = (Vec::new(), Vec::new(), false, true);
    for &b in csv {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => first = false,
            b'\n' if !quoted => {
                cells.push(String::from_utf8_lossy(&cell).trim_end().to_owned());
                cell.clear();
                first = true;
            }
            _ if first => cell.push(b),
            _ => {}
        }
    }
    cells.into_iter().skip(1).collect()
}
