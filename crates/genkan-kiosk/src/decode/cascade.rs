//! The kiosk's QR decoding cascade: rxing and rqrr behind preprocessing stages, panic-safe.
//!
//! [`decode_luma`] returns the text of the first QR code it can read in an 8-bit grayscale
//! image. It runs a fixed cascade of attempts and returns at the first success.
//!
//! **Images below [`Options::coarse_first_pixels`]** (photos, crops) go through the region
//! cascade at full resolution; every rxing step tries the ZXing-C++ port reader, then the
//! classic ZXing reader, first on the binarized image, then on the same bits inverted:
//!
//! 1. rxing, hybrid (local-block) binarizer;
//! 2. rxing on a 2x box-downscaled copy, hybrid then global-histogram binarizer: the low-pass
//!    removes blur, print texture, artistic module fills and round modules relative to the
//!    module pitch (ZXing-C++'s `tryDownscale` idea);
//! 3. rxing, global-histogram binarizer, on a 2..98 percentile contrast-stretched copy: faint,
//!    low-contrast codes that the hybrid binarizer treats as flat;
//! 4. rqrr, the project's chosen decoder, as detector and sampler (normal, then inverted): its
//!    module grid is decoded by rxing's bitstream decoder so ECI, Kanji and Shift_JIS come
//!    out as in the rxing steps, with rqrr's own decoder as a fallback;
//! 5. images of at most [`Options::upscale_max_pixels`]: 2x bilinear upscale, rxing hybrid then
//!    rqrr (small modules: rxing wants about 4 pixels per module, rqrr about 6.5).
//!
//! **Larger images** (camera frames, 720p and up) are first searched on the first 2x pyramid
//! level below the threshold (step 1 only: 4x fewer pixels, and the box filter averages
//! sensor noise away). If that fails, the finder patterns seen there decide: with no
//! plausible pair or triple (in either polarity) the frame is declared empty, which keeps
//! empty frames cheap; otherwise the region around each of at most
//! [`Options::max_regions`] groups is cropped from the next finer level and run through the
//! cascade above, in the polarity its finder patterns were seen in.
//!
//! Every decoder call runs under [`std::panic::catch_unwind`]: rqrr 0.11 panics on some real
//! photos and rxing can panic too, so a panic costs one attempt, never the caller. This relies
//! on unwinding: the crate using this module must not set `panic = "abort"`. The default panic
//! hook still prints the message to stderr.

use rxing::common::cpp_essentials::ConcentricPattern;
use rxing::qrcode::cpp_port::detector::GenerateFinderPatternSets;

use super::luma::{Gray, Owned, Region, downscale2, invert, stretch_contrast, upscale2};
use super::steps::{Bin, guarded, rqrr_decode, rxing_step};

/// Tuning knobs of the pipeline; [`Options::default`] is the measured configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Images with at least this many pixels take the coarse-first path (camera frames).
    pub coarse_first_pixels: usize,
    /// Also try light-on-dark (inverted) codes.
    pub inverted: bool,
    /// Run the classic ZXing QR reader after the ZXing-C++ port reader in every rxing step.
    pub legacy_reader: bool,
    /// Step 2 runs when the downscaled copy's shorter side has at least this many pixels.
    pub downscale_min_side: u32,
    /// Step 3 (contrast stretch, global binarizer).
    pub stretch_stage: bool,
    /// Step 4 (rqrr). Also gates rqrr in step 5.
    pub rqrr_stage: bool,
    /// Step 5 (2x upscale) runs on images with at most this many pixels.
    pub upscale_max_pixels: usize,
    /// Large frames: at most this many finder-pattern regions are cropped and decoded.
    pub max_regions: usize,
    /// Large frames: crops are limited to this many pixels per side.
    pub max_region_side: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            coarse_first_pixels: 800_000,
            inverted: true,
            legacy_reader: true,
            downscale_min_side: 42,
            stretch_stage: true,
            rqrr_stage: true,
            upscale_max_pixels: 150_000,
            max_regions: 2,
            max_region_side: 900,
        }
    }
}

/// Decodes the first readable QR code in a row-major 8-bit grayscale image with the default
/// [`Options`]. Returns `None` when nothing was read, including for a buffer that does not
/// hold exactly `width * height` bytes. Never panics.
pub fn decode_luma(width: u32, height: u32, luma: &[u8]) -> Option<String> {
    decode_luma_with(&Options::default(), width, height, luma)
}

/// [`decode_luma`] with explicit [`Options`].
pub fn decode_luma_with(opts: &Options, width: u32, height: u32, luma: &[u8]) -> Option<String> {
    let img = Gray::new(width, height, luma)?;
    if img.data.len() >= opts.coarse_first_pixels {
        decode_large(opts, img)
    } else {
        decode_region(opts, img, Polarity::Both)
    }
}

/// Which polarities of code to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Polarity {
    /// Dark modules on a light background only.
    Normal,
    /// Normal, then light-on-dark.
    Both,
}

/// Steps 1-5 of the module docs on one image or crop.
fn decode_region(opts: &Options, img: Gray<'_>, polarity: Polarity) -> Option<String> {
    let polarity = if opts.inverted {
        polarity
    } else {
        Polarity::Normal
    };
    if let Some(text) = rxing_step(opts, img, Bin::Hybrid, polarity, false).text {
        return Some(text);
    }
    if let Some(small) = downscale2(img).filter(|s| s.w.min(s.h) >= opts.downscale_min_side) {
        for bin in [Bin::Hybrid, Bin::Global] {
            if let Some(text) = rxing_step(opts, small.view(), bin, polarity, false).text {
                return Some(text);
            }
        }
    }
    if opts.stretch_stage
        && let Some(stretched) = stretch_contrast(img)
        && let Some(text) = rxing_step(opts, stretched.view(), Bin::Global, polarity, false).text
    {
        return Some(text);
    }
    if opts.rqrr_stage {
        if let Some(text) = rqrr_decode(img) {
            return Some(text);
        }
        if polarity == Polarity::Both
            && let Some(text) = rqrr_decode(invert(img).view())
        {
            return Some(text);
        }
    }
    if img.data.len() <= opts.upscale_max_pixels {
        let big = upscale2(img);
        if let Some(text) = rxing_step(opts, big.view(), Bin::Hybrid, polarity, false).text {
            return Some(text);
        }
        if opts.rqrr_stage {
            return rqrr_decode(big.view());
        }
    }
    None
}

/// Large frames: coarse step 1, then finder-pattern regions from the next finer level.
fn decode_large(opts: &Options, img: Gray<'_>) -> Option<String> {
    let mut finer: Option<Owned> = None;
    let mut coarse = downscale2(img)?;
    while coarse.data.len() >= opts.coarse_first_pixels {
        let next = downscale2(coarse.view())?;
        finer = Some(std::mem::replace(&mut coarse, next));
    }
    let polarity = if opts.inverted {
        Polarity::Both
    } else {
        Polarity::Normal
    };
    let found = rxing_step(opts, coarse.view(), Bin::Hybrid, polarity, true);
    if found.text.is_some() {
        return found.text;
    }
    let fine = finer.as_ref().map_or(img, Owned::view);
    let mut regions: Vec<(Region, bool)> =
        finder_regions(&found.finders, 2.0, fine.w, fine.h, opts)
            .into_iter()
            .map(|r| (r, false))
            .collect();
    regions.extend(
        finder_regions(&found.inverted_finders, 2.0, fine.w, fine.h, opts)
            .into_iter()
            .map(|r| (r, true)),
    );
    for (r, inverted) in regions.into_iter().take(opts.max_regions) {
        let Some(crop) = fine.crop(r) else { continue };
        let crop = if inverted { invert(crop.view()) } else { crop };
        if let Some(text) = decode_region(opts, crop.view(), Polarity::Normal) {
            return Some(text);
        }
    }
    None
}

/// Crop rectangles in the finer level (coordinates x `scale`) around plausible finder-pattern
/// groups: rxing's ranked triples first; if there are none, pairs of similar size at a
/// plausible distance (the third pattern was missed, so the crop covers either side).
pub(super) fn finder_regions(
    fps: &[ConcentricPattern],
    scale: f32,
    fw: u32,
    fh: u32,
    opts: &Options,
) -> Vec<Region> {
    if fps.len() < 2 {
        return Vec::new();
    }
    let mut patterns = fps.to_vec();
    let sets = guarded(|| Some(GenerateFinderPatternSets(&mut patterns))).unwrap_or_default();
    let mut boxes: Vec<[f32; 4]> = Vec::new();
    for set in sets.iter().take(opts.max_regions) {
        let pts = [set.bl, set.tl, set.tr];
        // Centre to outer corner is 3.5 modules of a 7-module pattern; add a quiet zone.
        let margin = pts.iter().map(|p| p.size).max().unwrap_or(0) as f32 * 1.2;
        let xs = pts.map(|p| p.p.x);
        let ys = pts.map(|p| p.p.y);
        boxes.push([
            min3(xs) - margin,
            min3(ys) - margin,
            max3(xs) + margin,
            max3(ys) + margin,
        ]);
    }
    if boxes.is_empty() {
        'pairs: for (i, a) in fps.iter().enumerate() {
            for b in &fps[i + 1..] {
                let (sa, sb) = (a.size as f32, b.size as f32);
                if sa > 2.0 * sb || sb > 2.0 * sa {
                    continue;
                }
                let d = ((a.p.x - b.p.x).powi(2) + (a.p.y - b.p.y).powi(2)).sqrt();
                // A pattern is 7 modules wide; adjacent centres are (dimension - 7) modules
                // apart: 14 for version 1, 50 for version 10. Passes are version 2.
                let modules = d / ((sa + sb) / 14.0);
                if !(10.0..=60.0).contains(&modules) {
                    continue;
                }
                let margin = d + sa.max(sb) * 1.2;
                boxes.push([
                    a.p.x.min(b.p.x) - margin,
                    a.p.y.min(b.p.y) - margin,
                    a.p.x.max(b.p.x) + margin,
                    a.p.y.max(b.p.y) + margin,
                ]);
                if boxes.len() >= opts.max_regions {
                    break 'pairs;
                }
            }
        }
    }
    boxes
        .into_iter()
        .filter_map(|b| {
            let to_fine = |v: f32, hi: u32| (v * scale).round().clamp(0.0, hi as f32) as u32;
            let (x0, y0, x1, y1) = (
                to_fine(b[0], fw),
                to_fine(b[1], fh),
                to_fine(b[2], fw),
                to_fine(b[3], fh),
            );
            let (x, w) = limit_span(x0, x1, opts.max_region_side);
            let (y, h) = limit_span(y0, y1, opts.max_region_side);
            (w >= 21 && h >= 21).then_some((x, y, w, h))
        })
        .collect()
}

pub(super) fn min3(v: [f32; 3]) -> f32 {
    v[0].min(v[1]).min(v[2])
}

pub(super) fn max3(v: [f32; 3]) -> f32 {
    v[0].max(v[1]).max(v[2])
}

/// Start and length of `lo..hi`, shrunk around its centre to at most `max`.
pub(super) fn limit_span(lo: u32, hi: u32, max: u32) -> (u32, u32) {
    let len = hi.saturating_sub(lo);
    if len > max {
        (lo + (len - max) / 2, max)
    } else {
        (lo, len)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::luma::{stretch_contrast, upscale2};
    use crate::decode::steps::bytes_to_text;

    #[test]
    fn bad_buffers_and_empty_images_decode_to_nothing() {
        assert_eq!(decode_luma(0, 0, &[]), None);
        assert_eq!(decode_luma(10, 10, &[0; 99]), None);
        assert_eq!(decode_luma(u32::MAX, u32::MAX, &[0; 4]), None);
        assert_eq!(decode_luma(64, 48, &[128; 64 * 48]), None);
        assert_eq!(decode_luma(1280, 720, &vec![0; 1280 * 720]), None);
        assert_eq!(decode_luma(1, 3000, &[255; 3000]), None);
    }

    #[test]
    fn resampling_keeps_sizes_and_flat_values() {
        let flat = [77u8; 6 * 4];
        let img = Gray::new(6, 4, &flat).expect("valid");
        let up = upscale2(img);
        assert_eq!((up.w, up.h, up.data.len()), (12, 8, 96));
        assert!(up.data.iter().all(|&v| v == 77));
        let down = downscale2(img).expect("non-empty");
        assert_eq!((down.w, down.h), (3, 2));
        assert!(down.data.iter().all(|&v| v == 77));
        assert!(stretch_contrast(img).is_none());
    }

    #[test]
    fn shift_jis_bytes_become_text() {
        // "テスト" in Shift_JIS.
        assert_eq!(
            bytes_to_text(&[0x83, 0x65, 0x83, 0x58, 0x83, 0x67]),
            "テスト"
        );
        assert_eq!(bytes_to_text("GK1ABC".as_bytes()), "GK1ABC");
    }
}
