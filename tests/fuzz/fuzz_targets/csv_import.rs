//! Fuzzes the user import reader: any bytes (any encoding, any CSV shape) give
//! either users that are all valid or a clear problem report — never a panic.
#![no_main]

use genkan_core::import::{MAX_ROWS, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse(data) {
        assert!(parsed.users.len() <= MAX_ROWS);
        for user in &parsed.users {
            assert!(!user.name.as_str().is_empty());
            assert!(user.email.as_str().contains('@'));
        }
    }
});
