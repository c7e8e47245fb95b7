//! Search tokens for names and companies: words plus character bigrams, so Japanese
//! text (no spaces between words) is found by any part of two or more characters,
//! and a single character finds everything that starts a word or bigram with it.

/// The letters and digits of `text`, lower-cased, with everything else removed
/// ("佐藤 花子" and "佐藤花子" compare equal; so do "Sato Hanako" and "satohanako").
pub fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn bigrams(compact: &str) -> Vec<String> {
    let chars: Vec<char> = compact.chars().collect();
    match chars.len() {
        0 => Vec::new(),
        1 => vec![compact.to_owned()],
        _ => chars.windows(2).map(|w| w.iter().collect()).collect(),
    }
}

/// The token string stored for `text`: the bigrams of its compact form.
pub fn tokens(text: &str) -> String {
    let mut out = bigrams(&compact(text));
    out.sort();
    out.dedup();
    out.join(" ")
}

/// An FTS5 query for `query` in column `column`, or `None` if nothing searchable was
/// typed. Only letters and digits reach the expression, each token quoted.
pub fn match_expression(column: &str, query: &str) -> Option<String> {
    let c = compact(query);
    let terms: Vec<String> = match c.chars().count() {
        0 => return None,
        1 => vec![format!("\"{c}\"*")],
        _ => bigrams(&c)
            .into_iter()
            .map(|b| format!("\"{b}\""))
            .collect(),
    };
    Some(format!("{column} : ({})", terms.join(" AND ")))
}

/// The compact form of `query` as a LIKE pattern, to compare with `genkan_compact(column)`
/// after the index lookup (`\` escapes `%`, `_` and itself; compact text has none).
pub fn like_pattern(query: &str) -> String {
    format!("%{}%", compact(query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_bigrams_of_their_letters() {
        assert_eq!(tokens("佐藤 花子"), "佐藤 花子 藤花");
        assert_eq!(tokens("佐藤花子"), tokens("佐藤 花子"));
        assert_eq!(tokens("Sato"), "at sa to");
        assert_eq!(tokens("林"), "林");
        assert_eq!(compact("Sato-Hanako 様"), "satohanako様");
    }

    #[test]
    fn queries_are_quoted_tokens_only() {
        assert_eq!(
            match_expression("n", "佐藤").as_deref(),
            Some("n : (\"佐藤\")")
        );
        assert_eq!(
            match_expression("n", "佐藤 花子").as_deref(),
            Some("n : (\"佐藤\" AND \"藤花\" AND \"花子\")")
        );
        assert_eq!(
            match_expression("n", "佐").as_deref(),
            Some("n : (\"佐\"*)")
        );
        assert_eq!(
            match_expression("n", "a\" OR x").as_deref(),
            Some("n : (\"ao\" AND \"or\" AND \"rx\")")
        );
        assert_eq!(match_expression("n", "  ** \"\" "), None);
    }

    #[test]
    fn like_patterns_hold_only_compact_text() {
        assert_eq!(like_pattern("50%_off"), "%50off%");
        assert_eq!(like_pattern("佐藤 花子"), "%佐藤花子%");
    }
}
