//! Operations settings: backups, the data lifecycle after a contract ends, readiness
//! thresholds and the metrics listener.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveTime;
use genkan_core::tenant::TimeZone;
use serde::{Deserialize, Serialize};

/// The longest time a purge may wait after a contract ends (the promise to customers).
pub const MAX_PURGE_DAYS: i64 = 30;

/// Daily backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Directories that each receive every backup (empty: no backups).
    pub destinations: Vec<PathBuf>,
    /// Local time of the daily backup (`HH:MM`).
    pub at: String,
    /// Zone of `at` and of the manifests' timestamps.
    pub time_zone: String,
    /// Generations kept in each destination.
    pub generations: usize,
    /// Database pages copied per step of the online backup.
    pub step_pages: i32,
    /// Address told about failed backups and restore drills (empty: log only).
    pub alert_email: String,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            destinations: Vec::new(),
            at: "02:00".to_owned(),
            time_zone: "Asia/Tokyo".to_owned(),
            generations: 10,
            step_pages: 1024,
            alert_email: String::new(),
        }
    }
}

impl BackupConfig {
    /// Whether backups are configured.
    pub fn enabled(&self) -> bool {
        !self.destinations.is_empty()
    }

    /// The daily time.
    pub fn time(&self) -> Option<NaiveTime> {
        NaiveTime::parse_from_str(&self.at, "%H:%M").ok()
    }

    /// The zone (Tokyo if the name is unknown; `config check` reports it).
    pub fn zone(&self) -> TimeZone {
        TimeZone::parse(&self.time_zone).unwrap_or_default()
    }
}

/// What happens after a tenant's contract ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Days after the contract end within which every trace of the tenant is gone,
    /// backups included (1 to 30).
    pub purge_within_days: i64,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            purge_within_days: MAX_PURGE_DAYS,
        }
    }
}

/// When `/readyz` answers 503.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadinessConfig {
    /// Free space the data directory's file system must keep, in MiB.
    pub min_free_disk_mb: u64,
    /// Messages overdue for longer than `outbox_late_minutes` that make the server not ready.
    pub max_outbox_backlog: i64,
    /// A message is overdue this many minutes after it was due.
    pub outbox_late_minutes: i64,
    /// The last successful backup may be this old (with backups configured).
    pub max_backup_age_hours: i64,
    /// NTP servers asked for the time (`host` or `host:port`), first answer wins;
    /// empty: the clock is not checked.
    pub ntp_servers: Vec<String>,
    /// Largest offset of the system clock from NTP time that counts as synchronised.
    pub max_clock_offset_ms: u64,
    /// Minutes between two clock checks.
    pub clock_check_minutes: u64,
}

impl Default for ReadinessConfig {
    fn default() -> Self {
        Self {
            min_free_disk_mb: 512,
            max_outbox_backlog: 500,
            outbox_late_minutes: 10,
            max_backup_age_hours: 26,
            ntp_servers: vec!["ntp.nict.jp".to_owned()],
            max_clock_offset_ms: 1000,
            clock_check_minutes: 10,
        }
    }
}

/// The Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the separate metrics listener (empty: off).
    pub listen: String,
    /// A kiosk not heard from for this many minutes counts as stale.
    pub kiosk_stale_minutes: i64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: String::new(),
            kiosk_stale_minutes: 5,
        }
    }
}

/// Problems with the operations settings (they stop `serve` and fail `config check`).
pub fn problems(
    backup: &BackupConfig,
    lifecycle: &LifecycleConfig,
    metrics: &MetricsConfig,
) -> Vec<String> {
    let mut out = Vec::new();
    if backup.destinations.len() == 1 {
        out.push("backup.destinations lists one directory; give at least two (e.g. a local disk and a mounted remote share)".to_owned());
    }
    for (i, a) in backup.destinations.iter().enumerate() {
        if backup.destinations[..i].contains(a) {
            out.push(format!("backup.destinations lists {} twice", a.display()));
        }
    }
    if backup.time().is_none() {
        out.push(format!(
            "backup.at = {:?} is not a time such as \"02:00\"",
            backup.at
        ));
    }
    if TimeZone::parse(&backup.time_zone).is_err() {
        out.push(format!(
            "backup.time_zone = {:?} is not an IANA zone",
            backup.time_zone
        ));
    }
    if backup.generations == 0 {
        out.push("backup.generations must be at least 1".to_owned());
    }
    if !backup.alert_email.is_empty()
        && genkan_core::text::EmailAddress::parse(&backup.alert_email).is_err()
    {
        out.push(format!(
            "backup.alert_email = {:?} is not an e-mail address",
            backup.alert_email
        ));
    }
    if !(1..=MAX_PURGE_DAYS).contains(&lifecycle.purge_within_days) {
        out.push(format!(
            "lifecycle.purge_within_days = {} must be between 1 and {MAX_PURGE_DAYS}",
            lifecycle.purge_within_days
        ));
    }
    if !metrics.listen.is_empty() && metrics.listen.parse::<SocketAddr>().is_err() {
        out.push(format!(
            "metrics.listen = {:?} is not an address such as 127.0.0.1:9464",
            metrics.listen
        ));
    }
    out
}

/// Things worth saying that do not stop the server.
pub fn warnings(backup: &BackupConfig, metrics: &MetricsConfig) -> Vec<String> {
    let mut out = Vec::new();
    if !backup.enabled() {
        out.push("backup.destinations is empty: no backups are taken".to_owned());
    } else if backup.alert_email.is_empty() {
        out.push("backup.alert_email is empty: failed backups are only logged".to_owned());
    }
    if let Ok(addr) = metrics.listen.parse::<SocketAddr>()
        && !addr.ip().is_loopback()
    {
        out.push(format!(
            "metrics.listen = {addr} is reachable from other machines; expose it only to your monitoring network"
        ));
    }
    out
}
