//! Japanese and English message catalogs for the web UI (`assets/i18n/*.toml`).

use std::collections::HashMap;
use std::sync::LazyLock;

use genkan_core::text::Locale;

static EN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../../../assets/i18n/en.toml")));
static JA: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../../../assets/i18n/ja.toml")));

fn load(text: &str) -> HashMap<String, String> {
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("built-in catalog does not parse: {e}"));
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// Translations for one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub locale: Locale,
    map: &'static HashMap<String, String>,
}

impl Tr {
    /// The catalog of `locale`.
    pub fn new(locale: Locale) -> Self {
        let map: &'static HashMap<String, String> = match locale {
            Locale::Ja => &JA,
            Locale::En => &EN,
        };
        Self { locale, map }
    }

    /// The text for `key` (the key itself if missing, so gaps are visible, never fatal).
    pub fn get<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.map.get(key).map_or(key, String::as_str)
    }

    /// The text for `key` with `{name}` placeholders filled in.
    pub fn fill(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.map.get(key).cloned().unwrap_or_else(|| key.to_owned());
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// `ja` or `en`, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }
}

/// Every key of a catalog (for tests).
pub fn keys(locale: Locale) -> Vec<String> {
    let map: &HashMap<String, String> = match locale {
        Locale::Ja => &JA,
        Locale::En => &EN,
    };
    let mut k: Vec<String> = map.keys().cloned().collect();
    k.sort();
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        assert_eq!(keys(Locale::Ja), keys(Locale::En));
        assert!(keys(Locale::En).len() > 50);
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let mut sources = Vec::new();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/templates/web");
        collect(std::path::Path::new(root), &mut sources);
        collect(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
            &mut sources,
        );
        let known = keys(Locale::En);
        let mut missing = Vec::new();
        for text in sources {
            for quote in ["t.get(\"", "t.fill(\""] {
                for part in text.split(quote).skip(1) {
                    let key = part.split('"').next().unwrap_or_default();
                    if !key.is_empty() && !key.contains('{') && !known.iter().any(|k| k == key) {
                        missing.push(key.to_owned());
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "keys missing from the catalogs: {missing:?}"
        );
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, out);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.push(text);
            }
        }
    }
}
