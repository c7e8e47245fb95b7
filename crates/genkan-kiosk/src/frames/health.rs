//! The camera's health from the frames it gives: "live", "too dark" (mean luma low for
//! a while), "no frames" (nothing for a while although the camera is open) and
//! "unavailable" (it cannot be opened). Pure and clocked from outside, so tests feed
//! synthetic frames and move a manual clock.

use chrono::{DateTime, Duration, Utc};
use image::GrayImage;

use super::CameraState;

/// Below this mean luma (0–255) a frame is too dark to read a pass from.
pub const DARK_LUMA: f32 = 28.0;
/// How long frames must stay dark before "too dark" is reported (a hand passing in
/// front of the lens is not darkness).
pub const DARK_FOR: Duration = Duration::seconds(2);
/// How long without a frame from an open camera before "no frames" is reported.
pub const STALL_AFTER: Duration = Duration::seconds(5);

/// The mean luma of `frame`, from every 4th pixel of every 4th row (enough for a
/// brightness estimate, and cheap on 720p frames).
pub fn mean_luma(frame: &GrayImage) -> f32 {
    let (w, h) = frame.dimensions();
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in (0..h).step_by(4) {
        for x in (0..w).step_by(4) {
            sum += u64::from(frame.get_pixel(x, y).0[0]);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum as f32 / n as f32 }
}

/// Follows the camera's state from frames, failures and the passing of time.
#[derive(Debug, Clone)]
pub struct CameraMonitor {
    state: CameraState,
    last_frame: Option<DateTime<Utc>>,
    dark_since: Option<DateTime<Utc>>,
}

impl Default for CameraMonitor {
    fn default() -> Self {
        Self {
            state: CameraState::Starting,
            last_frame: None,
            dark_since: None,
        }
    }
}

impl CameraMonitor {
    /// The current state.
    pub fn state(&self) -> CameraState {
        self.state
    }

    fn set(&mut self, state: CameraState) -> Option<CameraState> {
        (self.state != state).then(|| {
            self.state = state;
            state
        })
    }

    /// A frame of mean luma `luma` arrived at `now`; returns the new state if it changed.
    pub fn frame(&mut self, luma: f32, now: DateTime<Utc>) -> Option<CameraState> {
        self.last_frame = Some(now);
        if luma < DARK_LUMA {
            let since = *self.dark_since.get_or_insert(now);
            if now - since >= DARK_FOR {
                return self.set(CameraState::TooDark);
            }
            // Not dark for long enough yet: a stalled or starting camera is live again.
            if matches!(self.state, CameraState::TooDark) {
                return None;
            }
            return self.set(CameraState::Live);
        }
        self.dark_since = None;
        self.set(CameraState::Live)
    }

    /// The source could not give a frame (no camera, or it failed and will be reopened).
    pub fn failed(&mut self) -> Option<CameraState> {
        self.last_frame = None;
        self.dark_since = None;
        self.set(CameraState::Unavailable)
    }

    /// Time passed: an open camera that gave nothing for [`STALL_AFTER`] has stalled.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<CameraState> {
        let stalled = matches!(self.state, CameraState::Live | CameraState::TooDark)
            && self.last_frame.is_some_and(|at| now - at >= STALL_AFTER);
        if stalled {
            self.dark_since = None;
            return self.set(CameraState::NoFrames);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use image::Luma;

    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-11-23T01:00:00Z".parse().unwrap()
    }

    fn frame(shade: u8) -> GrayImage {
        GrayImage::from_pixel(1280, 720, Luma([shade]))
    }

    fn ms(n: i64) -> Duration {
        Duration::milliseconds(n)
    }

    #[test]
    fn the_mean_luma_of_synthetic_frames_is_their_shade() {
        assert!((mean_luma(&frame(10)) - 10.0).abs() < 0.01);
        let mut half = frame(0);
        for y in 0..360 {
            for x in 0..1280 {
                half.put_pixel(x, y, Luma([200]));
            }
        }
        assert!((mean_luma(&half) - 100.0).abs() < 1.0);
        assert_eq!(mean_luma(&GrayImage::new(0, 0)), 0.0);
    }

    #[test]
    fn a_bright_frame_makes_the_camera_live() {
        let mut m = CameraMonitor::default();
        assert_eq!(m.state(), CameraState::Starting);
        assert_eq!(
            m.frame(mean_luma(&frame(120)), t0()),
            Some(CameraState::Live)
        );
        assert_eq!(m.frame(mean_luma(&frame(120)), t0() + ms(100)), None);
    }

    #[test]
    fn frames_dark_for_two_seconds_are_too_dark_and_light_brings_it_back() {
        let mut m = CameraMonitor::default();
        m.frame(120.0, t0());
        let dark = mean_luma(&frame(8));
        // Dark frames every 200 ms: the first at +0.2 s, reported once 2 s later.
        let mut t = t0();
        for _ in 0..10 {
            t += ms(200);
            assert_eq!(
                m.frame(dark, t),
                None,
                "a moment of darkness is not reported"
            );
        }
        t += ms(200);
        assert_eq!(m.frame(dark, t), Some(CameraState::TooDark));
        assert_eq!(m.frame(dark, t + ms(200)), None);
        assert_eq!(m.frame(90.0, t + ms(400)), Some(CameraState::Live));
    }

    #[test]
    fn an_open_camera_without_frames_for_five_seconds_reports_no_frames() {
        let mut m = CameraMonitor::default();
        assert_eq!(
            m.tick(t0() + Duration::seconds(60)),
            None,
            "not before a first frame"
        );
        m.frame(120.0, t0());
        assert_eq!(m.tick(t0() + ms(4900)), None);
        assert_eq!(m.tick(t0() + ms(5000)), Some(CameraState::NoFrames));
        assert_eq!(m.tick(t0() + ms(9000)), None, "reported once");
        assert_eq!(m.frame(120.0, t0() + ms(9100)), Some(CameraState::Live));
    }

    #[test]
    fn a_camera_that_disappears_and_returns_goes_unavailable_then_live() {
        let mut m = CameraMonitor::default();
        m.frame(120.0, t0());
        assert_eq!(m.failed(), Some(CameraState::Unavailable));
        assert_eq!(m.failed(), None);
        assert_eq!(
            m.tick(t0() + Duration::seconds(30)),
            None,
            "an unavailable camera is not also stalled"
        );
        assert_eq!(
            m.frame(120.0, t0() + Duration::seconds(31)),
            Some(CameraState::Live)
        );
    }
}
