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
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// The token string stored for `text`: the bigrams of its compact form in order,
/// then its last character alone. The order lets a phrase query match exact
/// substrings; the last character lets a one-character search find it at the end.
pub fn tokens(text: &str) -> String {
    let c = compact(text);
    let mut out = bigrams(&c);
    if let Some(last) = c.chars().last() {
        out.push(last.to_string());
    }
    out.join(" ")
}

/// An FTS5 query matching names that contain `query` (compared in compact form) in
/// column `column`, or `None` if nothing searchable was typed. Only letters and digits
/// reach the expression.
pub fn match_expression(column: &str, query: &str) -> Option<String> {
    let c = compact(query);
    match c.chars().count() {
        0 => None,
        1 => Some(format!("{column} : \"{c}\"*")),
        _ => Some(format!("{column} : \"{}\"", bigrams(&c).join(" "))),
    }
}

/// `query` as a LIKE pattern matching text that contains it (`\\` escapes `%`, `_`
/// and itself; use with `LIKE ? ESCAPE '\\'`).
pub fn like_pattern(query: &str) -> String {
    let mut p = String::with_capacity(query.len() + 2);
    p.push('%');
    for c in query.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_ordered_bigrams_of_their_letters() {
        assert_eq!(tokens("佐藤 花子"), "佐藤 藤花 花子 子");
        assert_eq!(tokens("佐藤花子"), tokens("佐藤 花子"));
        assert_eq!(tokens("Sato"), "sa at to o");
        assert_eq!(tokens("林"), "林");
        assert_eq!(compact("Sato-Hanako 様"), "satohanako様");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }

    #[test]
    fn queries_are_phrases_of_quoted_tokens() {
        assert_eq!(
            match_expression("n", "佐藤").as_deref(),
            Some("n : \"佐藤\"")
        );
        assert_eq!(
            match_expression("n", "佐藤 花子").as_deref(),
            Some("n : \"佐藤 藤花 花子\"")
        );
        assert_eq!(match_expression("n", "林").as_deref(), Some("n : \"林\"*"));
        assert_eq!(
            match_expression("n", "a\" OR x").as_deref(),
            Some("n : \"ao or rx\"")
        );
        assert_eq!(match_expression("n", "  ** \"\" "), None);
    }
}
