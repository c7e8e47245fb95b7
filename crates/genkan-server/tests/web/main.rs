//! In-process integration tests of the web app's admin and account screens: the real
//! router on a loopback port, signed in through the real forms.
#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod access;
mod account;
mod admin_routes;
mod allowlist;
mod api_credentials;
mod api_tokens;
mod audit;
mod credentials;
mod csrf;
mod devices;
mod helpers;
mod import;
mod ip_spoofing;
mod kiosk_health;
mod kiosk_limits;
mod kiosk_lobby;
mod kiosk_replays;
mod limits;
mod links;
mod mfa;
mod notifications;
mod passes;
mod passwords;
mod race;
mod read_only;
mod route_table;
mod sessions;
mod settings;
mod signin;
mod sites;
mod template_limits;
mod token_pages;
mod users;
