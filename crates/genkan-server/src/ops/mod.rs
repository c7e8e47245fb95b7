//! Operations: backups with restore drills, the data lifecycle (contract ends,
//! purges, visitor retention), readiness, NTP clock checks, Prometheus metrics, the read-only guard of
//! ended tenants, and the lock that tells a running server from a stopped one.

pub mod backup;
pub mod clock_sync;
pub mod lifecycle;
pub mod lock;
pub mod metrics;
pub mod read_only;
pub mod readiness;
