//! QR decoding of grayscale frames behind a small boundary, so pipelines can be swapped or combined.
//!
//! The kiosk decodes with [`CascadeDecoder`] (the cascade in `cascade.rs`: rxing and
//! rqrr with preprocessing; see BENCHMARKS.md for its rate and speed on real photos);
//! [`RqrrDecoder`] alone remains for comparison. A [`Decoder`] turns one grayscale
//! frame into the text of the first QR code it can read. Decoders run on the decoding thread, never on the UI thread, and every call
//! is guarded: rqrr 0.11 panics on some real photos (upstream issue #54), and a
//! panic must cost one frame, not the kiosk. That guard relies on unwinding, so the
//! workspace must never set `panic = "abort"`.

mod cascade;
mod luma;
mod rqrr_decoder;
mod steps;

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::GrayImage;

pub use cascade::{Options, decode_luma, decode_luma_with};
pub use rqrr_decoder::RqrrDecoder;

/// The cascade of `cascade.rs` behind the [`Decoder`] boundary.
#[derive(Debug, Clone, Default)]
pub struct CascadeDecoder {
    options: Options,
}

impl CascadeDecoder {
    /// A decoder with the given tuning.
    pub fn with_options(options: Options) -> Self {
        Self { options }
    }
}

impl Decoder for CascadeDecoder {
    fn decode(&mut self, frame: &GrayImage) -> Option<String> {
        decode_luma_with(&self.options, frame.width(), frame.height(), frame.as_raw())
    }

    fn name(&self) -> &'static str {
        "cascade"
    }
}

/// Something that finds and reads a QR code in a grayscale frame.
pub trait Decoder: Send {
    /// The decoded text of the first readable QR code in `frame`, if any. May panic;
    /// callers go through [`decode_guarded`].
    fn decode(&mut self, frame: &GrayImage) -> Option<String>;

    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;
}

/// The decoder the kiosk uses.
pub fn default_decoder() -> Box<dyn Decoder> {
    Box::new(CascadeDecoder::default())
}

/// What one guarded decode produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A QR code was read; its raw text (not necessarily a pass).
    Text(String),
    /// No readable QR code in the frame.
    Nothing,
    /// The decoder panicked on this frame; the panic was contained.
    Panicked,
}

impl Decoded {
    /// The text, if one was read.
    pub fn text(self) -> Option<String> {
        match self {
            Self::Text(t) => Some(t),
            Self::Nothing | Self::Panicked => None,
        }
    }
}

/// Runs `decoder` on `frame`, turning a panic inside it into [`Decoded::Panicked`].
pub fn decode_guarded(decoder: &mut dyn Decoder, frame: &GrayImage) -> Decoded {
    // The decoder holds no state that a panic could leave half-updated in a way that
    // matters: the worst case is one more failed frame.
    match catch_unwind(AssertUnwindSafe(|| decoder.decode(frame))) {
        Ok(Some(text)) => Decoded::Text(text),
        Ok(None) => Decoded::Nothing,
        Err(_) => {
            tracing::warn!(
                decoder = decoder.name(),
                width = frame.width(),
                height = frame.height(),
                "the QR decoder panicked on a frame; skipped"
            );
            Decoded::Panicked
        }
    }
}

/// Decodes one frame with the default decoder: the pure entry point used by the
/// `decode` subcommand and the tests.
pub fn decode_frame(frame: &GrayImage) -> Option<String> {
    decode_guarded(&mut CascadeDecoder::default(), frame).text()
}

#[cfg(test)]
mod tests;
