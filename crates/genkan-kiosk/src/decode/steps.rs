//! One attempt each: rxing with a binarizer (both QR readers, both polarities), and
//! rqrr as detector and sampler with rxing's bitstream decoder; every call guarded.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rxing::common::cpp_essentials::ConcentricPattern;
use rxing::common::{BitMatrix, GlobalHistogramBinarizer, HybridBinarizer};
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::qrcode::cpp_port::detector::FindFinderPatterns;
use rxing::{BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Luma8Source, Reader};

use super::cascade::{Options, Polarity};
use super::luma::Gray;

#[derive(Debug, Clone, Copy)]
pub(super) enum Bin {
    Hybrid,
    Global,
}

/// What one rxing step produced: the text, or the finder patterns it saw (when asked).
#[derive(Debug, Default)]
pub(super) struct StepResult {
    pub(super) text: Option<String>,
    pub(super) finders: Vec<ConcentricPattern>,
    pub(super) inverted_finders: Vec<ConcentricPattern>,
}

pub(super) fn qr_hints() -> DecodeHints {
    DecodeHints {
        PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
        TryHarder: Some(true),
        ..DecodeHints::default()
    }
}

/// One rxing step: binarize once, read normal polarity, then (if asked) the inverted bits.
/// With `want_finders`, also reports the finder patterns of each polarity tried.
pub(super) fn rxing_step(
    opts: &Options,
    img: Gray<'_>,
    bin: Bin,
    polarity: Polarity,
    want_finders: bool,
) -> StepResult {
    let run = || {
        let source = Luma8Source::new_with_slice(img.data, img.w, img.h).ok()?;
        Some(match bin {
            Bin::Hybrid => read_bits(
                opts,
                &mut BinaryBitmap::new(HybridBinarizer::new(source)),
                polarity,
                want_finders,
            ),
            Bin::Global => read_bits(
                opts,
                &mut BinaryBitmap::new(GlobalHistogramBinarizer::new(source)),
                polarity,
                want_finders,
            ),
        })
    };
    // The readers are guarded one by one; this also covers binarizing and inverting.
    guarded(run).unwrap_or_default()
}

pub(super) fn read_bits<B: Binarizer>(
    opts: &Options,
    bits: &mut BinaryBitmap<B>,
    polarity: Polarity,
    want_finders: bool,
) -> StepResult {
    let hints = qr_hints();
    let read = |bits: &mut BinaryBitmap<B>| -> Option<String> {
        let cpp = guarded(|| QrReader.decode_with_hints(bits, &hints).ok());
        if let Some(r) = cpp {
            return Some(r.getText().to_owned());
        }
        if opts.legacy_reader {
            let classic = guarded(|| QRCodeReader.decode_with_hints(bits, &hints).ok());
            return classic.map(|r| r.getText().to_owned());
        }
        None
    };
    let finders = |bits: &mut BinaryBitmap<B>| -> Vec<ConcentricPattern> {
        if want_finders {
            guarded(|| Some(FindFinderPatterns(bits.get_black_matrix(), true, 0)))
                .unwrap_or_default()
        } else {
            Vec::new()
        }
    };
    let mut out = StepResult {
        text: read(bits),
        ..StepResult::default()
    };
    if out.text.is_some() {
        return out;
    }
    out.finders = finders(bits);
    if polarity == Polarity::Both {
        // Inverting the bits (not the pixels) reuses the binarization.
        bits.invert();
        out.text = read(bits);
        if out.text.is_none() {
            out.inverted_finders = finders(bits);
        }
    }
    out
}

/// Runs `f`, turning a panic into `None`.
pub(super) fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

/// rqrr finds and samples the grids; rxing's bitstream decoder reads them, rqrr's own decoder
/// is the fallback.
pub(super) fn rqrr_decode(img: Gray<'_>) -> Option<String> {
    let (w, data) = (img.w as usize, img.data);
    guarded(|| {
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(w, img.h as usize, |x, y| data[y * w + x]);
        prepared.detect_grids().into_iter().find_map(|grid| {
            decode_grid_with_rxing(&grid.grid).or_else(|| {
                let mut bytes = Vec::new();
                grid.decode_to(&mut bytes)
                    .ok()
                    .map(|_| bytes_to_text(&bytes))
            })
        })
    })
}

pub(super) fn decode_grid_with_rxing(grid: &impl rqrr::BitGrid) -> Option<String> {
    let size = u32::try_from(grid.size()).ok()?;
    let mut bits = BitMatrix::new(size, size).ok()?;
    for y in 0..size {
        for x in 0..size {
            if grid.bit(y as usize, x as usize) {
                bits.set(x, y);
            }
        }
    }
    let result = guarded(|| rxing::qrcode::cpp_port::decoder::Decode(&bits).ok())?;
    result.isValid().then(|| result.text())
}

/// Text of a QR payload: UTF-8 when valid, otherwise the character set rxing guesses
/// (Shift_JIS for Japanese content), otherwise ISO-8859-1.
pub(super) fn bytes_to_text(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    rxing::common::string_utils::guessCharset(bytes, &DecodeHints::default())
        .and_then(|charset| charset.decode(bytes).ok())
        .unwrap_or_else(|| bytes.iter().map(|&b| char::from(b)).collect())
}
