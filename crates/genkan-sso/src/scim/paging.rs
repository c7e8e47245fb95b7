//! `startIndex` / `count` paging (RFC 7644 §3.4.2.4), clamped rather than refused.

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based index of the first result.
    pub start_index: u64,
    /// How many results at most (0 asks for the total only).
    pub count: u64,
}

impl Paging {
    /// Reads the query values as sent: missing or below 1 `startIndex` is 1; missing
    /// `count` is `max`; negative `count` is 0; above `max` is `max`. Non-numbers are
    /// treated as missing, as the RFC's "SHALL be interpreted" leniency allows.
    pub fn from_query(start_index: Option<&str>, count: Option<&str>, max: u64) -> Self {
        let parse = |v: Option<&str>| v.and_then(|s| s.trim().parse::<i64>().ok());
        let start_index = parse(start_index).map_or(1, |s| s.max(1)).unsigned_abs();
        let count = parse(count).map_or(max, |c| {
            c.clamp(0, i64::try_from(max).unwrap_or(i64::MAX))
                .unsigned_abs()
        });
        Self { start_index, count }
    }

    /// The zero-based offset for the store's query.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_clamps_what_clients_send() {
        assert_eq!(
            Paging::from_query(None, None, 100),
            Paging {
                start_index: 1,
                count: 100
            }
        );
        assert_eq!(
            Paging::from_query(Some("0"), Some("-5"), 100),
            Paging {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(
            Paging::from_query(Some("11"), Some("5000"), 100),
            Paging {
                start_index: 11,
                count: 100
            }
        );
        assert_eq!(Paging::from_query(Some("x"), Some("10"), 100).offset(), 0);
        assert_eq!(Paging::from_query(Some("21"), Some("10"), 100).offset(), 20);
    }
}
