//! The OpenID Connect relying party: one [`OidcProvider`] per tenant's IdP.
//!
//! The flow, and what the caller keeps:
//! 1. [`OidcProvider::discover`] once per tenant configuration (keep the value; it refreshes
//!    discovery hourly and the key set on an unknown `kid`, at most every five minutes).
//! 2. [`OidcProvider::begin_login`] gives the URL to redirect to and a [`PendingOidcLogin`]
//!    (state, nonce, PKCE verifier, time). Keep the pending login **server-side** (it holds
//!    the PKCE verifier), bound to the browser by a random cookie, for a few minutes.
//! 3. On the callback, take (read and delete: single use) the pending login and call
//!    [`OidcProvider::complete_login`] with the query's `state` and `code` or `error`. It
//!    compares the state, exchanges the code (with the PKCE verifier) and checks the
//!    id_token; out comes an [`OidcIdentity`] keyed by `(issuer, subject)`.
//!
//! Every refusal is an [`OidcError`] with a stable [`OidcError::code`] for the audit log.

mod config;
mod error;
mod identity;
mod login;
mod provider;
mod verify;

pub use config::{ClientAuth, OidcConfig, SigningAlg};
pub use error::OidcError;
pub use identity::OidcIdentity;
pub use login::{OidcCallback, OidcLoginStart, PENDING_LOGIN_TTL, PendingOidcLogin};
pub use provider::{DISCOVERY_TTL, JWKS_REFETCH_INTERVAL, OidcProvider};
