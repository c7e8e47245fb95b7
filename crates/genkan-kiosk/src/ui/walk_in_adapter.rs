//! `WalkInAdapter`: the walk-in form's fields, matches, chosen host and issue.

use std::rc::Weak;

use slint::{ComponentHandle as _, Model as _, ModelRc, VecModel};

use super::{Act, HostMatch, MainWindow, WalkInAdapter, WalkInIssue as UiIssue, with};
use crate::controller::{Reception, WalkInIssue};

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<WalkInAdapter<'_>>();
    let form = r.walk_in();
    let options = r.walk_in_options();
    // Text fields are written only when they differ (a reset): writing what the visitor
    // is typing would move their cursor.
    if g.get_name() != form.name.as_str() {
        g.set_name(form.name.as_str().into());
    }
    if g.get_company() != form.company.as_str() {
        g.set_company(form.company.as_str().into());
    }
    if g.get_phone() != form.phone.as_str() {
        g.set_phone(form.phone.as_str().into());
    }
    if g.get_query() != form.query.as_str() {
        g.set_query(form.query.as_str().into());
    }
    g.set_ask_company(options.ask_company);
    g.set_ask_phone(options.ask_phone);
    let matches: Vec<HostMatch> = form
        .matches
        .iter()
        .map(|m| HostMatch {
            id: i32::try_from(m.id).unwrap_or(-1),
            name: m.name.as_str().into(),
        })
        .collect();
    if !g.get_matches().iter().eq(matches.iter().cloned()) {
        g.set_matches(ModelRc::new(VecModel::from(matches)));
    }
    g.set_host(form.host.as_ref().map_or("", |h| h.name.as_str()).into());
    g.set_searching(form.searching);
    g.set_issue(match form.issue {
        None => UiIssue::None,
        Some(WalkInIssue::NameMissing) => UiIssue::NameMissing,
        Some(WalkInIssue::HostMissing) => UiIssue::HostMissing,
        Some(WalkInIssue::NoMatch) => UiIssue::NoMatch,
        Some(WalkInIssue::Check) => UiIssue::Check,
        Some(WalkInIssue::Closed) => UiIssue::Closed,
    });
}

pub(super) fn connect<A: Act>(ui: &MainWindow, app: &Weak<A>) {
    let g = ui.global::<WalkInAdapter<'_>>();
    let a = app.clone();
    g.on_edit_name(move |text| {
        with(&a, |r| {
            r.walk_in_name(&text);
            None
        });
    });
    let a = app.clone();
    g.on_edit_company(move |text| {
        with(&a, |r| {
            r.walk_in_company(&text);
            None
        });
    });
    let a = app.clone();
    g.on_edit_phone(move |text| {
        with(&a, |r| {
            r.walk_in_phone(&text);
            None
        });
    });
    let a = app.clone();
    g.on_edit_query(move |text| with(&a, |r| r.walk_in_search(&text)));
    let a = app.clone();
    g.on_choose(move |id| {
        with(&a, |r| {
            r.choose_host(i64::from(id));
            None
        });
    });
    let a = app.clone();
    g.on_submit(move || with(&a, Reception::walk_in_submit));
}
