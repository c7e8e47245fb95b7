//! Logging: one JSON object (or text line) per event, timestamps in the configured
//! zone with its offset (`+09:00`), filter from the configuration or `RUST_LOG`.

use std::fmt;

use chrono::SecondsFormat;
use chrono_tz::Tz;
use genkan_core::{Clock, SystemClock};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::config::LogConfig;

/// Writes timestamps like `2026-11-23T10:02:03.123+09:00`.
#[derive(Debug, Clone, Copy)]
struct ZonedTime(Tz);

impl FormatTime for ZonedTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let now = SystemClock.now().with_timezone(&self.0);
        w.write_str(&now.to_rfc3339_opts(SecondsFormat::Millis, false))
    }
}

/// Installs the global subscriber; later calls are ignored.
pub fn init(config: &LogConfig) {
    let zone = config.time_zone.parse::<Tz>().unwrap_or(Tz::Asia__Tokyo);
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(ZonedTime(zone))
        .with_writer(std::io::stderr);
    let _ = if config.format == "text" {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    };
}
