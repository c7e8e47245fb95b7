//! Signatures of Genkan's generic webhooks: `X-Genkan-Signature: v1=<hex>` where
//! `<hex>` is HMAC-SHA256 under the tenant's webhook secret over
//! `"<X-Genkan-Timestamp>.<raw body>"`. Receivers refuse timestamps more than
//! [`REPLAY_WINDOW_SECS`] away from their own clock, so a captured request cannot be
//! replayed later.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// Header carrying the Unix time (seconds) the request was signed at.
pub const TIMESTAMP_HEADER: &str = "X-Genkan-Timestamp";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Genkan-Signature";
/// Header carrying the message id; a repeated delivery carries the same id.
pub const DELIVERY_HEADER: &str = "X-Genkan-Delivery";
/// How far a timestamp may be from the receiver's clock, in seconds.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a webhook request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp header is not a number.
    #[error("the timestamp is not a Unix time in seconds")]
    BadTimestamp,
    /// The timestamp is outside the replay window.
    #[error("the timestamp is more than 5 minutes away (replayed or clock skew)")]
    Stale,
    /// No `v1=` signature matches.
    #[error("the signature does not match")]
    BadSignature,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Genkan-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1={}", hex_lower(&tag))
}

/// Checks a received webhook: `timestamp` and `signature` are the header values,
/// `now` the receiver's Unix time. The signature header may list several
/// comma-separated `v1=` values (during a secret rotation); one must match.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > REPLAY_WINDOW_SECS {
        return Err(VerifyError::Stale);
    }
    let expected = mac(secret, timestamp.trim(), body);
    let ok = signature
        .split(',')
        .filter_map(|s| s.trim().strip_prefix("v1="))
        .filter_map(decode_hex)
        .any(|tag| expected.clone().verify_slice(&tag).is_ok());
    if ok {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";

    #[test]
    fn a_signed_body_verifies_within_the_window() {
        let body = br#"{"event":"visitor.arrived"}"#;
        let sig = sign(SECRET, 1_700_000_000, body);
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert_eq!(
            verify(SECRET, "1700000000", &sig, body, 1_700_000_000),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, "1700000000", &sig, body, 1_700_000_300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, "1700000000", &sig, body, 1_699_999_700),
            Ok(())
        );
    }

    #[test]
    fn replays_outside_the_window_and_tampering_are_refused() {
        let body = br#"{"event":"visitor.arrived"}"#;
        let sig = sign(SECRET, 1_700_000_000, body);
        assert_eq!(
            verify(SECRET, "1700000000", &sig, body, 1_700_000_301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(SECRET, "1700000000", &sig, b"{}", 1_700_000_000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, "1700000001", &sig, body, 1_700_000_000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(b"other", "1700000000", &sig, body, 1_700_000_000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, "soon", &sig, body, 1_700_000_000),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn one_of_several_signatures_may_match() {
        let body = b"x";
        let good = sign(SECRET, 10, body);
        let both = format!("v1=00ff, {good}");
        assert_eq!(verify(SECRET, "10", &both, body, 10), Ok(()));
    }
}
