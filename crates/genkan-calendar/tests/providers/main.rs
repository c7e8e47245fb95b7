//! Provider tests with real parts: a Radicale CalDAV server started per test, and
//! local stand-ins for Google Calendar and Microsoft Graph that implement the
//! documented sync semantics (paging, sync tokens, delta links, 410, throttling,
//! push), with the production clients pointed at them by base URL.
#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod bench;
mod caldav;
mod google;
mod google_standin;
mod graph;
mod graph_standin;
mod helpers;
mod radicale;
