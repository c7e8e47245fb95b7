//! The pieces of a synthetic camera scene: carrier (phone or paper), pose, background,
//! blur and noise.

use super::Rng;

/// What the carrier (phone or paper) looks like, in document units of one QR module.
pub(super) struct Carrier {
    pub(super) modules: Vec<bool>,
    pub(super) size: usize,
    /// Document extent: `[-margin_l, size + margin_r] x [-margin_t, size + margin_b]`.
    pub(super) left: f32,
    pub(super) right: f32,
    pub(super) top: f32,
    pub(super) bottom: f32,
    pub(super) phone: bool,
    /// Luma of the bright surface and of dark modules (before lighting).
    pub(super) light: f32,
    pub(super) dark: f32,
    pub(super) bezel: f32,
    /// Text-like bars on the carrier: (x0, y0, x1, y1) in module units.
    pub(super) bars: Vec<[f32; 4]>,
    pub(super) has_code: bool,
}

impl Carrier {
    pub(super) fn new(rng: &mut Rng, modules: Option<(usize, Vec<bool>)>) -> Self {
        let has_code = modules.is_some();
        let (size, modules) = modules.unwrap_or((25, Vec::new()));
        let s = size as f32;
        let phone = rng.unit() < 0.55;
        // Quiet zone 4 modules (spec); carriers extend beyond it.
        let (left, right, top, bottom) = if phone {
            (
                -rng.range(4.5, 7.0),
                s + rng.range(4.5, 7.0),
                -rng.range(10.0, 20.0),
                s + rng.range(14.0, 30.0),
            )
        } else {
            (
                -rng.range(5.0, 12.0),
                s + rng.range(5.0, 12.0),
                -rng.range(6.0, 16.0),
                s + rng.range(8.0, 25.0),
            )
        };
        let light = if phone {
            rng.range(170.0, 250.0)
        } else {
            rng.range(180.0, 245.0)
        };
        let dark = if phone {
            rng.range(10.0, 60.0)
        } else {
            rng.range(20.0, 100.0)
        };
        let bezel = rng.range(5.0, 40.0);
        let mut bars = Vec::new();
        // Text lines above and below the code, leaving the quiet zone free.
        let mut y = top + 1.5;
        while y < -5.5 {
            push_text_line(rng, &mut bars, left + 1.0, right - 1.0, y);
            y += rng.range(2.0, 3.5);
        }
        let mut y = s + 5.0;
        while y < bottom - 2.0 {
            push_text_line(rng, &mut bars, left + 1.0, right - 1.0, y);
            y += rng.range(2.0, 3.5);
        }
        if !has_code {
            // A carrier without a code: its middle is text too.
            let mut y = -3.0;
            while y < s + 3.0 {
                push_text_line(rng, &mut bars, left + 1.0, right - 1.0, y);
                y += rng.range(2.0, 3.5);
            }
        }
        Self {
            modules,
            size,
            left,
            right,
            top,
            bottom,
            phone,
            light,
            dark,
            bezel,
            bars,
            has_code,
        }
    }

    /// Luma at document point (u, v), or `None` outside the carrier.
    pub(super) fn sample(&self, u: f32, v: f32) -> Option<f32> {
        if u < self.left || u >= self.right || v < self.top || v >= self.bottom {
            return None;
        }
        if self.phone {
            let b = 2.0; // bezel width in modules
            if u < self.left + b
                || u >= self.right - b
                || v < self.top + b * 2.0
                || v >= self.bottom - b * 2.5
            {
                return Some(self.bezel);
            }
        }
        if self.has_code && u >= 0.0 && v >= 0.0 {
            let (x, y) = (u as usize, v as usize);
            if x < self.size && y < self.size {
                return Some(if self.modules[y * self.size + x] {
                    self.dark
                } else {
                    self.light
                });
            }
        }
        for b in &self.bars {
            if u >= b[0] && u < b[2] && v >= b[1] && v < b[3] {
                return Some(self.dark + (self.light - self.dark) * 0.25);
            }
        }
        Some(self.light)
    }
}

pub(super) fn push_text_line(rng: &mut Rng, bars: &mut Vec<[f32; 4]>, x0: f32, x1: f32, y: f32) {
    let h = rng.range(0.8, 1.6);
    let mut x = x0 + rng.range(0.0, 2.0);
    let end = x1 - rng.range(0.0, (x1 - x0) * 0.5);
    while x < end {
        let w = rng.range(1.0, 5.0).min(end - x);
        bars.push([x, y, x + w, y + h]);
        x += w + rng.range(0.5, 1.2);
    }
}

/// 3x3 projective map from document (u, v) to frame (x, y).
#[derive(Clone, Copy)]
pub(super) struct Homography([f32; 9]);

impl Homography {
    pub(super) fn apply(&self, u: f32, v: f32) -> (f32, f32) {
        let m = &self.0;
        let w = m[6] * u + m[7] * v + m[8];
        (
            (m[0] * u + m[1] * v + m[2]) / w,
            (m[3] * u + m[4] * v + m[5]) / w,
        )
    }

    pub(super) fn inverse(&self) -> Self {
        let m = &self.0;
        let c = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let det = m[0] * c[0] + m[1] * c[3] + m[2] * c[6];
        let inv = if det.abs() < 1e-12 { 0.0 } else { 1.0 / det };
        Self(c.map(|x| x * inv))
    }
}

/// A camera pose for the carrier: module pitch `px` at the carrier centre, rotation `rot`
/// about the view axis, tilts `ax`, `ay` (radians), centred at (cx, cy) in the frame.
pub(super) fn pose(
    centre_doc: (f32, f32),
    px: f32,
    (rot, ax, ay): (f32, f32, f32),
    (cx, cy): (f32, f32),
) -> Homography {
    let (cu, cv) = centre_doc;
    let f = 1100.0f32; // focal length in pixels (~60 degree horizontal field of view)
    let (sa, ca) = ax.sin_cos();
    let (sb, cb) = ay.sin_cos();
    let (sr, cr) = rot.sin_cos();
    // R = Rz(rot) * Rx(ax) * Ry(ay); only the first two columns matter for a plane.
    let ry = [[cb, 0.0, sb], [0.0, 1.0, 0.0], [-sb, 0.0, cb]];
    let rx = [[1.0, 0.0, 0.0], [0.0, ca, -sa], [0.0, sa, ca]];
    let rz = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    let mul = |a: [[f32; 3]; 3], b: [[f32; 3]; 3]| {
        let mut o = [[0.0f32; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                o[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        o
    };
    let r = mul(rz, mul(rx, ry));
    // One module = px pixels at depth z: module size in "world" units s = px * z / f.
    let z = 400.0f32;
    let s = px * z / f;
    // World point = R * (s (u - cu), s (v - cv), 0) + (0, 0, z); project with f, offset (cx, cy).
    // x = f X / Z + cx ; build H mapping (u, v, 1) -> homogeneous (x, y, w).
    let col = |i: usize| [r[0][i] * s, r[1][i] * s, r[2][i] * s];
    let (c0, c1) = (col(0), col(1));
    let t = [
        -(c0[0] * cu + c1[0] * cv),
        -(c0[1] * cu + c1[1] * cv),
        z - (c0[2] * cu + c1[2] * cv),
    ];
    let row = |k: usize, off: f32| {
        [
            f * c0[k] + off * c0[2],
            f * c1[k] + off * c1[2],
            f * t[k] + off * t[2],
        ]
    };
    let r0 = row(0, cx);
    let r1 = row(1, cy);
    Homography([r0[0], r0[1], r0[2], r1[0], r1[1], r1[2], c0[2], c1[2], t[2]])
}

/// Smooth value noise in `[0, 1]` on a grid of `cell` pixels.
pub(super) fn value_noise(rng: &mut Rng, w: usize, h: usize, cell: f32) -> Vec<f32> {
    let gw = (w as f32 / cell) as usize + 2;
    let gh = (h as f32 / cell) as usize + 2;
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.unit()).collect();
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        let gy = y as f32 / cell;
        let y0 = gy as usize;
        let ty = gy - y0 as f32;
        let ty = ty * ty * (3.0 - 2.0 * ty);
        for x in 0..w {
            let gx = x as f32 / cell;
            let x0 = gx as usize;
            let tx = gx - x0 as f32;
            let tx = tx * tx * (3.0 - 2.0 * tx);
            let g = |i: usize, j: usize| grid[j * gw + i];
            let a = g(x0, y0) + (g(x0 + 1, y0) - g(x0, y0)) * tx;
            let b = g(x0, y0 + 1) + (g(x0 + 1, y0 + 1) - g(x0, y0 + 1)) * tx;
            out[y * w + x] = a + (b - a) * ty;
        }
    }
    out
}

/// A textured indoor-like background: smooth shading, surfaces with hard edges,
/// text-like marks, stripes and checker patches (finder-pattern decoys).
pub(super) fn background(rng: &mut Rng, w: usize, h: usize) -> Vec<f32> {
    let base = rng.range(60.0, 190.0);
    let n1 = {
        let c = rng.range(150.0, 400.0);
        value_noise(rng, w, h, c)
    };
    let n2 = {
        let c = rng.range(20.0, 60.0);
        value_noise(rng, w, h, c)
    };
    let n3 = {
        let c = rng.range(3.0, 8.0);
        value_noise(rng, w, h, c)
    };
    let a1 = rng.range(30.0, 90.0);
    let a2 = rng.range(5.0, 30.0);
    let a3 = rng.range(0.0, 25.0);
    let mut img: Vec<f32> = (0..w * h)
        .map(|i| base + a1 * (n1[i] - 0.5) + a2 * (n2[i] - 0.5) + a3 * (n3[i] - 0.5))
        .collect();
    // Surfaces: filled rectangles (desk edges, panels, posters).
    for _ in 0..rng.below(8) + 2 {
        let (x0, y0) = (rng.range(-200.0, w as f32), rng.range(-200.0, h as f32));
        let (rw, rh) = (rng.range(50.0, 700.0), rng.range(50.0, 500.0));
        let v = rng.range(20.0, 240.0);
        fill_rect(&mut img, w, h, [x0, y0, x0 + rw, y0 + rh], v, 0.85);
    }
    // Text-like blocks (posters, signs, documents on the desk).
    for _ in 0..rng.below(5) {
        let (x0, y0) = (
            rng.range(0.0, w as f32 - 100.0),
            rng.range(0.0, h as f32 - 60.0),
        );
        let glyph = rng.range(3.0, 14.0);
        let ink = rng.range(10.0, 90.0);
        for line in 0..rng.below(8) + 2 {
            let mut x = x0;
            let y = y0 + line as f32 * glyph * 1.8;
            let end = x0 + rng.range(80.0, 400.0);
            while x < end {
                let cw = rng.range(0.5, 4.0) * glyph;
                fill_rect(&mut img, w, h, [x, y, x + cw, y + glyph], ink, 1.0);
                x += cw + glyph * rng.range(0.3, 1.0);
            }
        }
    }
    // Stripes (blinds, keyboards) and checker patches: high-contrast decoys.
    for _ in 0..rng.below(3) {
        let (x0, y0) = (
            rng.range(0.0, w as f32 - 50.0),
            rng.range(0.0, h as f32 - 50.0),
        );
        let period = rng.range(4.0, 24.0);
        let (pw, ph) = (rng.range(60.0, 300.0), rng.range(60.0, 300.0));
        let checker = rng.unit() < 0.5;
        let (lo, hi) = (rng.range(10.0, 80.0), rng.range(150.0, 250.0));
        for y in (y0 as usize)..((y0 + ph) as usize).min(h) {
            for x in (x0 as usize)..((x0 + pw) as usize).min(w) {
                let a = ((x as f32 - x0) / period) as usize;
                let b = ((y as f32 - y0) / period) as usize;
                let on = if checker {
                    (a + b).is_multiple_of(2)
                } else {
                    a.is_multiple_of(2)
                };
                img[y * w + x] = if on { lo } else { hi };
            }
        }
    }
    img
}

/// Blends value `v` with opacity `alpha` into the rectangle `[x0, y0, x1, y1]`.
pub(super) fn fill_rect(
    img: &mut [f32],
    w: usize,
    h: usize,
    [x0, y0, x1, y1]: [f32; 4],
    v: f32,
    alpha: f32,
) {
    let xs = (x0.max(0.0) as usize).min(w);
    let ys = (y0.max(0.0) as usize).min(h);
    let xe = (x1.max(0.0) as usize).clamp(xs, w);
    let ye = (y1.max(0.0) as usize).min(h);
    for y in ys..ye {
        for p in &mut img[y * w + xs..y * w + xe] {
            *p = *p * (1.0 - alpha) + v * alpha;
        }
    }
}

/// Separable Gaussian blur with standard deviation `sigma` (pixels).
pub(super) fn gaussian_blur(img: &mut [f32], w: usize, h: usize, sigma: f32) {
    if sigma < 0.3 {
        return;
    }
    let r = (sigma * 3.0).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|v| v / sum).collect();
    let mut tmp = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let xx = (x as isize + i as isize - r).clamp(0, w as isize - 1) as usize;
                acc += kv * img[y * w + xx];
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let yy = (y as isize + i as isize - r).clamp(0, h as isize - 1) as usize;
                acc += kv * tmp[yy * w + x];
            }
            img[y * w + x] = acc;
        }
    }
}

/// Linear motion blur of length `len` pixels in direction `angle` (radians).
pub(super) fn motion_blur(img: &mut [f32], w: usize, h: usize, len: f32, angle: f32) {
    let steps = len.ceil() as usize + 1;
    let (dx, dy) = (
        angle.cos() * len / (steps - 1) as f32,
        angle.sin() * len / (steps - 1) as f32,
    );
    let src = img.to_vec();
    let sample = |x: f32, y: f32| {
        let xi = (x.round().max(0.0) as usize).min(w - 1);
        let yi = (y.round().max(0.0) as usize).min(h - 1);
        src[yi * w + xi]
    };
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for k in 0..steps {
                let t = k as f32 - (steps - 1) as f32 / 2.0;
                acc += sample(x as f32 + t * dx, y as f32 + t * dy);
            }
            img[y * w + x] = acc / steps as f32;
        }
    }
}
