//! `VisitAdapter`: the names on the welcome and goodbye screens.

use slint::ComponentHandle as _;

use super::{MainWindow, VisitAdapter};
use crate::controller::Reception;

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<VisitAdapter<'_>>();
    if let Some(greeting) = r.greeting() {
        g.set_visitor_name(greeting.visitor_name.as_str().into());
        g.set_visitor_company(greeting.visitor_company.as_deref().unwrap_or("").into());
        g.set_host_name(greeting.host_name.as_str().into());
        g.set_host_notified(greeting.host_notified);
    } else if let Some(farewell) = r.farewell() {
        g.set_visitor_name(farewell.visitor_name.as_str().into());
        g.set_visitor_company("".into());
    }
}
