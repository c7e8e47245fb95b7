//! Calendar sync for Genkan: clients for CalDAV, Google Calendar and Microsoft Graph
//! behind one trait, token requests, and push-notification checks. No product rules
//! live here: the events it reads are decided on by [`genkan_core::calendar`].
//!
//! - [`source`]: [`CalendarSource`], [`CalendarRef`], [`SyncWindow`], [`SyncState`],
//!   [`SyncBatch`], and [`Source`] over all providers.
//! - [`caldav`]: [`caldav::CalDavClient`] (PROPFIND discovery, sync-collection,
//!   multiget, ctag/etag fallback) and iCalendar reading in [`caldav::ics`].
//! - [`google`]: [`google::GoogleCalendar`] (events.list with sync tokens, watch
//!   channels) and [`google::push`] (notification checks).
//! - [`graph`]: [`graph::GraphCalendar`] (calendarView delta, subscriptions) and
//!   [`graph::push`] (validation and notification checks).
//! - [`auth`]: OAuth code/refresh/client-credential grants and Google
//!   service-account (domain-wide delegation) tokens.
//! - [`error`]: [`SyncError`], [`AuthError`], [`RetryAfter`].
//!
//! Every client takes the caller's `reqwest::Client` (the server passes its
//! outbound-guarded one) and configurable base URLs, so tests point them at local
//! stand-ins.
#![forbid(unsafe_code)]

pub mod auth;
pub mod caldav;
pub mod error;
pub mod google;
pub mod graph;
mod http;
pub mod source;

pub use error::{AuthError, RetryAfter, SyncError};
pub use genkan_core::calendar::{CalendarEvent, Change, EventKey, Provider};
pub use http::Limits;
pub use source::{
    CalendarRef, CalendarSource, FullReason, Source, SyncBatch, SyncState, SyncWindow,
};
