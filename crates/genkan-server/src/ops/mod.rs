//! Operations: backups with restore drills, the data lifecycle (contract ends,
//! purges, visitor retention), readiness, NTP clock checks, Prometheus metrics, and
//! the lock that tells a running server from a stopped one. (What an ended tenant may
//! still do is judged where credentials are: `crate::credentials`.)

pub mod backup;
pub mod clock_sync;
pub mod lifecycle;
pub mod lock;
pub mod metrics;
pub mod readiness;
