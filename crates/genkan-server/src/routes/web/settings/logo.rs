//! Tenant logos: only PNG or JPEG is accepted, decoded with size limits and
//! re-encoded as a fresh PNG of at most 512×512, so the stored file never carries
//! the upload's metadata, polyglot tricks or decompression bombs.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{ImageFormat, ImageReader, Limits};

/// Largest accepted upload.
pub const MAX_BYTES: usize = 512 * 1024;
/// Longest side of the stored logo.
pub const MAX_SIDE: u32 = 512;

/// Why a logo was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoProblem {
    /// Over [`MAX_BYTES`].
    TooLarge,
    /// Not a PNG or JPEG image that decodes.
    NotAnImage,
}

/// Decodes a PNG or JPEG upload and re-encodes it as a PNG no larger than
/// [`MAX_SIDE`] on either side (smaller images keep their size).
pub fn reencode(upload: &[u8]) -> Result<Vec<u8>, LogoProblem> {
    if upload.len() > MAX_BYTES {
        return Err(LogoProblem::TooLarge);
    }
    let format = image::guess_format(upload).map_err(|_| LogoProblem::NotAnImage)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(LogoProblem::NotAnImage);
    }
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(128 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|_| LogoProblem::NotAnImage)?;
    let fitted = if decoded.width() > MAX_SIDE || decoded.height() > MAX_SIDE {
        decoded.resize(MAX_SIDE, MAX_SIDE, FilterType::Lanczos3)
    } else {
        decoded
    };
    let mut png = Vec::new();
    fitted
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|_| LogoProblem::NotAnImage)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, RgbImage};

    fn encoded(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn a_large_jpeg_becomes_a_png_that_fits_in_512_pixels() {
        let png = reencode(&encoded(1200, 600, ImageFormat::Jpeg)).unwrap();
        assert_eq!(image::guess_format(&png).unwrap(), ImageFormat::Png);
        let back = image::load_from_memory(&png).unwrap();
        assert_eq!((back.width(), back.height()), (512, 256));
    }

    #[test]
    fn a_small_png_keeps_its_size() {
        let png = reencode(&encoded(64, 32, ImageFormat::Png)).unwrap();
        let back = image::load_from_memory(&png).unwrap();
        assert_eq!((back.width(), back.height()), (64, 32));
    }

    #[test]
    fn text_truncated_images_and_other_formats_are_refused() {
        assert_eq!(
            reencode(b"<svg onload=alert(1)>"),
            Err(LogoProblem::NotAnImage)
        );
        let png = encoded(64, 64, ImageFormat::Png);
        assert_eq!(reencode(&png[..40]), Err(LogoProblem::NotAnImage));
        assert_eq!(
            reencode(b"GIF89a\x01\x00\x01\x00"),
            Err(LogoProblem::NotAnImage)
        );
        assert_eq!(
            reencode(&vec![0u8; MAX_BYTES + 1]),
            Err(LogoProblem::TooLarge)
        );
    }
}
