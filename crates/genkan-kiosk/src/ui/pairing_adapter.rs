//! `PairingAdapter`: the pairing screen's server address, progress and problem.

use std::rc::Weak;

use slint::ComponentHandle as _;

use super::{Act, MainWindow, PairingAdapter, PairingIssue as UiIssue, with};
use crate::controller::{PairingIssue, Reception};

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<PairingAdapter<'_>>();
    let pairing = r.pairing();
    if g.get_server_url() != pairing.server_url.as_str() {
        g.set_server_url(pairing.server_url.as_str().into());
    }
    g.set_busy(pairing.busy);
    g.set_issue(match pairing.issue {
        None => UiIssue::None,
        Some(PairingIssue::WrongCode) => UiIssue::WrongCode,
        Some(PairingIssue::Unreachable) => UiIssue::Unreachable,
        Some(PairingIssue::InvalidServer) => UiIssue::InvalidServer,
        Some(PairingIssue::Failed) => UiIssue::Failed,
    });
}

pub(super) fn connect<A: Act>(ui: &MainWindow, app: &Weak<A>) {
    let a = app.clone();
    ui.global::<PairingAdapter<'_>>()
        .on_pair(move |server, code| with(&a, |r| r.pair(&server, &code)));
}
