//! Where an operator command's output goes: the process's own standard output and
//! error when it runs alone, or frames to the command line that asked the running
//! server for it (which prints them unchanged).

use std::io::Write as _;

use tokio::sync::mpsc::UnboundedSender;

use super::protocol::Frame;

/// An operator command's output; cheap to clone (backup progress is written from
/// a blocking thread).
#[derive(Debug, Clone)]
pub enum Console {
    /// This process's stdout and stderr.
    Local,
    /// Frames for the connection of the command line that asked.
    Remote(UnboundedSender<Frame>),
}

impl Console {
    /// Prints `text` and a line break on standard output.
    pub fn println(&self, text: impl Into<String>) {
        let mut text = text.into();
        text.push('\n');
        self.out(text);
    }

    /// Prints `text` and a line break on standard error.
    pub fn eprintln(&self, text: impl Into<String>) {
        let mut text = text.into();
        text.push('\n');
        self.eprint(text);
    }

    /// Prints `text` as it is on standard output.
    pub fn out(&self, text: String) {
        match self {
            Self::Local => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            // A command line that went away no longer reads; the command goes on.
            Self::Remote(frames) => {
                let _ = frames.send(Frame::Out(text));
            }
        }
    }

    /// Prints `text` as it is on standard error.
    pub fn eprint(&self, text: String) {
        match self {
            Self::Local => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
            }
            Self::Remote(frames) => {
                let _ = frames.send(Frame::Err(text));
            }
        }
    }
}
