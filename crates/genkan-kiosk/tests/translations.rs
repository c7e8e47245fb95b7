//! Every text of the UI (`@tr("…")` in `kiosk-ui/`) has a Japanese translation, and the
//! English catalogue lists it too.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-ui")
}

fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// The msgids of all `@tr("…")` calls, as written in the source (escapes kept).
fn ui_texts() -> Vec<String> {
    let mut files = Vec::new();
    slint_files(&ui_dir(), &mut files);
    let mut texts = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for (start, _) in source.match_indices("@tr(\"") {
            let rest = &source[start + 5..];
            let mut end = 0;
            let bytes = rest.as_bytes();
            while bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            texts.push(rest[..end].to_owned());
        }
    }
    texts.sort();
    texts.dedup();
    texts
}

/// msgid → msgstr of a `.po` file with one-line entries.
fn catalogue(lang: &str) -> BTreeMap<String, String> {
    let path = ui_dir().join(format!("lang/{lang}/LC_MESSAGES/genkan-kiosk.po"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut entries = BTreeMap::new();
    let mut id = None;
    for line in text.lines() {
        let quoted = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('"'))
                .and_then(|r| r.strip_suffix('"'))
                .map(str::to_owned)
        };
        if let Some(msgid) = quoted("msgid ") {
            id = Some(msgid);
        } else if let (Some(msgstr), Some(msgid)) = (quoted("msgstr "), id.take()) {
            entries.insert(msgid, msgstr);
        }
    }
    entries
}

#[test]
fn every_ui_text_has_a_japanese_translation_with_the_same_placeholders() {
    let texts = ui_texts();
    assert!(texts.len() > 50, "found only {} texts", texts.len());
    let ja = catalogue("ja");
    let en = catalogue("en");
    for text in &texts {
        let translated = ja
            .get(text)
            .unwrap_or_else(|| panic!("no ja entry for {text:?}"));
        assert!(!translated.is_empty(), "empty ja translation for {text:?}");
        assert_eq!(
            text.matches("{}").count(),
            translated.matches("{}").count(),
            "placeholders differ for {text:?}"
        );
        assert!(en.contains_key(text), "no en entry for {text:?}");
    }
    let unused: Vec<_> = ja
        .keys()
        .filter(|k| !k.is_empty() && !texts.contains(k))
        .collect();
    assert!(unused.is_empty(), "ja entries no view uses: {unused:?}");
}
