//! The frame and decoder threads: frames flow from a source to the preview and, when
//! the decoder is free, to the decoder; decoded texts flow to a sink. A watchdog
//! thread notices a camera that stopped giving frames (its read blocks).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use genkan_core::Clock;
use image::{GrayImage, RgbImage};

use super::health::{CameraMonitor, mean_luma};
use super::{CameraState, FrameError, FrameSource, SourceFactory};
use crate::decode::{Decoder, decode_guarded};

/// How long to wait before trying an unavailable camera again.
const RETRY_CAMERA_AFTER: Duration = Duration::from_secs(5);
/// How often the watchdog looks for a stalled camera.
const WATCHDOG_EVERY: Duration = Duration::from_secs(1);

/// Receives what the frame and decoder threads produce. Implementations forward to
/// the UI thread and must not block.
pub trait FrameSink: Send + Sync + 'static {
    /// A frame to show as the camera preview.
    fn preview(&self, frame: &RgbImage);
    /// The camera's state changed.
    fn camera(&self, state: CameraState);
    /// A QR code was read in a frame (raw text, maybe not a pass).
    fn decoded(&self, text: String);
}

/// The running frame, decoder and watchdog threads. Dropping it asks them to stop.
#[derive(Debug)]
pub struct FramePump {
    stop: mpsc::Sender<()>,
    stop_watchdog: mpsc::Sender<()>,
}

type SharedMonitor = Arc<Mutex<CameraMonitor>>;

fn update(
    monitor: &SharedMonitor,
    sink: &dyn FrameSink,
    f: impl FnOnce(&mut CameraMonitor) -> Option<CameraState>,
) {
    let changed = f(&mut monitor
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner));
    if let Some(state) = changed {
        if state != CameraState::Live {
            tracing::warn!(?state, "camera state");
        }
        sink.camera(state);
    }
}

impl FramePump {
    /// Starts the threads. `interval` is the pause between frames (zero for a camera,
    /// whose `next_frame` already waits for the device).
    pub fn start(
        source: SourceFactory,
        decoder: Box<dyn Decoder>,
        sink: Arc<dyn FrameSink>,
        interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel();
        let (stop_watchdog, watchdog_stopped) = mpsc::channel::<()>();
        let monitor: SharedMonitor = Arc::default();
        // Capacity 1 and `try_send`: while the decoder works on a frame, newer frames
        // skip decoding instead of queueing up behind it, so results stay current.
        let (to_decoder, frames) = mpsc::sync_channel::<GrayImage>(1);
        let decoded_sink = Arc::clone(&sink);
        thread::Builder::new()
            .name("decoder".to_owned())
            .spawn(move || decode_loop(decoder, &frames, decoded_sink.as_ref()))?;
        let (watch_monitor, watch_sink, watch_clock) =
            (Arc::clone(&monitor), Arc::clone(&sink), Arc::clone(&clock));
        thread::Builder::new()
            .name("camera-watchdog".to_owned())
            .spawn(move || {
                while !stop_requested(&watchdog_stopped, WATCHDOG_EVERY) {
                    update(&watch_monitor, watch_sink.as_ref(), |m| {
                        m.tick(watch_clock.now())
                    });
                }
            })?;
        thread::Builder::new()
            .name("frames".to_owned())
            .spawn(move || {
                let frames = Frames {
                    to_decoder: &to_decoder,
                    sink: sink.as_ref(),
                    monitor: &monitor,
                    clock: clock.as_ref(),
                };
                frame_loop(source(), &frames, &stopped, interval, RETRY_CAMERA_AFTER);
            })?;
        Ok(Self {
            stop,
            stop_watchdog,
        })
    }
}

impl Drop for FramePump {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        let _ = self.stop_watchdog.send(());
    }
}

/// Where the frame loop sends its frames and states.
struct Frames<'a> {
    to_decoder: &'a SyncSender<GrayImage>,
    sink: &'a dyn FrameSink,
    monitor: &'a SharedMonitor,
    clock: &'a dyn Clock,
}

/// Waits `pause` unless a stop arrives first; true when the thread should stop.
fn stop_requested(stopped: &Receiver<()>, pause: Duration) -> bool {
    !matches!(stopped.recv_timeout(pause), Err(RecvTimeoutError::Timeout))
}

fn frame_loop(
    mut source: Box<dyn FrameSource>,
    out: &Frames<'_>,
    stopped: &Receiver<()>,
    interval: Duration,
    retry_after: Duration,
) {
    loop {
        let pause = match source.next_frame() {
            Ok(frame) => {
                let gray = image::imageops::grayscale(&frame);
                let luma = mean_luma(&gray);
                update(out.monitor, out.sink, |m| m.frame(luma, out.clock.now()));
                out.sink.preview(&frame);
                match out.to_decoder.try_send(gray) {
                    Ok(()) | Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => return,
                }
                interval
            }
            Err(e) => {
                if out
                    .monitor
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .state()
                    != CameraState::Unavailable
                {
                    tracing::warn!(error = %e, "no frames");
                }
                update(out.monitor, out.sink, CameraMonitor::failed);
                if matches!(e, FrameError::Ended(_)) {
                    return;
                }
                retry_after
            }
        };
        if stop_requested(stopped, pause) {
            return;
        }
    }
}

fn decode_loop(mut decoder: Box<dyn Decoder>, frames: &Receiver<GrayImage>, sink: &dyn FrameSink) {
    for frame in frames {
        if let Some(text) = decode_guarded(decoder.as_mut(), &frame).text() {
            sink.decoded(text);
        }
    }
}

#[cfg(test)]
mod tests;
