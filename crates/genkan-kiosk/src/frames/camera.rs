//! Live camera frames through nokhwa (cargo feature `camera`). A missing or failing
//! camera is a normal state: `next_frame` reports it and is simply called again later.

use image::RgbImage;
use nokhwa::Camera;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType, Resolution};

use super::{FrameError, FrameSource};

/// A camera by index, opened on first use and reopened after a failure, so a camera
/// that is plugged in later (or comes back) is picked up.
pub struct CameraSource {
    index: u32,
    resolution: (u32, u32),
    camera: Option<Camera>,
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSource")
            .field("index", &self.index)
            .field("open", &self.camera.is_some())
            .finish()
    }
}

impl CameraSource {
    /// Camera number `index` (0 = `/dev/video0`), asking for about `width`x`height`.
    pub fn new(index: u32, width: u32, height: u32) -> Self {
        Self {
            index,
            resolution: (width, height),
            camera: None,
        }
    }

    fn open(&self) -> Result<Camera, FrameError> {
        let (w, h) = self.resolution;
        let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::HighestResolution(
            Resolution::new(w, h),
        ));
        let mut camera = Camera::new(CameraIndex::Index(self.index), format)
            .map_err(|e| FrameError::Unavailable(e.to_string()))?;
        camera
            .open_stream()
            .map_err(|e| FrameError::Unavailable(e.to_string()))?;
        tracing::info!(index = self.index, format = %camera.camera_format(), "camera open");
        Ok(camera)
    }
}

impl FrameSource for CameraSource {
    fn next_frame(&mut self) -> Result<RgbImage, FrameError> {
        if self.camera.is_none() {
            self.camera = Some(self.open()?);
        }
        let Some(camera) = self.camera.as_mut() else {
            return Err(FrameError::Unavailable("camera not open".to_owned()));
        };
        let frame = camera
            .frame()
            .and_then(|buffer| buffer.decode_image::<RgbFormat>());
        match frame {
            Ok(image) => Ok(image),
            Err(e) => {
                // Drop the handle: the next call reopens, which is how a camera that
                // was unplugged and plugged back in recovers.
                self.camera = None;
                Err(FrameError::Unavailable(e.to_string()))
            }
        }
    }
}
