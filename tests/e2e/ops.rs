//! Operations end to end against the real binary: backups that restore (BAK-1,
//! BAK-3), crash safety (DUR-1, DUR-2), notices (FLT-2), logs without secrets, the
//! clock checked against a real NTP server and operator commands beside a loaded
//! server (OPS-1).

mod backup;
mod clock;
mod control_socket;
mod durability;
mod lifecycle;
mod log_injection;
mod logs;
mod notices;
mod one_writer;
mod support;
