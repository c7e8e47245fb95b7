//! Weak ETags for SCIM resources and the `If-Match` / `If-None-Match` decisions.

/// The ETag of a resource at a version (a counter or an update sequence the store keeps).
pub fn etag_for_version(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Splits an `If-Match` / `If-None-Match` header into its tags, ignoring `W/` (weak
/// comparison is what SCIM uses).
fn tags(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.strip_prefix("W/").unwrap_or(t))
}

/// Whether a write may go ahead under `If-Match` (absent header: yes; `*`: yes; else the
/// current tag must be listed). A `false` is answered with 412.
pub fn if_match_allows(header: Option<&str>, current: &str) -> bool {
    let current = current.strip_prefix("W/").unwrap_or(current);
    match header {
        None => true,
        Some(h) => tags(h).any(|t| t == "*" || t == current),
    }
}

/// Whether a read under `If-None-Match` can be answered 304 Not Modified.
pub fn if_none_match_hits(header: Option<&str>, current: &str) -> bool {
    let current = current.strip_prefix("W/").unwrap_or(current);
    header.is_some_and(|h| tags(h).any(|t| t == "*" || t == current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly_and_lists_and_stars_work() {
        let tag = etag_for_version(7);
        assert_eq!(tag, "W/\"7\"");
        assert!(if_match_allows(None, &tag));
        assert!(if_match_allows(Some("W/\"7\""), &tag));
        assert!(if_match_allows(Some("\"7\""), &tag));
        assert!(if_match_allows(Some("W/\"5\", W/\"7\""), &tag));
        assert!(if_match_allows(Some("*"), &tag));
        assert!(!if_match_allows(Some("W/\"6\""), &tag));
        assert!(!if_match_allows(Some(""), &tag));
        assert!(if_none_match_hits(Some("W/\"7\""), &tag));
        assert!(!if_none_match_hits(Some("W/\"8\""), &tag));
        assert!(!if_none_match_hits(None, &tag));
    }
}
