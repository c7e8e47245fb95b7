//! Live camera frames through nokhwa (cargo feature `camera`). A missing or failing
//! camera is a normal state: `next_frame` reports it and is simply called again later,
//! which reopens the device, so a camera unplugged and plugged back in recovers.
//! The resolution asked for is a wish: the closest the device offers is taken.

use image::RgbImage;
use nokhwa::Camera;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

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
        let wanted = Resolution::new(w, h);
        // MJPEG first (USB cameras give 720p at full rate only that way), then raw
        // YUYV, then whatever the device has.
        let attempts = [
            RequestedFormatType::Closest(CameraFormat::new(wanted, FrameFormat::MJPEG, 30)),
            RequestedFormatType::Closest(CameraFormat::new(wanted, FrameFormat::YUYV, 30)),
            RequestedFormatType::AbsoluteHighestFrameRate,
        ];
        let mut last_error = String::from("no format tried");
        for attempt in attempts {
            let format = RequestedFormat::new::<RgbFormat>(attempt);
            match Camera::new(CameraIndex::Index(self.index), format)
                .and_then(|mut camera| camera.open_stream().map(|()| camera))
            {
                Ok(camera) => {
                    tracing::info!(index = self.index, format = %camera.camera_format(), "camera open");
                    return Ok(camera);
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(FrameError::Unavailable(last_error))
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

/// The cameras this machine has, as `(index, name)`.
pub fn list() -> Result<Vec<(String, String)>, String> {
    nokhwa::query(ApiBackend::Auto)
        .map(|cameras| {
            cameras
                .iter()
                .map(|c| (c.index().to_string(), c.human_name()))
                .collect()
        })
        .map_err(|e| e.to_string())
}
