//! The rqrr decoder with a short preprocessing cascade: the frame as it is first, then
//! generic variants that help rqrr where it is known to be weak, stopping at the first
//! success. Each attempt is guarded on its own, so a panic in one leaves the others.

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::GrayImage;
use image::imageops::{self, FilterType};

use super::Decoder;

/// Frames whose longer side is at most this are also tried enlarged: rqrr needs about
/// 6.5 pixels per module, and small images of dense codes have fewer. Camera frames
/// (720p and up) are never enlarged, which would cost four times the work.
const ENLARGE_UP_TO: u32 = 1000;

/// rqrr 0.11, the project's chosen decoder.
#[derive(Debug, Clone, Copy)]
pub struct RqrrDecoder {
    cascade: bool,
}

impl Default for RqrrDecoder {
    fn default() -> Self {
        Self::cascade()
    }
}

impl RqrrDecoder {
    /// rqrr on the frame as it is, nothing else (the baseline of benchmarks).
    pub fn plain() -> Self {
        Self { cascade: false }
    }

    /// rqrr on the frame, then, when nothing was read, on variants of it: enlarged
    /// (small frames), halved (codes filling a large frame), softened (noise and
    /// halftone), enlarged and softened, and inverted (light-on-dark codes).
    pub fn cascade() -> Self {
        Self { cascade: true }
    }
}

/// One rqrr pass: the first grid that decodes.
fn rqrr_once(frame: &GrayImage) -> Option<String> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    if w == 0 || h == 0 {
        return None;
    }
    let raw = frame.as_raw();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| raw[y * w + x]);
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

/// `rqrr_once` with its panics (rqrr issue #54) turned into "nothing read".
fn attempt(frame: &GrayImage, stage: &str) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| rqrr_once(frame))).unwrap_or_else(|_| {
        tracing::warn!(stage, "rqrr panicked on a frame; trying the next variant");
        None
    })
}

impl Decoder for RqrrDecoder {
    fn decode(&mut self, frame: &GrayImage) -> Option<String> {
        if let Some(text) = attempt(frame, "original") {
            return Some(text);
        }
        if !self.cascade || frame.width() < 2 || frame.height() < 2 {
            return None;
        }
        let (w, h) = frame.dimensions();
        let small = w.max(h) <= ENLARGE_UP_TO;
        let enlarged = small.then(|| imageops::resize(frame, w * 2, h * 2, FilterType::Triangle));
        if let Some(text) = enlarged.as_ref().and_then(|e| attempt(e, "enlarged")) {
            return Some(text);
        }
        let halved = imageops::resize(frame, w / 2, h / 2, FilterType::Triangle);
        if let Some(text) = attempt(&halved, "halved") {
            return Some(text);
        }
        if let Some(text) = attempt(&imageops::blur(frame, 1.0), "softened") {
            return Some(text);
        }
        if let Some(text) = enlarged
            .as_ref()
            .and_then(|e| attempt(&imageops::blur(e, 1.5), "enlarged and softened"))
        {
            return Some(text);
        }
        let mut inverted = frame.clone();
        imageops::invert(&mut inverted);
        attempt(&inverted, "inverted")
    }

    fn name(&self) -> &'static str {
        if self.cascade { "rqrr+cascade" } else { "rqrr" }
    }
}
