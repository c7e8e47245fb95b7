//! Operator commands that use the database, and where they run. The database has
//! one writer: while a server runs, a command hands its operation to it over the
//! control socket in the data directory and prints what comes back; with no server,
//! the command opens the database itself while holding the server lock, so no
//! server can start meanwhile. Either way the output and exit status are the same.
//!
//! - [`protocol`]: the versioned request and the frames that answer it.
//! - [`console`]: where a command's output goes (this terminal or the connection).
//! - [`exec`]: carries out an operation with a store.
//! - `socket` (Unix): the control socket, server and client side.

pub mod console;
pub mod exec;
pub mod protocol;
#[cfg(unix)]
pub mod socket;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use genkan_core::SystemClock;
use genkan_store::KeyRing;

pub use console::Console;
pub use protocol::Operation;
#[cfg(unix)]
pub use socket::ControlSocket;

use crate::config::Config;
use crate::ops::lock::{Holder, ServerLock};
use crate::startup::open_store;

/// How long a command waits for a server that holds the lock to answer (it binds
/// its socket right after taking the lock, so only a wedged server takes this long).
const SERVER_ANSWER_WAIT: Duration = Duration::from_secs(30);

/// How often a waiting command looks again.
const POLL: Duration = Duration::from_millis(100);

/// Runs `op` with the configuration in `config_path`: through the running server if
/// one holds the data directory, else alone under the server lock.
pub async fn run(config_path: &Path, op: Operation) -> anyhow::Result<()> {
    let mut config = Config::load(Some(config_path))?;
    config.resolve_secret_files()?;
    prepare_data_dir(&config.data.dir, &op)?;
    match route(&config.data.dir).await? {
        #[cfg(unix)]
        Route::Server(stream) => socket::call(stream, &config.data.dir, op).await,
        Route::Alone(lock) => {
            let keys = KeyRing::load(&config.data.key_path())?;
            let store = open_store(&config, keys)?;
            let ctx = exec::OpCtx {
                store,
                config: Arc::new(config),
                clock: Arc::new(SystemClock),
                console: Console::Local,
                tty: crate::commands::backup::stderr_is_terminal(),
                config_name: config_path.display().to_string(),
                request_id: None,
            };
            let result = exec::run(&ctx, op).await;
            // The store's threads end (and its connections close) before the lock goes.
            drop(ctx);
            drop(lock);
            result
        }
    }
}

/// The data directory must exist; the first command of an installation
/// (`tenant create`) makes it, readable by the service's user alone.
fn prepare_data_dir(dir: &Path, op: &Operation) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if !op.creates_data_dir() {
        bail!(
            "the data directory {} does not exist (data.dir; `genkan tenant create` makes it)",
            dir.display()
        );
    }
    create_private_dir(dir)
}

/// Creates `dir` (and missing parents) with mode 700.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))
}

/// Where an operation runs.
enum Route {
    /// The running server carries it out (connected to its control socket).
    #[cfg(unix)]
    Server(tokio::net::UnixStream),
    /// This process, holding the server lock.
    Alone(ServerLock),
}

/// Takes the lock, or connects to the server that holds it; waits while another
/// command holds it.
async fn route(dir: &Path) -> anyhow::Result<Route> {
    let start = std::time::Instant::now();
    let mut told = false;
    loop {
        if let Some(lock) = ServerLock::try_acquire(dir, Holder::Command)? {
            return Ok(Route::Alone(lock));
        }
        #[cfg(unix)]
        let answer = match socket::connect(dir).await {
            Ok(stream) => return Ok(Route::Server(stream)),
            Err(e) => e.to_string(),
        };
        #[cfg(not(unix))]
        let answer = if matches!(ServerLock::holder(dir), Some((Holder::Command, _))) {
            String::new()
        } else {
            bail!(
                "a Genkan server is running on {}: operator commands reach a running server over a Unix socket, which this system lacks; stop the server first",
                dir.display()
            )
        };
        match ServerLock::holder(dir) {
            // Another command works alone: wait for it (say so once).
            Some((Holder::Command, pid)) if !told && start.elapsed() > Duration::from_secs(1) => {
                eprintln!(
                    "waiting for another genkan command (process {pid}) to finish with {}",
                    dir.display()
                );
                told = true;
            }
            Some((Holder::Command, _)) => {}
            // A server that took the lock binds its socket right away.
            _ if start.elapsed() > SERVER_ANSWER_WAIT => bail!(
                "a Genkan server holds {} but does not answer on its control socket ({answer})",
                crate::ops::lock::path(dir).display()
            ),
            _ => {}
        }
        tokio::time::sleep(POLL).await;
    }
}
