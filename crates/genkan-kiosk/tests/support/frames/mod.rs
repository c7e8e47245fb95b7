//! Seeded generator of camera-like 1280x720 grayscale frames, with and without a pass QR code.
//!
//! A frame with a code shows a Genkan-style pass token (`GK1` + 28 characters from
//! `0-9A-Z`, QR version 2, level M, made with the `qrcode` crate) on a phone screen or
//! a printed sheet, placed in a textured scene through a 3D pose (rotation about the
//! view axis, tilt about both in-plane axes, perspective projection), then optical
//! blur, uneven lighting, reduced contrast and sensor noise. A frame without a code
//! has the same kind of scene (and sometimes a phone or sheet showing only text).
//! Everything derives from the seed, so a set is reproducible across runs and machines.

mod scene;

use scene::*;

use qrcode::{EcLevel, QrCode, Version};

/// Frame width in pixels.
pub(crate) const WIDTH: u32 = 1280;
/// Frame height in pixels.
pub(crate) const HEIGHT: u32 = 720;

/// One synthetic grayscale frame.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// Row-major 8-bit luma, `width * height` bytes.
    pub(crate) luma: Vec<u8>,
    /// The text of the QR code shown in the frame, `None` for a frame without a code.
    pub(crate) text: Option<String>,
    /// Side of the QR symbol (without quiet zone) in frame pixels, before perspective; 0 without a code.
    pub(crate) code_px: f32,
}

/// Small deterministic PRNG (SplitMix64), so the fixtures need no `rand` dependency.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `[0, n)`; `n` must be non-zero.
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % u64::from(n)) as u32
    }

    /// Standard normal sample (Box-Muller).
    pub(crate) fn gauss(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// A random pass token: `GK1` followed by 28 characters from `0-9A-Z` (31 characters).
pub(crate) fn pass_token(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::from("GK1");
    for _ in 0..28 {
        s.push(char::from(ALPHABET[rng.below(36) as usize]));
    }
    s
}

/// The seed of the frame set the decoder tests check; benchmarks must score frames
/// from any other seed, so that no figure comes from frames the tests tuned against.
pub(crate) const TEST_SEED: u64 = 20_261_123;

/// A reproducible 720p set: `n` frames with a code and `n` without, all from `seed`.
pub(crate) fn generate_set(n: usize, seed: u64) -> (Vec<Frame>, Vec<Frame>) {
    generate_set_sized(n, seed, WIDTH, HEIGHT)
}

/// [`generate_set`] at another resolution; code sizes scale with `height / 720`.
pub(crate) fn generate_set_sized(
    n: usize,
    seed: u64,
    width: u32,
    height: u32,
) -> (Vec<Frame>, Vec<Frame>) {
    let mut rng = Rng::new(seed);
    let with: Vec<Frame> = (0..n)
        .map(|_| frame_with_code_sized(rng.next_u64(), width, height))
        .collect();
    let without: Vec<Frame> = (0..n)
        .map(|_| frame_without_code_sized(rng.next_u64(), width, height))
        .collect();
    (with, without)
}

/// [`frame_with_code`] at `width x height` (at least 320x240).
pub(crate) fn frame_with_code_sized(seed: u64, width: u32, height: u32) -> Frame {
    let mut rng = Rng::new(seed);
    let token = pass_token(&mut rng);
    render(&mut rng, Some(&token), width.max(320), height.max(240))
}

/// [`frame_without_code`] at `width x height` (at least 320x240).
pub(crate) fn frame_without_code_sized(seed: u64, width: u32, height: u32) -> Frame {
    let mut rng = Rng::new(seed ^ 0x5bd1_e995_0000_0001);
    render(&mut rng, None, width.max(320), height.max(240))
}

/// QR modules of `text` at version 2, level M, as a row-major `size * size` grid (`true` = dark).
/// Falls back to the smallest version that fits if `text` does not fit version 2.
pub(crate) fn qr_modules(text: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_version(text, Version::Normal(2), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(text, EcLevel::M))
        .ok()?;
    let size = code.width();
    let modules = code
        .to_colors()
        .iter()
        .map(|c| *c == qrcode::Color::Dark)
        .collect();
    Some((size, modules))
}

fn render(rng: &mut Rng, text: Option<&str>, width: u32, height: u32) -> Frame {
    let (w, h) = (width as usize, height as usize);
    let zoom = height as f32 / HEIGHT as f32;
    let mut img = background(rng, w, h);
    let modules = text.and_then(qr_modules);
    let has_code = modules.is_some();
    // Frames without a code show a text-only carrier half of the time.
    let show_carrier = has_code || rng.unit() < 0.5;
    let mut code_px = 0.0;
    if show_carrier {
        let carrier = Carrier::new(rng, modules);
        let s = carrier.size as f32;
        // Code side 120..400 px before perspective.
        let side = rng.range(120.0, 400.0) * zoom;
        let px = side / s;
        code_px = if has_code { side } else { 0.0 };
        // Mostly near upright, sometimes any angle.
        let rot = if rng.unit() < 0.7 {
            rng.range(-0.35, 0.35)
        } else {
            rng.range(-std::f32::consts::PI, std::f32::consts::PI)
        };
        let ax = rng.range(-0.5, 0.5);
        let ay = rng.range(-0.5, 0.5);
        // Keep the whole code inside the frame.
        let half = side * 0.8;
        let cx = rng.range(
            half.min(w as f32 / 2.0),
            (w as f32 - half).max(w as f32 / 2.0),
        );
        let cy = rng.range(
            half.min(h as f32 / 2.0),
            (h as f32 - half).max(h as f32 / 2.0),
        );
        let hom = pose((s / 2.0, s / 2.0), px, (rot, ax, ay), (cx, cy));
        let inv = hom.inverse();
        // Bounding box of the carrier in the frame.
        let corners = [
            hom.apply(carrier.left, carrier.top),
            hom.apply(carrier.right, carrier.top),
            hom.apply(carrier.right, carrier.bottom),
            hom.apply(carrier.left, carrier.bottom),
        ];
        let minx = corners
            .iter()
            .map(|c| c.0)
            .fold(f32::MAX, f32::min)
            .max(0.0) as usize;
        let maxx = (corners
            .iter()
            .map(|c| c.0)
            .fold(f32::MIN, f32::max)
            .max(0.0) as usize
            + 1)
        .min(w);
        let miny = corners
            .iter()
            .map(|c| c.1)
            .fold(f32::MAX, f32::min)
            .max(0.0) as usize;
        let maxy = (corners
            .iter()
            .map(|c| c.1)
            .fold(f32::MIN, f32::max)
            .max(0.0) as usize
            + 1)
        .min(h);
        // Screen glare / paper sheen: a soft bright blob on the carrier.
        let glare = rng.range(0.0, 60.0);
        let (gx, gy, gr) = (
            rng.range(carrier.left, carrier.right),
            rng.range(carrier.top, carrier.bottom),
            rng.range(5.0, 20.0),
        );
        const SS: [f32; 3] = [-1.0 / 3.0, 0.0, 1.0 / 3.0];
        for y in miny..maxy {
            for x in minx..maxx {
                let mut acc = 0.0;
                let mut hits = 0;
                for dy in SS {
                    for dx in SS {
                        let (u, v) = inv.apply(x as f32 + 0.5 + dx, y as f32 + 0.5 + dy);
                        if let Some(val) = carrier.sample(u, v) {
                            let d2 = (u - gx).powi(2) + (v - gy).powi(2);
                            acc += val + glare * (-d2 / (gr * gr)).exp();
                            hits += 1;
                        } else {
                            acc += img[y * w + x];
                        }
                    }
                }
                if hits > 0 {
                    img[y * w + x] = acc / 9.0;
                }
            }
        }
    }
    // Optics: defocus (mostly mild, sometimes strong) and, in a quarter of frames, hand motion.
    let r = rng.unit();
    let sigma = if r < 0.25 {
        rng.range(0.0, 0.5)
    } else if r < 0.8 {
        rng.range(0.5, 1.8)
    } else {
        rng.range(1.8, 2.6)
    };
    gaussian_blur(&mut img, w, h, sigma * zoom);
    if rng.unit() < 0.25 {
        let len = rng.range(2.0, 7.0) * zoom;
        let angle = rng.range(0.0, std::f32::consts::PI);
        motion_blur(&mut img, w, h, len, angle);
    }
    // Uneven lighting: a gradient times a vignette, plus contrast and brightness change.
    let gain = rng.range(0.55, 1.1);
    let (lx, ly) = (rng.range(-0.5, 0.5), rng.range(-0.5, 0.5));
    let vignette = rng.range(0.0, 0.5);
    let offset = rng.range(-10.0, 30.0);
    let noise = rng.range(1.5, 9.0);
    let mut luma = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let nx = x as f32 / w as f32 - 0.5;
            let ny = y as f32 / h as f32 - 0.5;
            let light =
                gain * (1.0 + lx * nx + ly * ny) * (1.0 - vignette * (nx * nx + ny * ny) * 2.0);
            let v = img[y * w + x] * light + offset + noise * rng.gauss();
            luma[y * w + x] = v.clamp(0.0, 255.0) as u8;
        }
    }
    Frame {
        width,
        height,
        luma,
        text: text.filter(|_| has_code).map(str::to_owned),
        code_px,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_frames() {
        let (a, b) = (
            frame_with_code_sized(42, WIDTH, HEIGHT),
            frame_with_code_sized(42, WIDTH, HEIGHT),
        );
        assert_eq!(a.text, b.text);
        assert!(a.luma == b.luma);
        assert!(frame_with_code_sized(43, WIDTH, HEIGHT).luma != a.luma);
        assert!(
            frame_without_code_sized(42, WIDTH, HEIGHT).luma
                == frame_without_code_sized(42, WIDTH, HEIGHT).luma
        );
    }

    #[test]
    fn frames_with_a_code_carry_a_pass_token_and_frames_without_carry_none() {
        let (with, without) = generate_set(3, 7);
        for f in &with {
            let text = f.text.as_deref().expect("a frame with a code has its text");
            assert_eq!(text.len(), 31);
            assert!(text.starts_with("GK1"));
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            );
            assert!((120.0..400.0).contains(&f.code_px));
            assert_eq!(
                (f.width, f.height, f.luma.len()),
                (WIDTH, HEIGHT, 1280 * 720)
            );
        }
        assert!(without.iter().all(|f| f.text.is_none() && f.code_px == 0.0));
    }

    #[test]
    fn pass_tokens_fit_version_2_level_m() {
        let mut rng = Rng::new(1);
        let (size, modules) = qr_modules(&pass_token(&mut rng)).expect("encodable");
        assert_eq!((size, modules.len()), (25, 625));
    }
}
