//! The frame and decoder threads: frames flow from a source to the preview and, when
//! the decoder is free, to the decoder; decoded texts flow to a sink.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use image::{GrayImage, RgbImage};

use super::{CameraState, FrameError, FrameSource, SourceFactory};
use crate::decode::{Decoder, decode_guarded};

/// How long to wait before trying an unavailable camera again.
const RETRY_CAMERA_AFTER: Duration = Duration::from_secs(5);

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

/// The running frame and decoder threads. Dropping it asks them to stop.
#[derive(Debug)]
pub struct FramePump {
    stop: mpsc::Sender<()>,
}

impl FramePump {
    /// Starts the threads. `interval` is the pause between frames (zero for a camera,
    /// whose `next_frame` already waits for the device).
    pub fn start(
        source: SourceFactory,
        decoder: Box<dyn Decoder>,
        sink: Arc<dyn FrameSink>,
        interval: Duration,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel();
        // Capacity 1 and `try_send`: while the decoder works on a frame, newer frames
        // skip decoding instead of queueing up behind it, so results stay current.
        let (to_decoder, frames) = mpsc::sync_channel::<GrayImage>(1);
        let decoded_sink = Arc::clone(&sink);
        thread::Builder::new()
            .name("decoder".to_owned())
            .spawn(move || decode_loop(decoder, &frames, decoded_sink.as_ref()))?;
        thread::Builder::new()
            .name("frames".to_owned())
            .spawn(move || frame_loop(source(), &to_decoder, sink.as_ref(), &stopped, interval))?;
        Ok(Self { stop })
    }
}

impl Drop for FramePump {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

/// Waits `pause` unless a stop arrives first; true when the thread should stop.
fn stop_requested(stopped: &Receiver<()>, pause: Duration) -> bool {
    !matches!(stopped.recv_timeout(pause), Err(RecvTimeoutError::Timeout))
}

fn frame_loop(
    mut source: Box<dyn FrameSource>,
    to_decoder: &SyncSender<GrayImage>,
    sink: &dyn FrameSink,
    stopped: &Receiver<()>,
    interval: Duration,
) {
    let mut state = CameraState::Starting;
    loop {
        let pause = match source.next_frame() {
            Ok(frame) => {
                if state != CameraState::Live {
                    state = CameraState::Live;
                    sink.camera(state);
                }
                sink.preview(&frame);
                match to_decoder.try_send(image::imageops::grayscale(&frame)) {
                    Ok(()) | Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => return,
                }
                interval
            }
            Err(e) => {
                if state != CameraState::Unavailable {
                    tracing::warn!(error = %e, "no frames");
                    state = CameraState::Unavailable;
                    sink.camera(state);
                }
                if matches!(e, FrameError::Ended(_)) {
                    return;
                }
                RETRY_CAMERA_AFTER
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
