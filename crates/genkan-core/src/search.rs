//! Search tokens for names and companies: words plus character bigrams, so Japanese
//! text (no spaces between words) is found by any part of two or more characters,
//! and a single character finds everything that starts a word or bigram with it.

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The token string stored for `text` (space-separated).
pub fn tokens(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for word in words(text) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() >= 2 {
            out.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
        }
        out.push(word);
    }
    out.sort();
    out.dedup();
    out.join(" ")
}

/// An FTS5 query for `query` in column `column`, or `None` if nothing searchable was
/// typed. Only alphanumeric text reaches the expression, each token quoted.
pub fn match_expression(column: &str, query: &str) -> Option<String> {
    let mut terms = Vec::new();
    for word in words(query) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() == 1 {
            terms.push(format!("\"{word}\"*"));
        } else {
            terms.extend(
                chars
                    .windows(2)
                    .map(|w| format!("\"{}\"", w.iter().collect::<String>())),
            );
        }
    }
    (!terms.is_empty()).then(|| format!("{column} : ({})", terms.join(" AND ")))
}

/// `query` as a LIKE pattern for the exact substring check that follows the index
/// lookup (`\` escapes `%`, `_` and itself).
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
    fn japanese_names_become_bigrams_and_words() {
        assert_eq!(tokens("佐藤 花子"), "佐藤 花子");
        assert_eq!(tokens("佐藤花子"), "佐藤 佐藤花子 花子 藤花");
        assert_eq!(tokens("Sato"), "at sa sato to");
    }

    #[test]
    fn queries_are_quoted_tokens_only() {
        assert_eq!(
            match_expression("name_tokens", "佐藤").as_deref(),
            Some("name_tokens : (\"佐藤\")")
        );
        assert_eq!(
            match_expression("name_tokens", "藤花").as_deref(),
            Some("name_tokens : (\"藤花\")")
        );
        assert_eq!(
            match_expression("n", "佐").as_deref(),
            Some("n : (\"佐\"*)")
        );
        assert_eq!(
            match_expression("n", "Sat\" OR x").as_deref(),
            Some("n : (\"sa\" AND \"at\" AND \"or\" AND \"x\"*)")
        );
        assert_eq!(match_expression("n", "  ** \"\" "), None);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }
}
