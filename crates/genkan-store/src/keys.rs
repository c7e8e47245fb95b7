//! Keys kept outside the database: the SQLCipher key, the AES-256-GCM key for the
//! most sensitive stored secrets, and the MAC key for fallback codes and signed links.
//! They live in a key file readable only by the service user, or in the environment.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Environment variable that may carry the key file's content instead of a file.
pub const KEYS_ENV: &str = "GENKAN_KEYS";

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No key file and no environment variable.
    #[error("no keys: the key file {0} does not exist and {KEYS_ENV} is not set")]
    Missing(String),
    /// The key file can be read by other users.
    #[error(
        "the key file {path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
    )]
    Permissions {
        /// The file.
        path: String,
        /// Its mode bits.
        mode: u32,
    },
    /// The content is not a valid key file.
    #[error("the key file is not valid: {0}")]
    Invalid(String),
    /// Reading or writing the file failed.
    #[error("key file i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A 256-bit key that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }

    fn parse(hex_str: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_str.trim())
            .map_err(|_| KeyError::Invalid("keys must be 64 hex digits".to_owned()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Invalid("keys must be 64 hex digits".to_owned()))?;
        Ok(Self(arr))
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The SQLCipher database key.
pub type DbKey = SecretKey;

impl SecretKey {
    /// Hex form used in `PRAGMA key`.
    pub(crate) fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    database: String,
    secrets: String,
    mac: String,
    /// Earlier sealing keys, newest first: values sealed before a rotation still open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired_secrets: Vec<String>,
}

/// All of Genkan's keys.
#[derive(Clone, Debug)]
pub struct KeyRing {
    /// Opens the database and its backups.
    pub database: DbKey,
    /// Seals stored secrets (webhook URLs, tokens in the outbox).
    secrets: SecretKey,
    /// Sealing keys replaced by rotations, newest first; used only to open.
    retired: Vec<SecretKey>,
    /// Keys HMACs (fallback codes, signed links).
    mac: SecretKey,
}

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sealed value could not be opened (wrong key or tampered)")]
pub struct SealError;

impl KeyRing {
    /// Fresh random keys.
    pub fn generate() -> Self {
        Self {
            database: SecretKey::generate(),
            secrets: SecretKey::generate(),
            retired: Vec::new(),
            mac: SecretKey::generate(),
        }
    }

    /// Parses the content of a key file.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|e| KeyError::Invalid(e.to_string()))?;
        if file.version != 1 {
            return Err(KeyError::Invalid(format!(
                "unknown version {}",
                file.version
            )));
        }
        Ok(Self {
            database: SecretKey::parse(&file.database)?,
            secrets: SecretKey::parse(&file.secrets)?,
            retired: file
                .retired_secrets
                .iter()
                .map(|k| SecretKey::parse(k))
                .collect::<Result<_, _>>()?,
            mac: SecretKey::parse(&file.mac)?,
        })
    }

    /// The key file's content.
    pub fn to_file_text(&self) -> String {
        let file = KeyFile {
            version: 1,
            database: hex::encode(self.database.0),
            secrets: hex::encode(self.secrets.0),
            mac: hex::encode(self.mac.0),
            retired_secrets: self.retired.iter().map(|k| hex::encode(k.0)).collect(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// Loads keys from `path`, or from `GENKAN_KEYS` when the file is absent.
    /// Refuses a file that group or others can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        match std::fs::metadata(path) {
            Ok(meta) => {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::Permissions {
                        path: path.display().to_string(),
                        mode,
                    });
                }
                Self::parse(&std::fs::read_to_string(path)?)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::env::var(KEYS_ENV) {
                Ok(text) if !text.trim().is_empty() => Self::parse(&text),
                _ => Err(KeyError::Missing(path.display().to_string())),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the keys to a new file with mode 0600; refuses to overwrite.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(self.to_file_text().as_bytes())?;
        file.sync_all()?;
        Ok(())
    }

    /// A copy with new database and sealing keys, for key rotation. The old sealing
    /// key is retired: it still opens values sealed before, and seals nothing new.
    /// The MAC key stays, since printed fallback codes and sent links depend on it.
    pub fn rotated(&self) -> Self {
        let mut retired = Vec::with_capacity(self.retired.len() + 1);
        retired.push(self.secrets.clone());
        retired.extend(self.retired.iter().cloned());
        Self {
            database: SecretKey::generate(),
            secrets: SecretKey::generate(),
            retired,
            mac: self.mac.clone(),
        }
    }

    /// Seals `plain` with AES-256-GCM; `context` binds it to its use (e.g. `slack_webhook:3`).
    pub fn seal(&self, plain: &[u8], context: &str) -> Vec<u8> {
        let cipher = Aes256Gcm::new_from_slice(&self.secrets.0)
            .unwrap_or_else(|_| unreachable!("32-byte key"));
        let mut nonce = [0u8; 12];
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
        let mut out = Vec::with_capacity(1 + 12 + sealed.len());
        out.push(1); // format version
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed by [`KeyRing::seal`] with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 13 + 16 || sealed[0] != 1 {
            return Err(SealError);
        }
        let nonce: [u8; 12] = sealed[1..13].try_into().map_err(|_| SealError)?;
        std::iter::once(&self.secrets)
            .chain(&self.retired)
            .find_map(|key| {
                let cipher = Aes256Gcm::new_from_slice(&key.0).ok()?;
                let payload = Payload {
                    msg: &sealed[13..],
                    aad: context.as_bytes(),
                };
                cipher.decrypt(&Nonce::from(nonce), payload).ok()
            })
            .ok_or(SealError)
    }

    /// The key for fallback-code hashes, derived so it is used for nothing else.
    pub fn code_key(&self) -> [u8; 32] {
        self.derive("fallback-code")
    }

    /// The key of the audit chains' links, derived from the MAC key so it is used
    /// for nothing else (and, like the MAC key, kept by key rotation).
    pub fn audit_key(&self) -> genkan_core::audit::ChainKey {
        genkan_core::audit::ChainKey::new(self.derive("audit-chain"))
    }

    /// HMAC-SHA256 of `data` under a key derived for `purpose` (signed links, cookies).
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let key = self.derive(purpose);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"genkan/derive/v1\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let keys = KeyRing::generate();
        let sealed = keys.seal(b"https://hooks.slack.com/services/T/B/X", "slack:1");
        assert!(!sealed.windows(5).any(|w| w == b"hooks"));
        assert_eq!(
            keys.open(&sealed, "slack:1").unwrap(),
            b"https://hooks.slack.com/services/T/B/X"
        );
        assert_eq!(keys.open(&sealed, "slack:2"), Err(SealError));
        assert_eq!(KeyRing::generate().open(&sealed, "slack:1"), Err(SealError));
        let mut tampered = sealed;
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(keys.open(&tampered, "slack:1"), Err(SealError));
    }

    #[test]
    fn key_file_round_trips_and_refuses_loose_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genkan.key");
        let keys = KeyRing::generate();
        keys.save_new(&path).unwrap();
        assert!(keys.save_new(&path).is_err(), "must not overwrite");
        let loaded = KeyRing::load(&path).unwrap();
        assert_eq!(loaded.database, keys.database);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            KeyRing::load(&path),
            Err(KeyError::Permissions { .. })
        ));
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let keys = KeyRing::generate();
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&keys.database.hex()));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn rotated_keys_open_old_values_and_seal_new_ones_with_the_new_key() {
        let old = KeyRing::generate();
        let before = old.seal(b"secret", "ctx");
        let new = KeyRing::parse(&old.rotated().to_file_text()).unwrap();
        assert_ne!(new.database, old.database);
        assert_eq!(new.open(&before, "ctx").unwrap(), b"secret");
        let after = new.seal(b"secret", "ctx");
        assert_eq!(old.open(&after, "ctx"), Err(SealError), "new key in use");
        assert_eq!(new.mac("a", b"x"), old.mac("a", b"x"), "links stay valid");
        assert_eq!(new.audit_key(), old.audit_key(), "audit chains stay valid");
        let twice = new.rotated();
        assert_eq!(twice.open(&before, "ctx").unwrap(), b"secret");
        assert_eq!(twice.open(&after, "ctx").unwrap(), b"secret");
    }

    #[test]
    fn derived_macs_differ_by_purpose() {
        let keys = KeyRing::generate();
        assert_ne!(keys.mac("a", b"x"), keys.mac("b", b"x"));
        assert_eq!(keys.mac("a", b"x"), keys.mac("a", b"x"));
    }
}
