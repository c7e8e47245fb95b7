//! A folder of images shown in turn as if a camera saw them: the `--images DIR` demo source.

use std::path::{Path, PathBuf};

use image::RgbImage;

use super::{FrameError, FrameSource};

/// File name endings the folder source reads.
const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp"];

/// Cycles through the images of a folder (sorted by name), giving each one
/// `frames_per_image` times in a row, like a camera looking at a pass for a while.
#[derive(Debug)]
pub struct ImageFolder {
    files: Vec<PathBuf>,
    frames_per_image: u32,
    position: usize,
    given: u32,
    current: Option<RgbImage>,
}

impl ImageFolder {
    /// Lists the images of `dir`; fails when it cannot be read or holds no image.
    pub fn open(dir: &Path, frames_per_image: u32) -> Result<Self, FrameError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| FrameError::Ended(format!("cannot read {}: {e}", dir.display())))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_image(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(FrameError::Ended(format!(
                "no .png, .jpg or .webp images in {}",
                dir.display()
            )));
        }
        Ok(Self {
            files,
            frames_per_image: frames_per_image.max(1),
            position: 0,
            given: 0,
            current: None,
        })
    }

    /// The images in the order they are shown.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Loads the current image, skipping (and logging) files that do not decode.
    fn load_current(&mut self) -> Result<RgbImage, FrameError> {
        for _ in 0..self.files.len() {
            let path = &self.files[self.position];
            match image::open(path) {
                Ok(img) => return Ok(img.to_rgb8()),
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "skipping unreadable image");
                    self.position = (self.position + 1) % self.files.len();
                }
            }
        }
        Err(FrameError::Ended(
            "none of the images could be read".to_owned(),
        ))
    }
}

fn is_image(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

impl FrameSource for ImageFolder {
    fn next_frame(&mut self) -> Result<RgbImage, FrameError> {
        if self.given >= self.frames_per_image {
            self.given = 0;
            self.position = (self.position + 1) % self.files.len();
            self.current = None;
        }
        let frame = match &self.current {
            Some(frame) => frame.clone(),
            None => {
                let frame = self.load_current()?;
                self.current = Some(frame.clone());
                frame
            }
        };
        self.given += 1;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(dir: &Path, name: &str, shade: u8) {
        RgbImage::from_pixel(8, 4, image::Rgb([shade; 3]))
            .save(dir.join(name))
            .unwrap();
    }

    #[test]
    fn images_are_given_in_name_order_each_for_several_frames_then_cycle() {
        let dir = tempfile::tempdir().unwrap();
        write_png(dir.path(), "b.png", 20);
        write_png(dir.path(), "a.png", 10);
        std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
        let mut folder = ImageFolder::open(dir.path(), 2).unwrap();
        assert_eq!(folder.files().len(), 2);
        let shades: Vec<u8> = (0..6)
            .map(|_| folder.next_frame().unwrap().get_pixel(0, 0).0[0])
            .collect();
        assert_eq!(shades, [10, 10, 20, 20, 10, 10]);
    }

    #[test]
    fn a_folder_without_images_is_refused_with_a_clear_reason() {
        let dir = tempfile::tempdir().unwrap();
        let err = ImageFolder::open(dir.path(), 1).unwrap_err();
        assert!(err.to_string().contains("no .png"), "{err}");
    }

    #[test]
    fn an_unreadable_image_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), "not really a png").unwrap();
        write_png(dir.path(), "b.png", 30);
        let mut folder = ImageFolder::open(dir.path(), 1).unwrap();
        assert_eq!(folder.next_frame().unwrap().get_pixel(0, 0).0[0], 30);
    }
}
