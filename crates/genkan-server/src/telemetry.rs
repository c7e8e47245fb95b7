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

/// A writer that escapes the Unicode line breaks serde leaves raw (U+0085, U+2028,
/// U+2029) as `\uXXXX`, so that log readers splitting on them still see one event per
/// line. In JSON they can only stand inside strings, where the escape means the same.
struct LineSafe<W>(W);

impl<W: std::io::Write> std::io::Write for LineSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        while i < buf.len() {
            let escape = match buf[i..] {
                [0xC2, 0x85, ..] => Some((2, "\\u0085")),
                [0xE2, 0x80, 0xA8, ..] => Some((3, "\\u2028")),
                [0xE2, 0x80, 0xA9, ..] => Some((3, "\\u2029")),
                _ => None,
            };
            match escape {
                Some((len, text)) => {
                    out.extend_from_slice(text.as_bytes());
                    i += len;
                }
                None => {
                    out.push(buf[i]);
                    i += 1;
                }
            }
        }
        self.0.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
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
        .with_writer(|| LineSafe(std::io::stderr()));
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::LineSafe;

    #[test]
    fn unicode_line_breaks_are_written_escaped() {
        let mut out = LineSafe(Vec::new());
        out.write_all("{\"m\":\"a\u{2028}b\u{2029}c\u{85}d é\"}\n".as_bytes())
            .unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(text, "{\"m\":\"a\\u2028b\\u2029c\\u0085d é\"}\n");
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["m"], "a\u{2028}b\u{2029}c\u{85}d é");
    }
}
