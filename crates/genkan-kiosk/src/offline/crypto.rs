//! Encryption at rest of what the kiosk keeps about visitors (the offline roster):
//! AES-256-GCM under a key derived from the device credential with HMAC-SHA256.
//!
//! Whoever can read the credential can read the roster, so this protects copies of
//! the roster file on their own (backups, disk images, a file sent for support), and
//! a revoked kiosk's leftovers become unreadable noise once its credential is wiped.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;

/// Format version of a sealed file (first byte).
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a sealed file could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the file cannot be opened with this kiosk's key (another credential, or damaged)")]
pub struct SealError;

/// The key that seals the kiosk's files. Never printed.
#[derive(Clone)]
pub struct AtRestKey([u8; 32]);

impl std::fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtRestKey(<redacted>)")
    }
}

impl AtRestKey {
    /// The key for files of the kiosk holding `credential`, for `purpose` (so keys
    /// for different files never coincide).
    pub fn derive(credential: &str, purpose: &str) -> Self {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(credential.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"genkan-kiosk/at-rest/v1\0");
        mac.update(purpose.as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// `plain` sealed: version, random nonce, ciphertext with tag. `context` is
    /// authenticated too (it binds the file to its use and kiosk).
    pub fn seal(&self, plain: &[u8], context: &str) -> Vec<u8> {
        let cipher =
            Aes256Gcm::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("a 32-byte key"));
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`AtRestKey::seal`] made with the same key and `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(SealError);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..=NONCE_LEN].try_into().map_err(|_| SealError)?;
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(|_| SealError)?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_opens_only_with_the_same_credential_purpose_and_context() {
        let key = AtRestKey::derive("gk_kiosk_one", "roster");
        let sealed = key.seal(b"Sato Hanako", "roster:1");
        assert!(!sealed.windows(4).any(|w| w == b"Sato"), "no clear text");
        assert_eq!(key.open(&sealed, "roster:1").unwrap(), b"Sato Hanako");
        assert_eq!(key.open(&sealed, "roster:2"), Err(SealError));
        let other = AtRestKey::derive("gk_kiosk_two", "roster");
        assert_eq!(other.open(&sealed, "roster:1"), Err(SealError));
        let purpose = AtRestKey::derive("gk_kiosk_one", "journal");
        assert_eq!(purpose.open(&sealed, "roster:1"), Err(SealError));
        let mut tampered = sealed;
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&tampered, "roster:1"), Err(SealError));
        assert_eq!(key.open(&[1, 2, 3], "roster:1"), Err(SealError));
    }

    #[test]
    fn the_key_never_prints() {
        let key = AtRestKey::derive("gk_kiosk_secret", "roster");
        assert_eq!(format!("{key:?}"), "AtRestKey(<redacted>)");
    }
}
