//! Notification delivery against real loopback peers (SMTP server, HTTP receivers
//! standing in for Slack, Teams, Chatwork and webhooks) with a manual clock: retries,
//! dead letters, rate limits, timeouts, TLS, SSRF, every channel's payload, reply
//! links and the kiosk's long-poll, reminders and no-shows, and what the kiosk is told
//! about who was alerted.
#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod branding;
mod channels;
mod harness;
mod machinery;
mod replies;
mod scheduled;
mod template_limits;
mod truth;
