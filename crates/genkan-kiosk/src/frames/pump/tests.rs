//! The frame loop driven in the test thread by a scripted source: a camera that is
//! missing, appears, goes dark, disappears and returns. The clock is moved by the
//! source itself, frame by frame; nothing sleeps.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{Duration as Span, TimeZone as _, Utc};
use genkan_core::ManualClock;
use image::{Rgb, RgbImage};

use super::*;

enum Step {
    Missing,
    Frame(u8),
    End,
}

struct Scripted {
    steps: VecDeque<Step>,
    clock: ManualClock,
}

impl FrameSource for Scripted {
    fn next_frame(&mut self) -> Result<RgbImage, FrameError> {
        self.clock.advance(Span::milliseconds(250));
        match self.steps.pop_front().unwrap_or(Step::End) {
            Step::Missing => Err(FrameError::Unavailable("unplugged".to_owned())),
            Step::Frame(shade) => Ok(RgbImage::from_pixel(64, 48, Rgb([shade; 3]))),
            Step::End => Err(FrameError::Ended("script over".to_owned())),
        }
    }
}

#[derive(Default)]
struct Recorder {
    states: Mutex<Vec<CameraState>>,
    previews: Mutex<usize>,
}

impl FrameSink for Recorder {
    fn preview(&self, _frame: &RgbImage) {
        *self.previews.lock().unwrap() += 1;
    }
    fn camera(&self, state: CameraState) {
        self.states.lock().unwrap().push(state);
    }
    fn decoded(&self, _text: String) {}
}

#[test]
fn the_frame_loop_reports_a_camera_that_appears_goes_dark_disappears_and_returns() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap());
    let mut steps = vec![
        Step::Missing,
        Step::Missing,
        Step::Frame(140),
        Step::Frame(140),
    ];
    steps.extend((0..12).map(|_| Step::Frame(5)));
    steps.extend([Step::Frame(150), Step::Missing, Step::Frame(150), Step::End]);
    let source = Scripted {
        steps: steps.into(),
        clock: clock.clone(),
    };
    let sink = Recorder::default();
    let (to_decoder, decoder_frames) = mpsc::sync_channel(1);
    let (_stop, stopped) = mpsc::channel();
    let monitor: SharedMonitor = Arc::default();
    let frames = Frames {
        to_decoder: &to_decoder,
        sink: &sink,
        monitor: &monitor,
        clock: &clock,
    };
    frame_loop(
        Box::new(source),
        &frames,
        &stopped,
        Duration::ZERO,
        Duration::ZERO,
    );
    assert_eq!(
        *sink.states.lock().unwrap(),
        vec![
            CameraState::Unavailable,
            CameraState::Live,
            CameraState::TooDark,
            CameraState::Live,
            CameraState::Unavailable,
            CameraState::Live,
            // The script's end is "no frames" for good.
            CameraState::Unavailable,
        ]
    );
    assert_eq!(*sink.previews.lock().unwrap(), 16);
    assert!(
        decoder_frames.try_recv().is_ok(),
        "frames reach the decoder"
    );
}
