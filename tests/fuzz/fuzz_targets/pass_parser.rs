//! Fuzzes the pass token and fallback-code parsers: no input may panic, and every
//! token that parses must encode back to a string that parses to the same token.
#![no_main]

use genkan_core::pass::{FallbackCode, PassToken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = PassToken::parse(text) {
        let again = PassToken::parse(&token.encode()).expect("an encoded token parses");
        assert_eq!(again, token);
        assert_eq!(again.hash(), token.hash());
    }
    if let Ok(code) = FallbackCode::parse(text) {
        assert_eq!(code.as_str().len(), 8);
        assert_eq!(FallbackCode::parse(code.as_str()).expect("digits parse"), code);
    }
    let _ = genkan_core::search::match_expression("name_tokens", text);
});
