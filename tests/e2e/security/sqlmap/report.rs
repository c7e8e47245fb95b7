//! Reading sqlmap's output: the requests it took, the parameters it tested, what it claimed.

use std::collections::BTreeSet;

/// What sqlmap said about one request.
pub(super) struct Seen {
    pub(super) url: String,
    pub(super) params: BTreeSet<String>,
}

/// sqlmap's output, read.
pub(super) struct Report {
    /// One per request, in order.
    pub(super) targets: Vec<Seen>,
    /// Lines claiming an injection (or a DBMS error) anywhere.
    pub(super) findings: Vec<String>,
    /// "HTTP error codes detected" lines listing a 5xx.
    pub(super) server_errors: Vec<String>,
    /// `testing '<technique>'` lines.
    pub(super) techniques: usize,
}

pub(super) fn read_report(output: &str) -> Report {
    let mut report = Report {
        targets: Vec::new(),
        findings: Vec::new(),
        server_errors: Vec::new(),
        techniques: 0,
    };
    let lines: Vec<&str> = output.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('[') && line.trim_end().ends_with("] URL:") {
            let url = lines
                .get(i + 1)
                .and_then(|l| l.split_once(' '))
                .map_or("", |(_, url)| url)
                .to_owned();
            report.targets.push(Seen {
                url,
                params: BTreeSet::new(),
            });
        }
        // (Not "skipping previously processed …": within one round no two requests
        // share a path, so nothing may be skipped.)
        if let Some(at) = line.find("parameter '")
            && let Some(name) = line[at + 11..].strip_suffix("' does not seem to be injectable")
            && let Some(seen) = report.targets.last_mut()
        {
            seen.params
                .insert(name.trim_start_matches("JSON ").to_owned());
        }
        if line.contains("] [INFO] testing '") {
            report.techniques += 1;
        }
        let lower = line.to_ascii_lowercase();
        // A confirmed injection ("… is vulnerable", the injection point summary) or a
        // DBMS error message in a page ("might be injectable (possible DBMS: …)"). A
        // bare "appears to be '<technique>' injectable" is sqlmap's first guess, which
        // its false-positive check may still refute, and a bare "might be injectable"
        // only says `1234-1233` got the page of `1` (an id that does not parse is no
        // filter, which here lists the same rows); a confirmed one is followed by the
        // lines above.
        let claims = lower.contains("is vulnerable")
            || lower.contains("might be injectable (possible dbms")
            || lower.contains("identified the following injection point");
        if claims {
            report.findings.push((*line).to_owned());
        }
        if line.contains("HTTP error codes detected during run") {
            let codes_line = lines.get(i + 1).copied().unwrap_or("");
            for part in codes_line.split(',') {
                let code = part.trim().split(' ').next().unwrap_or("");
                if code.starts_with('5') {
                    report.server_errors.push(codes_line.to_owned());
                }
            }
        }
    }
    report
}
