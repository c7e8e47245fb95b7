//! Where frames come from: a [`FrameSource`] (camera or image files) feeding the frame
//! thread, and the [`health`] of the camera as the kiosk reports it.

#[cfg(feature = "camera")]
pub mod camera;
pub mod files;
pub mod health;
mod pump;

use image::RgbImage;

pub use pump::{FramePump, FrameSink};

/// Why a source has no frame to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// No camera is there or it cannot be opened: a normal state on a kiosk, shown as
    /// "camera unavailable" with the code entry offered instead.
    #[error("camera unavailable: {0}")]
    Unavailable(String),
    /// The source has ended (an empty image folder, for instance).
    #[error("no frames: {0}")]
    Ended(String),
}

/// A source of RGB frames. `next_frame` may block until the next frame is due; the
/// frame thread calls it in a loop, so it is never called from the UI thread. Sources
/// are created on the frame thread (camera handles need not be `Send`).
pub trait FrameSource {
    /// The next frame.
    fn next_frame(&mut self) -> Result<RgbImage, FrameError>;
}

/// Creates a frame source on the frame thread.
pub type SourceFactory = Box<dyn FnOnce() -> Box<dyn FrameSource> + Send>;

/// The state of the camera as the scan screen shows it and the heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraState {
    /// Waiting for the first frame.
    Starting,
    /// Frames arrive.
    Live,
    /// No camera, or it failed: scanning is impossible for now.
    Unavailable,
    /// The camera is open but no frame came for a while.
    NoFrames,
    /// Frames arrive but are too dark to read a pass.
    TooDark,
}

impl CameraState {
    /// The heartbeat's word for this state (`genkan_core::wire::v1::camera_state`).
    pub fn heartbeat(self) -> &'static str {
        use genkan_core::wire::v1::camera_state;
        match self {
            Self::Starting => camera_state::STARTING,
            Self::Live => camera_state::OK,
            Self::Unavailable => camera_state::NO_CAMERA,
            Self::NoFrames => camera_state::NO_FRAMES,
            Self::TooDark => camera_state::TOO_DARK,
        }
    }
}

/// A source that never has frames: used when the kiosk runs without a camera feature
/// or camera index, so the scan screen says "camera unavailable — enter your code".
#[derive(Debug, Default)]
pub struct NoCamera;

impl FrameSource for NoCamera {
    fn next_frame(&mut self) -> Result<RgbImage, FrameError> {
        Err(FrameError::Unavailable(
            "this kiosk was started without a camera".to_owned(),
        ))
    }
}
