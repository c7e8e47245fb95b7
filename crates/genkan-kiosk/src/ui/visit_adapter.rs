//! `VisitAdapter`: the names on the welcome and goodbye screens, who was told of the
//! arrival, whether the check-in was offline, and the host's reply.

use genkan_core::wire::v1::ReplyKind;
use slint::ComponentHandle as _;

use super::{HostReplyKind, MainWindow, Told as UiTold, VisitAdapter};
use crate::controller::{Reception, Told};

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<VisitAdapter<'_>>();
    if let Some(greeting) = r.greeting() {
        g.set_visitor_name(greeting.visitor_name.as_str().into());
        g.set_visitor_company(greeting.visitor_company.as_deref().unwrap_or("").into());
        g.set_host_name(greeting.host_name.as_str().into());
        g.set_told(match greeting.told {
            Told::Host => UiTold::Host,
            Told::Reception => UiTold::Reception,
            Told::Desk => UiTold::Desk,
        });
        g.set_offline(greeting.offline);
        g.set_reply(match greeting.reply {
            None => HostReplyKind::None,
            Some(ReplyKind::Coming) => HostReplyKind::Coming,
            Some(ReplyKind::Wait) => HostReplyKind::Wait,
        });
    } else if let Some(farewell) = r.farewell() {
        g.set_visitor_name(farewell.visitor_name.as_str().into());
        g.set_visitor_company("".into());
    }
}
