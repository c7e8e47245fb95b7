//! genkan-sso against real identity providers started on loopback: oidc-provider (npm)
//! for OIDC and pysaml2 (PyPI, signing through xmlsec1) for SAML. A missing tool fails the
//! test with the command that installs it; nothing is skipped.
#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod helpers;
mod link;
mod oidc;
mod oidc_attacks;
mod saml;
mod saml_attacks;
