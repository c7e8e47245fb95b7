//! Unit tests of the decoding boundary: generated passes, empty frames, contained panics.

use genkan_core::pass::PassToken;
use image::{GrayImage, Luma};

use super::*;

/// Renders `text` as a QR code the way a pass image does: dark modules on white with
/// a quiet zone, `scale` pixels per module, placed on a larger grey frame.
fn qr_frame(text: &str, scale: u32) -> GrayImage {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).unwrap();
    let qr = code
        .render::<Luma<u8>>()
        .module_dimensions(scale, scale)
        .quiet_zone(true)
        .build();
    let mut frame = GrayImage::from_pixel(qr.width() + 200, qr.height() + 120, Luma([150]));
    image::imageops::overlay(&mut frame, &qr, 100, 60);
    frame
}

#[test]
fn a_generated_pass_qr_decodes_to_its_token() {
    let token = PassToken::generate(&mut rand::rng());
    let text = token.encode();
    assert_eq!(decode_frame(&qr_frame(&text, 8)), Some(text.clone()));
    assert!(PassToken::parse(&text).is_ok());
}

#[test]
fn any_qr_text_is_returned_raw_even_when_it_is_not_a_pass() {
    let frame = qr_frame("https://example.com/not-a-pass", 6);
    assert_eq!(
        decode_frame(&frame).as_deref(),
        Some("https://example.com/not-a-pass")
    );
}

#[test]
fn a_frame_without_a_code_decodes_to_nothing() {
    assert_eq!(
        decode_frame(&GrayImage::from_pixel(640, 360, Luma([128]))),
        None
    );
    assert_eq!(decode_frame(&GrayImage::new(0, 0)), None);
}

#[test]
fn a_panicking_decoder_costs_one_frame_not_the_kiosk() {
    struct Exploding;
    impl Decoder for Exploding {
        fn decode(&mut self, _: &GrayImage) -> Option<String> {
            panic!("decoder bug");
        }
        fn name(&self) -> &'static str {
            "exploding"
        }
    }
    let frame = GrayImage::new(4, 4);
    assert_eq!(decode_guarded(&mut Exploding, &frame), Decoded::Panicked);
    // The thread goes on decoding.
    assert_eq!(
        decode_guarded(&mut RqrrDecoder::plain(), &frame),
        Decoded::Nothing
    );
}
