//! Operations end to end against the real binary: backups that restore (BAK-1,
//! BAK-3), crash safety (DUR-1, DUR-2), notices (FLT-2) and logs without secrets.

mod backup;
mod durability;
mod lifecycle;
mod log_injection;
mod logs;
mod notices;
mod support;
