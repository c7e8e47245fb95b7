//! Passes: the QR token and the 8-digit fallback code, how they are written, parsed
//! and hashed (only hashes are stored), and the validity window of a pass.
//!
//! A token is `GK1` followed by 26 Crockford base-32 characters holding 128 random
//! bits and 2 check characters: 31 characters from the QR alphanumeric set, so the
//! code fits version 2 at error-correction level M and stays easy to scan.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Prefix of every version-1 pass token.
pub const TOKEN_PREFIX: &str = "GK1";
/// Length of an encoded token.
pub const TOKEN_LEN: usize = 31;
const BODY_LEN: usize = 26;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Why a scanned or typed pass could not even be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PassFormatError {
    /// Wrong length, prefix or characters.
    #[error("not a Genkan pass")]
    Malformed,
    /// Well formed, but the check characters do not match (misread or tampered).
    #[error("the pass check characters do not match")]
    Checksum,
}

/// A SHA-256 digest identifying a pass token or fallback code without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PassHash(pub [u8; 32]);

impl PassHash {
    /// The digest as lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for PassHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits are enough to tell hashes apart in logs.
        write!(f, "PassHash({}…)", &self.to_hex()[..8])
    }
}

/// The secret carried by a pass's QR code: 128 bits from a CSPRNG.
#[derive(Clone, PartialEq, Eq)]
pub struct PassToken([u8; 16]);

impl PassToken {
    /// A fresh random token.
    pub fn generate<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads a scanned or pasted token. Lower case and surrounding whitespace are
    /// tolerated; anything else that is not exactly a token is refused.
    pub fn parse(input: &str) -> Result<Self, PassFormatError> {
        let s = input.trim();
        if s.len() != TOKEN_LEN || !s.is_ascii() {
            return Err(PassFormatError::Malformed);
        }
        let upper = s.to_ascii_uppercase();
        let body = upper
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(PassFormatError::Malformed)?;
        let mut value: u128 = 0;
        let digits = body.as_bytes();
        for (i, &c) in digits[..BODY_LEN].iter().enumerate() {
            let d = digit(c).ok_or(PassFormatError::Malformed)?;
            // The first digit carries only the top 3 of the 128 bits.
            if i == 0 && d > 7 {
                return Err(PassFormatError::Malformed);
            }
            value = (value << 5) | u128::from(d);
        }
        let token = Self(value.to_be_bytes());
        let check = &digits[BODY_LEN..];
        let (c0, c1) = (
            digit(check[0]).ok_or(PassFormatError::Malformed)?,
            digit(check[1]).ok_or(PassFormatError::Malformed)?,
        );
        if [c0, c1] != token.check_digits() {
            return Err(PassFormatError::Checksum);
        }
        Ok(token)
    }

    /// The 31-character text put into the QR code.
    pub fn encode(&self) -> String {
        let mut value = u128::from_be_bytes(self.0);
        let mut body = [0u8; BODY_LEN];
        for slot in body.iter_mut().rev() {
            *slot = ALPHABET[(value & 31) as usize];
            value >>= 5;
        }
        let [c0, c1] = self.check_digits();
        let mut out = String::with_capacity(TOKEN_LEN);
        out.push_str(TOKEN_PREFIX);
        out.extend(body.iter().map(|&b| char::from(b)));
        out.push(char::from(ALPHABET[usize::from(c0)]));
        out.push(char::from(ALPHABET[usize::from(c1)]));
        out
    }

    /// The digest stored instead of the token (also what a kiosk's offline roster holds).
    pub fn hash(&self) -> PassHash {
        let mut h = Sha256::new();
        h.update(b"genkan/pass-token/v1\0");
        h.update(self.0);
        PassHash(h.finalize().into())
    }

    fn check_digits(&self) -> [u8; 2] {
        let d: [u8; 32] = Sha256::new()
            .chain_update(b"genkan/pass-check/v1\0")
            .chain_update(self.0)
            .finalize()
            .into();
        [d[0] & 31, d[1] & 31]
    }
}

impl fmt::Debug for PassToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PassToken(<redacted>)")
    }
}

fn digit(c: u8) -> Option<u8> {
    let c = match c {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// The 8-digit code a visitor types when the QR code cannot be read.
#[derive(Clone, PartialEq, Eq)]
pub struct FallbackCode(String);

impl FallbackCode {
    /// A random code, uniform over 00000000–99999999.
    pub fn generate<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        // Rejection sampling keeps the distribution uniform.
        loop {
            let n = rng.next_u32();
            if n < 4_200_000_000 {
                return Self(format!("{:08}", n % 100_000_000));
            }
        }
    }

    /// Reads a typed code: 8 digits, spaces and hyphens ignored, full-width digits accepted.
    pub fn parse(input: &str) -> Result<Self, PassFormatError> {
        let mut digits = String::with_capacity(8);
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                '０'..='９' => {
                    let d = u32::from(c) - u32::from('０');
                    digits.push(char::from_digit(d, 10).ok_or(PassFormatError::Malformed)?);
                }
                ' ' | '-' | '\u{3000}' | 'ー' | '－' => {}
                _ => return Err(PassFormatError::Malformed),
            }
            if digits.len() > 8 {
                return Err(PassFormatError::Malformed);
            }
        }
        if digits.len() != 8 {
            return Err(PassFormatError::Malformed);
        }
        Ok(Self(digits))
    }

    /// The 8 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped for reading aloud and typing: `1234 5678`.
    pub fn display(&self) -> String {
        format!("{} {}", &self.0[..4], &self.0[4..])
    }

    /// A keyed digest: 8 digits are too few to store with a plain hash, so the
    /// server's secret key takes part and the hash is useless without it.
    pub fn hash(&self, key: &[u8]) -> PassHash {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"genkan/fallback-code/v1\0");
        mac.update(self.0.as_bytes());
        PassHash(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for FallbackCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FallbackCode(<redacted>)")
    }
}

/// The interval in which a pass admits its visitor: `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First instant the pass is accepted.
    pub from: DateTime<Utc>,
    /// First instant it is no longer accepted.
    pub until: DateTime<Utc>,
}

/// Where `now` falls relative to a validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityState {
    /// Before the window.
    NotYetValid,
    /// Inside the window.
    Valid,
    /// After the window.
    Expired,
}

impl Validity {
    /// Whether the pass is valid at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> ValidityState {
        if now < self.from {
            ValidityState::NotYetValid
        } else if now >= self.until {
            ValidityState::Expired
        } else {
            ValidityState::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn rng() -> rand::rngs::ThreadRng {
        rand::rng()
    }

    #[test]
    fn token_round_trips_and_fits_qr_alphanumeric_mode() {
        for _ in 0..1000 {
            let t = PassToken::generate(&mut rng());
            let s = t.encode();
            assert_eq!(s.len(), TOKEN_LEN);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            );
            assert_eq!(PassToken::parse(&s).unwrap(), t);
            assert_eq!(PassToken::parse(&s.to_lowercase()).unwrap(), t);
        }
    }

    #[test]
    fn extreme_token_values_encode_and_parse() {
        for bytes in [[0u8; 16], [0xff; 16]] {
            let t = PassToken(bytes);
            assert_eq!(PassToken::parse(&t.encode()).unwrap(), t);
        }
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let t = PassToken::generate(&mut rng()).encode();
        let mut refused = 0;
        for pos in 3..TOKEN_LEN {
            let mut bytes = t.clone().into_bytes();
            bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if PassToken::parse(&tampered).is_err() {
                refused += 1;
            }
        }
        // Each changed character either breaks the format or the 10-bit check;
        // allow a chance collision but not a systematic hole.
        assert!(refused >= TOKEN_LEN - 3 - 1, "only {refused} refused");
        for bad in [
            "",
            "GK1",
            "XX1AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &format!("{t}0"),
            "ＧＫ１",
        ] {
            assert_eq!(
                PassToken::parse(bad),
                Err(PassFormatError::Malformed),
                "{bad}"
            );
        }
        // First body digit above 7 would overflow 128 bits.
        let overflow = format!("GK1Z{}", &t[4..]);
        assert!(PassToken::parse(&overflow).is_err());
    }

    #[test]
    fn token_debug_never_shows_the_secret() {
        let t = PassToken::generate(&mut rng());
        assert!(!format!("{t:?}").contains(&t.encode()[3..10]));
    }

    #[test]
    fn token_hash_is_stable_and_distinct() {
        let a = PassToken::generate(&mut rng());
        let b = PassToken::generate(&mut rng());
        let again = PassToken::parse(&a.encode()).unwrap();
        assert_eq!(a.hash(), again.hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(PassHash::from_hex(&a.hash().to_hex()), Some(a.hash()));
    }

    #[test]
    fn fallback_code_parses_forgiving_input_and_hash_needs_the_key() {
        let c = FallbackCode::parse(" 1234-5678 ").unwrap();
        assert_eq!(c.as_str(), "12345678");
        assert_eq!(c.display(), "1234 5678");
        assert_eq!(FallbackCode::parse("１２３４　５６７８").unwrap(), c);
        for bad in ["1234567", "123456789", "1234567a", "", "12345678\n9"] {
            assert!(FallbackCode::parse(bad).is_err(), "{bad:?}");
        }
        assert_ne!(c.hash(b"key-one"), c.hash(b"key-two"));
        assert_eq!(c.hash(b"key-one"), c.hash(b"key-one"));
    }

    #[test]
    fn generated_codes_are_eight_digits() {
        for _ in 0..1000 {
            let c = FallbackCode::generate(&mut rng());
            assert_eq!(c.as_str().len(), 8);
            assert!(FallbackCode::parse(c.as_str()).is_ok());
        }
    }

    #[test]
    fn validity_window_is_half_open() {
        let from = "2026-11-22T15:00:00Z".parse().unwrap();
        let v = Validity {
            from,
            until: from + Duration::days(1),
        };
        assert_eq!(
            v.state_at(from - Duration::seconds(1)),
            ValidityState::NotYetValid
        );
        assert_eq!(v.state_at(from), ValidityState::Valid);
        assert_eq!(
            v.state_at(v.until - Duration::seconds(1)),
            ValidityState::Valid
        );
        assert_eq!(v.state_at(v.until), ValidityState::Expired);
    }
}
