//! Grayscale images as the cascade sees them, and the preprocessing it applies:
//! crop, 2x box downscale, 2x bilinear upscale, contrast stretch, inversion.

/// A borrowed row-major 8-bit grayscale image.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gray<'a> {
    pub(super) w: u32,
    pub(super) h: u32,
    pub(super) data: &'a [u8],
}

/// A crop rectangle: x, y, width, height.
pub(super) type Region = (u32, u32, u32, u32);

impl<'a> Gray<'a> {
    /// A view of `data` as a `width x height` image; `None` if the sizes disagree or are zero.
    pub(super) fn new(width: u32, height: u32, data: &'a [u8]) -> Option<Self> {
        let len = (width as usize).checked_mul(height as usize)?;
        (len > 0 && data.len() == len).then_some(Self {
            w: width,
            h: height,
            data,
        })
    }

    /// A copy of `region`; `None` if it is empty or does not lie inside the image.
    pub(super) fn crop(&self, (x, y, w, h): Region) -> Option<Owned> {
        if w == 0 || h == 0 || x.checked_add(w)? > self.w || y.checked_add(h)? > self.h {
            return None;
        }
        let mut data = Vec::with_capacity(w as usize * h as usize);
        for row in y..y + h {
            let start = row as usize * self.w as usize + x as usize;
            data.extend_from_slice(self.data.get(start..start + w as usize)?);
        }
        Some(Owned { w, h, data })
    }
}

/// An owned grayscale image (a preprocessed copy).
#[derive(Debug, Clone)]
pub(super) struct Owned {
    pub(super) w: u32,
    pub(super) h: u32,
    pub(super) data: Vec<u8>,
}

impl Owned {
    pub(super) fn view(&self) -> Gray<'_> {
        Gray {
            w: self.w,
            h: self.h,
            data: &self.data,
        }
    }
}

/// 2x box downscale (each output pixel is the rounded mean of a 2x2 block).
pub(super) fn downscale2(img: Gray<'_>) -> Option<Owned> {
    let (w, h) = (img.w / 2, img.h / 2);
    if w == 0 || h == 0 {
        return None;
    }
    let (src_w, out_w) = (img.w as usize, w as usize);
    let mut data = Vec::with_capacity(out_w * h as usize);
    for y in 0..h as usize {
        let r0 = &img.data[2 * y * src_w..][..2 * out_w];
        let r1 = &img.data[(2 * y + 1) * src_w..][..2 * out_w];
        data.extend(r0.chunks_exact(2).zip(r1.chunks_exact(2)).map(|(a, b)| {
            let sum = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
            ((sum + 2) / 4) as u8
        }));
    }
    Some(Owned { w, h, data })
}

/// 2x bilinear upscale with pixel centres aligned (weights 3/4 and 1/4 per axis).
pub(super) fn upscale2(img: Gray<'_>) -> Owned {
    let (w, h) = (img.w as usize, img.h as usize);
    let (out_w, out_h) = (2 * w, 2 * h);
    let taps = |o: usize, n: usize| -> (usize, usize) {
        let i = o / 2;
        if o.is_multiple_of(2) {
            (i, i.saturating_sub(1))
        } else {
            (i, (i + 1).min(n - 1))
        }
    };
    let mut data = Vec::with_capacity(out_w * out_h);
    for oy in 0..out_h {
        let (y0, y1) = taps(oy, h);
        let (r0, r1) = (&img.data[y0 * w..][..w], &img.data[y1 * w..][..w]);
        data.extend((0..out_w).map(|ox| {
            let (x0, x1) = taps(ox, w);
            let v = 9 * u32::from(r0[x0])
                + 3 * u32::from(r0[x1])
                + 3 * u32::from(r1[x0])
                + u32::from(r1[x1]);
            ((v + 8) / 16) as u8
        }));
    }
    Owned {
        w: img.w * 2,
        h: img.h * 2,
        data,
    }
}

/// Linear stretch of the 2nd..98th percentile to the full range; `None` when nearly flat.
pub(super) fn stretch_contrast(img: Gray<'_>) -> Option<Owned> {
    let mut hist = [0usize; 256];
    for &v in img.data {
        hist[usize::from(v)] += 1;
    }
    let cut = img.data.len() / 50;
    let first_above_cut = |order: &mut dyn Iterator<Item = usize>| {
        let mut acc = 0;
        for i in order {
            acc += hist[i];
            if acc > cut {
                return Some(i);
            }
        }
        None
    };
    let lo = first_above_cut(&mut (0..256))?;
    let hi = first_above_cut(&mut (0..256).rev())?;
    if hi <= lo + 1 {
        return None;
    }
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = (v.saturating_sub(lo) * 255 / (hi - lo)).min(255) as u8;
    }
    let data = img.data.iter().map(|&v| lut[usize::from(v)]).collect();
    Some(Owned {
        w: img.w,
        h: img.h,
        data,
    })
}

pub(super) fn invert(img: Gray<'_>) -> Owned {
    Owned {
        w: img.w,
        h: img.h,
        data: img.data.iter().map(|&v| 255 - v).collect(),
    }
}
