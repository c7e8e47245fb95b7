//! Two-step verification with an authenticator app (TOTP): the code step of signing
//! in, the enrolment a tenant policy demands before anything else ([`login`]), and
//! turning it on and off from the account page ([`account`]).

pub mod account;
pub mod login;

use askama::Template;
use axum::Router;
use axum::routing::{get, post};
use genkan_core::totp;
use qrcode::{EcLevel, QrCode};

use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::i18n::Tr;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/mfa", get(login::code_page).post(login::check_code))
        .route("/login/mfa/setup", get(login::setup_page))
        .route("/login/mfa/setup/start", post(login::start))
        .route("/login/mfa/setup/confirm", post(login::confirm))
        .route("/account/mfa", get(account::page))
        .route("/account/mfa/start", post(account::start))
        .route("/account/mfa/confirm", post(account::confirm))
        .route("/account/mfa/disable", post(account::disable))
}

/// What the enrolment panel shows: the QR code to scan, the same secret as text
/// (for typing it in), and where the first code goes.
pub struct Enrolment {
    /// Inline SVG of the `otpauth://` URI (made here from the secret, never user text).
    pub qr_svg: String,
    /// The secret in base32, in groups of four.
    pub secret_text: String,
    /// Where the confirming code is posted.
    pub confirm_action: &'static str,
}

/// The enrolment panel for `secret`, labelled with the organisation and the e-mail.
pub fn enrolment(
    tenant_name: &str,
    email: &str,
    secret: &[u8],
    confirm_action: &'static str,
) -> PageResult<Enrolment> {
    let uri = totp::otpauth_uri(&format!("Genkan ({tenant_name})"), email, secret);
    let svg = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(PageError::internal)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(220, 220)
        .build();
    // Inline in the page: the XML prolog has no place inside HTML.
    let qr_svg = svg
        .find("<svg")
        .map_or(svg.clone(), |i| svg[i..].to_owned());
    let b32 = totp::base32_encode(secret);
    let secret_text = b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Enrolment {
        qr_svg,
        secret_text,
        confirm_action,
    })
}

/// The recovery codes, shown exactly once after enrolment.
#[derive(Template)]
#[template(path = "web/mfa/recovery.html")]
pub struct RecoveryPage {
    /// Translations.
    pub t: Tr,
    /// Page title key.
    pub heading: &'static str,
    /// Notice.
    pub message: Option<String>,
    /// Problem.
    pub problem: Option<String>,
    /// Static version.
    pub static_v: &'static str,
    /// The codes.
    pub codes: Vec<String>,
    /// Where "continue" leads.
    pub next: &'static str,
}

impl RecoveryPage {
    /// The page for `codes`, continuing to `next`.
    pub fn new(t: Tr, codes: Vec<String>, next: &'static str) -> Self {
        Self {
            t,
            heading: "mfa.recovery_title",
            message: Some(t.get("mfa.enabled_notice").to_owned()),
            problem: None,
            static_v: crate::web::assets::VERSION.as_str(),
            codes,
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enrolment_qr_is_inline_svg_and_the_secret_is_grouped() {
        let e = enrolment(
            "Acme <Corp>",
            "aiko@acme.example",
            b"12345678901234567890",
            "/x",
        )
        .unwrap();
        assert!(e.qr_svg.starts_with("<svg") && e.qr_svg.ends_with("</svg>"));
        assert!(
            !e.qr_svg.contains("Acme"),
            "the SVG carries modules, not text"
        );
        assert_eq!(e.secret_text, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
    }
}
