//! The kiosk's device credential on disk: `credential.json` in a private config directory.
//!
//! The file holds `{server_url, kiosk_id, credential}` (the same format `genkan demo`
//! writes for its demo kiosk). The directory is created with mode 0700 and the file
//! with 0600, written to a temporary file first and renamed, so a crash never leaves
//! half a credential behind.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Name of the credential file inside the config directory.
pub const FILE_NAME: &str = "credential.json";

/// What pairing gave this kiosk.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    /// Base URL of the Genkan server, e.g. `https://genkan.example.com`.
    pub server_url: String,
    /// The kiosk's id on the server.
    pub kiosk_id: i64,
    /// The bearer credential. Never logged.
    pub credential: String,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("server_url", &self.server_url)
            .field("kiosk_id", &self.kiosk_id)
            .field("credential", &"<redacted>")
            .finish()
    }
}

/// The config directory the kiosk keeps its credential in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialStore {
    dir: PathBuf,
}

impl CredentialStore {
    /// A store in `dir`, or in the default directory when `dir` is `None`:
    /// `$XDG_CONFIG_HOME/genkan-kiosk`, else `~/.config/genkan-kiosk`.
    pub fn new(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let dir = match dir {
            Some(dir) => dir,
            None => default_dir(
                std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from),
                std::env::var_os("HOME").map(PathBuf::from),
            )
            .context("no config directory: set --config-dir, XDG_CONFIG_HOME or HOME")?,
        };
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The credential file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The stored credential; `None` when the kiosk was never paired.
    pub fn load(&self) -> anyhow::Result<Option<StoredCredential>> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let stored = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a kiosk credential file", path.display()))?;
        Ok(Some(stored))
    }

    /// Writes the credential, readable by this user only.
    pub fn save(&self, credential: &StoredCredential) -> anyhow::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        // An existing directory keeps its mode with `create`; tighten it.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", self.dir.display()))?;
        let tmp = self.dir.join(format!("{FILE_NAME}.tmp"));
        let json = serde_json::to_vec_pretty(credential).context("encoding the credential")?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(&json)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, self.path())
            .with_context(|| format!("writing {}", self.path().display()))?;
        Ok(())
    }
}

/// The default config directory given the environment.
fn default_dir(xdg_config_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let base = xdg_config_home
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(".config")))?;
    Some(base.join("genkan-kiosk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredCredential {
        StoredCredential {
            server_url: "http://127.0.0.1:8080".to_owned(),
            kiosk_id: 7,
            credential: "gk_kiosk_secret".to_owned(),
        }
    }

    #[test]
    fn a_saved_credential_loads_back_and_only_its_owner_can_read_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(Some(tmp.path().join("kiosk"))).unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap(), Some(sample()));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
    }

    #[test]
    fn the_default_directory_follows_xdg_then_home() {
        let home = Some(PathBuf::from("/home/k"));
        assert_eq!(
            default_dir(Some(PathBuf::from("/cfg")), home.clone()),
            Some(PathBuf::from("/cfg/genkan-kiosk"))
        );
        assert_eq!(
            default_dir(None, home.clone()),
            Some(PathBuf::from("/home/k/.config/genkan-kiosk"))
        );
        // A relative XDG_CONFIG_HOME is invalid per the spec and ignored.
        assert_eq!(
            default_dir(Some(PathBuf::from("rel")), home),
            Some(PathBuf::from("/home/k/.config/genkan-kiosk"))
        );
        assert_eq!(default_dir(None, None), None);
    }

    #[test]
    fn the_credential_is_never_printed_in_debug_output() {
        assert!(!format!("{:?}", sample()).contains("secret"));
    }

    #[test]
    fn the_file_written_by_the_demo_server_is_understood() {
        let json =
            r#"{"server_url": "http://127.0.0.1:8080", "kiosk_id": 1, "credential": "gk_kiosk_x"}"#;
        let parsed: StoredCredential = serde_json::from_str(json).unwrap();
        assert_eq!(parsed.kiosk_id, 1);
    }
}
