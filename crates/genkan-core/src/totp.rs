//! Second factor: time-based one-time passwords (RFC 6238 over RFC 4226 HOTP),
//! HMAC-SHA1, 6 digits, 30-second steps — what every authenticator app reads from
//! an `otpauth://` QR code — plus their base32 secrets and single-use recovery codes.
//!
//! SHA-1 is used only as the HMAC of TOTP: it is the one algorithm authenticator apps
//! reliably support (many ignore `algorithm=SHA256`), and HMAC-SHA1 remains a sound PRF.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a fresh secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// How many steps before and after the current one are accepted (clock drift).
pub const WINDOW: i64 = 1;
/// Recovery codes handed out at enrolment.
pub const RECOVERY_CODES: usize = 10;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// HOTP (RFC 4226): the `digits`-digit code of `counter` under `key`.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The time step of an instant.
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// The 6-digit code of `step` under `secret`, with leading zeros.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!("{:06}", hotp(secret, counter, DIGITS))
}

/// Reads a typed code: six ASCII digits, spaces ignored.
pub fn parse_code(input: &str) -> Option<u32> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// Checks `code` at `now` within ±[`WINDOW`] steps. A step at or before
/// `last_step` (the last one accepted for this secret) is never accepted again,
/// so each code works once. Returns the step that matched.
pub fn verify(
    secret: &[u8],
    code: &str,
    now: DateTime<Utc>,
    last_step: Option<i64>,
) -> Option<i64> {
    let typed = parse_code(code)?;
    let current = step_of(now);
    let mut matched = None;
    // Every candidate is computed, so the time taken does not tell which one matched.
    for step in current - WINDOW..=current + WINDOW {
        let counter = u64::try_from(step).unwrap_or(0);
        let fresh = last_step.is_none_or(|last| step > last);
        if hotp(secret, counter, DIGITS) == typed && fresh && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// Base32 (RFC 4648, no padding), the form authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base32 (any case, spaces and padding ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let upper = c.to_ascii_uppercase() as u8;
        let value = BASE32.iter().position(|&b| b == upper)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// A fresh random secret.
pub fn new_secret<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> [u8; SECRET_BYTES] {
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut secret);
    secret
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://` URI an authenticator app reads from the enrolment QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent_encode(account),
        base32_encode(secret)
    )
}

const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const RECOVERY_LEN: usize = 10;

/// A fresh recovery code, `xxxxx-xxxxx` (50 random bits; no `l`, `o`, `0`, `1`).
pub fn new_recovery_code<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; RECOVERY_LEN];
    rng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The canonical form of a typed recovery code (case, spaces and hyphens ignored),
/// or `None` if it cannot be one.
pub fn normalise_recovery_code(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == RECOVERY_LEN && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// RFC 6238 appendix B, SHA-1 rows (8 digits, the 20-byte ASCII key).
    #[test]
    fn rfc_6238_test_vectors_match() {
        let key = b"12345678901234567890";
        for (time, expected) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let counter = u64::try_from(step_of(at(time))).unwrap();
            assert_eq!(hotp(key, counter, 8), expected, "T = {time}");
        }
    }

    /// RFC 4226 appendix D.
    #[test]
    fn rfc_4226_hotp_test_vectors_match() {
        let key = b"12345678901234567890";
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(key, counter as u64, 6), *code);
        }
    }

    #[test]
    fn exactly_one_step_either_side_is_accepted() {
        let secret = b"12345678901234567890";
        let now = at(1_234_567_890);
        let step = step_of(now);
        for offset in -2..=2 {
            let code = code_at(secret, step + offset);
            let accepted = verify(secret, &code, now, None);
            if offset.abs() <= 1 {
                assert_eq!(accepted, Some(step + offset), "offset {offset}");
            } else {
                assert_eq!(accepted, None, "offset {offset}");
            }
        }
    }

    #[test]
    fn a_used_step_and_earlier_ones_are_refused() {
        let secret = b"12345678901234567890";
        let now = at(1_234_567_890);
        let step = step_of(now);
        let code = code_at(secret, step);
        assert_eq!(verify(secret, &code, now, Some(step)), None);
        assert_eq!(
            verify(secret, &code_at(secret, step - 1), now, Some(step)),
            None
        );
        assert_eq!(
            verify(secret, &code_at(secret, step + 1), now, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = b"12345678901234567890";
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(verify(secret, bad, at(59), None), None, "{bad:?}");
        }
        assert_eq!(parse_code(" 123 456 "), Some(123_456));
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        let secret = new_secret(&mut rand::rng());
        assert_eq!(base32_decode(&base32_encode(&secret)).unwrap(), secret);
        assert_eq!(base32_encode(&secret).len(), 32);
        assert_eq!(base32_decode("not base32!"), None);
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("Genkan (Acme & Co)", "aiko@acme.example", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Genkan%20%28Acme%20%26%20Co%29:aiko@acme.example?secret=MZXW6YTBOI&issuer=Genkan%20%28Acme%20%26%20Co%29&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_normalised_and_checked() {
        let code = new_recovery_code(&mut rand::rng());
        assert_eq!(code.len(), 11);
        let canonical = normalise_recovery_code(&code).unwrap();
        assert_eq!(
            normalise_recovery_code(&format!(" {} ", code.to_uppercase())),
            Some(canonical.clone())
        );
        assert_eq!(canonical.len(), 10);
        assert_eq!(normalise_recovery_code("abc"), None);
        assert_eq!(normalise_recovery_code("0000000000"), None);
    }
}
