//! Pass images: the QR code of a pass token as PNG (for mail) and SVG (for print).

use std::io::Cursor;

use genkan_core::pass::PassToken;
use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode, Version};

/// Why a QR image could not be made.
#[derive(Debug, thiserror::Error)]
#[error("QR image: {0}")]
pub struct QrError(String);

fn code_of(token: &PassToken) -> Result<QrCode, QrError> {
    // Level M: enough redundancy for a slightly damaged print or a dirty screen,
    // while a 31-character alphanumeric token still fits version 2.
    QrCode::with_error_correction_level(token.encode().as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

/// The QR version a token needs (2 for version-1 tokens).
pub fn version_of(token: &PassToken) -> Result<i16, QrError> {
    match code_of(token)?.version() {
        Version::Normal(v) => Ok(v),
        Version::Micro(v) => Ok(-v),
    }
}

/// PNG of the pass QR code: 10 px per module with the 4-module quiet zone.
pub fn png(token: &PassToken) -> Result<Vec<u8>, QrError> {
    let image = code_of(token)?
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(10, 10)
        .build();
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(out.into_inner())
}

/// SVG of the pass QR code.
pub fn svg(token: &PassToken) -> Result<String, QrError> {
    Ok(code_of(token)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(240, 240)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_codes_stay_at_version_two_or_less_at_level_m() {
        for _ in 0..200 {
            let t = PassToken::generate(&mut rand::rng());
            let v = version_of(&t).unwrap();
            assert!((1..=3).contains(&v), "version {v}");
        }
    }

    #[test]
    fn png_and_svg_are_real_images() {
        let t = PassToken::generate(&mut rand::rng());
        let png = png(&t).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!(decoded.width(), (25 + 8) * 10);
        let svg = svg(&t).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
