//! Key rotation: the database is re-encrypted under a fresh key and a fresh sealing
//! key takes over (the old one only opens earlier values), then the key file is
//! replaced atomically; the previous file is kept for restoring older backups.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use genkan_core::{Clock as _, SystemClock};
use genkan_store::KeyRing;

use crate::config::Config;

/// `genkan keys rotate --config FILE`.
pub fn rotate_keys(config_path: &Path) -> anyhow::Result<()> {
    let config = Config::load(Some(config_path))?;
    let key_path = config.data.key_path();
    if !key_path.is_file() {
        bail!(
            "key rotation needs a key file ({} does not exist); keys from GENKAN_KEYS cannot be rotated in place",
            key_path.display()
        );
    }
    // Alone: no server (or other command) may have the database open meanwhile.
    let _lock = crate::ops::lock::ServerLock::acquire_alone(&config.data.dir)
        .context("stop the server before rotating keys")?;
    let old = KeyRing::load(&key_path)?;
    let new = old.rotated();
    genkan_store::rekey(&config.data.database(), &old, &new)
        .context("re-encrypting the database (is the service stopped?)")?;
    let stamp = SystemClock.now().format("%Y%m%dT%H%M%SZ");
    let kept = key_path.with_extension(format!("key.old-{stamp}"));
    let fresh = key_path.with_extension("key.new");
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&fresh)?;
        f.write_all(new.to_file_text().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&key_path, &kept)
        .with_context(|| format!("keeping the old key as {}", kept.display()))?;
    std::fs::rename(&fresh, &key_path)?;
    if let Some(dir) = key_path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    println!(
        "database re-encrypted and a new sealing key in use; new keys in {}; the previous key file is kept in {} (needed to restore older backups)",
        key_path.display(),
        kept.display()
    );
    Ok(())
}
