//! `ScanAdapter`: the camera preview and state, and the way to the code pad.

use std::rc::Weak;

use image::RgbImage;
use slint::{ComponentHandle as _, Image, Rgb8Pixel, SharedPixelBuffer};

use super::{Act, CameraStatus, MainWindow, ScanAdapter, with};
use crate::controller::Reception;
use crate::frames::CameraState;

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    ui.global::<ScanAdapter<'_>>().set_camera(match r.camera() {
        CameraState::Starting => CameraStatus::Starting,
        CameraState::Live => CameraStatus::Live,
        CameraState::Unavailable => CameraStatus::Unavailable,
        CameraState::NoFrames => CameraStatus::NoFrames,
        CameraState::TooDark => CameraStatus::TooDark,
    });
}

pub(super) fn connect<A: Act>(ui: &MainWindow, app: &Weak<A>) {
    let a = app.clone();
    ui.global::<ScanAdapter<'_>>().on_enter_code(move || {
        with(&a, |r| {
            r.open_code_entry();
            None
        });
    });
}

/// A frame as a Slint image. The pixel buffer is `Send`: build it on the frame thread
/// and hand only the buffer to the UI thread.
pub fn preview_image(frame: &RgbImage) -> SharedPixelBuffer<Rgb8Pixel> {
    SharedPixelBuffer::clone_from_slice(frame.as_raw(), frame.width(), frame.height())
}

/// Shows a frame as the camera preview.
pub fn show_preview(ui: &MainWindow, buffer: SharedPixelBuffer<Rgb8Pixel>) {
    ui.global::<ScanAdapter<'_>>()
        .set_preview(Image::from_rgb8(buffer));
}
