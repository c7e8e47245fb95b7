//! A background thread that is waited for when its handle goes away, so no thread is
//! still inside SQLite (or its cipher library) while the process exits.

use std::thread::JoinHandle;

/// Joins the thread on drop (unless dropped on that very thread).
pub(crate) struct Joined(Option<JoinHandle<()>>);

impl Joined {
    /// Wraps `handle`.
    pub(crate) fn new(handle: JoinHandle<()>) -> Self {
        Self(Some(handle))
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take()
            && handle.thread().id() != std::thread::current().id()
        {
            // The thread's own panic was already reported where it happened.
            let _ = handle.join();
        }
    }
}
