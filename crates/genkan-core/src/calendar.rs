//! Calendar import rules: the normalised event every provider is read into, which
//! events become appointments, and how a changed event changes its appointment.
//!
//! - [`event`]: [`CalendarEvent`], [`EventKey`] and the [`Change`]s a sync reports.
//! - [`rules`]: a tenant's [`ImportRules`] (domains, triggers, rooms, sites, languages).
//! - [`select`]: [`decide`] — event + rules → [`Decision`] (also the settings preview).
//! - [`mod@reconcile`]: [`reconcile()`] and [`plan_batch`] — snapshot + new event →
//!   [`SyncAction`]s, with the stated rule for edits made in Genkan.

pub mod event;
pub mod reconcile;
pub mod rules;
pub mod select;

pub use event::{
    Attendee, AttendeeKind, CalendarEvent, Change, EventKey, EventStatus, EventTime, Organizer,
    Provider, Response,
};
pub use reconcile::{
    BatchPlan, KeyedActions, Known, LocalEdits, SyncAction, plan_batch, reconcile,
};
pub use rules::{
    ImportRules, LanguageRule, SiteRule, SiteTarget, TriggerMode, Triggers, sanitize_text,
};
pub use select::{AppointmentPlan, Decision, HostContext, PlannedVisitor, SkipReason, decide};
