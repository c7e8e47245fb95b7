//! Where the binaries under test are: `$GENKAN_BIN` / `$GENKAN_KIOSK_BIN` /
//! `$GENKAN_LOAD_BIN`, or the target directory this test binary was built into.

use std::path::PathBuf;

fn target_dir() -> PathBuf {
    // .../target/debug/deps/e2e-<hash> → .../target/debug; a tool of this crate
    // (.../target/release/genkan-notify-bench) already sits beside the binaries.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().map(PathBuf::from).unwrap()
    } else {
        dir.to_path_buf()
    }
}

fn find(env: &str, name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} not found; build the binaries first: cargo build --workspace --bins",
        path.display()
    );
    path
}

/// The `genkan` server binary.
pub fn genkan() -> PathBuf {
    find("GENKAN_BIN", "genkan")
}

/// A command running the `genkan` binary without the variables that only point the
/// tests at binaries (`GENKAN_*` variables are settings to the server).
pub fn genkan_command() -> std::process::Command {
    let mut command = std::process::Command::new(genkan());
    command
        .env_remove("GENKAN_BIN")
        .env_remove("GENKAN_KIOSK_BIN")
        .env_remove("GENKAN_LOAD_BIN");
    command
}

/// The `genkan-load` check-in load generator (this crate's tool).
pub fn load() -> PathBuf {
    find("GENKAN_LOAD_BIN", "genkan-load")
}

/// The `genkan-kiosk` binary.
pub fn kiosk() -> PathBuf {
    find("GENKAN_KIOSK_BIN", "genkan-kiosk")
}

/// The shared QR sample photos (`../shared/qr-samples` beside the workspace), if present.
pub fn qr_samples() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/qr-samples");
    root.is_dir().then_some(root)
}
