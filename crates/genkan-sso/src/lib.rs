//! Enterprise sign-in protocols for Genkan, free of routes and storage.
//!
//! - [`oidc`]: an OpenID Connect relying party per tenant: discovery and JWKS kept fresh,
//!   the authorization request (PKCE S256, `state`, `nonce`), the code exchange and the
//!   id_token checks, with the identity out.
//! - [`saml`]: a SAML 2.0 service provider per tenant: SP metadata, IdP metadata import,
//!   AuthnRequest (HTTP-Redirect), signed-response validation and the replay guard
//!   (feature `saml`, on by default).
//! - [`scim`]: SCIM 2.0 building blocks: resources, list and error shapes, PATCH, filters
//!   and ETags.
//! - [`account`]: which account an identity signs in to (subject first, address once, JIT)
//!   and the role its groups give.
//! - [`http`]: the bounded, redirect-refusing HTTP fetches the relying party makes.
//!
//! The caller (the server) owns routes, cookies, the store and the audit log; each module
//! says what the caller must keep between the redirect and the callback.
#![forbid(unsafe_code)]

pub mod account;
pub mod http;
pub mod oidc;
#[cfg(feature = "saml")]
pub mod saml;
pub mod scim;
