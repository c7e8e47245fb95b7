//! The control socket `<data>/control.sock`: a running server carries out operator
//! commands on it with its own store. Only the server's own user gets in: the
//! socket is created with mode 600 inside the data directory (mode 700), and every
//! connection's peer credentials (`SO_PEERCRED`, given by the kernel, not by the
//! client) must name the server's effective uid — root included, which file modes
//! do not stop. The command checks the same of the server before it sends anything.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument as _;

use super::console::Console;
use super::exec::{self, OpCtx};
use super::protocol::{self, Frame, MAX_FRAME, MAX_REQUEST, Operation, Request, VERSION};
use crate::state::AppState;

/// The socket's file name in the data directory.
pub const FILE: &str = "control.sock";

/// How long a client may take to send its request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// How long a stopping server waits for operator commands under way.
const DRAIN: Duration = Duration::from_secs(30);

/// The control socket of a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Removes the socket file when the server stops (or fails to start).
#[derive(Debug)]
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A bound control socket, not yet answering (connections wait in the backlog).
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    file: SocketFile,
}

impl ControlSocket {
    /// Binds `<data>/control.sock`; the caller holds the server lock.
    pub fn bind(data_dir: &Path) -> anyhow::Result<Self> {
        let path = path(data_dir);
        if std::fs::symlink_metadata(&path).is_ok() {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                bail!("a Genkan server already answers on {}", path.display());
            }
            // Left by a server that was killed; we hold the lock, so it is stale.
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the stale {}", path.display()))?;
        }
        // Bound under another name, narrowed to mode 600, then renamed into place:
        // the socket is never reachable under its name with a wider mode.
        let staging = data_dir.join(format!("{FILE}.new"));
        let _ = std::fs::remove_file(&staging);
        let bound = std::os::unix::net::UnixListener::bind(&staging)
            .with_context(|| format!("binding the control socket {}", staging.display()))?;
        if let Err(e) = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::rename(&staging, &path))
        {
            let _ = std::fs::remove_file(&staging);
            return Err(e)
                .with_context(|| format!("placing the control socket {}", path.display()));
        }
        bound.set_nonblocking(true)?;
        Ok(Self {
            listener: UnixListener::from_std(bound)?,
            file: SocketFile(path),
        })
    }

    /// Starts answering with the server's store, clock and configuration
    /// (`config_name` names its file in messages).
    pub fn serve(self, state: &AppState, config_name: String) -> Control {
        let (stop, stopped) = watch::channel(false);
        let base = Arc::new(Base {
            state: state.clone(),
            config_name,
        });
        let task = tokio::spawn(accept(self.listener, base, stopped));
        Control {
            stop,
            task,
            _file: self.file,
        }
    }
}

/// The answering control socket; [`Control::stop`] ends it.
#[derive(Debug)]
pub struct Control {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    _file: SocketFile,
}

impl Control {
    /// Stops accepting, lets commands under way finish (for a while), and removes
    /// the socket file.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// What every connection needs.
struct Base {
    state: AppState,
    config_name: String,
}

async fn accept(listener: UnixListener, base: Arc<Base>, mut stopped: watch::Receiver<bool>) {
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    running.spawn(answer(stream, Arc::clone(&base)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            commands = running.len(),
            "operator commands still running at shutdown were stopped"
        );
    }
}

fn new_request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

/// Answers one connection: checks the peer, reads the request, runs it with the
/// server's store and streams its output back.
async fn answer(stream: UnixStream, base: Arc<Base>) {
    let peer = stream.peer_cred().map(|c| c.uid());
    let (read, mut write) = stream.into_split();
    match peer {
        Ok(uid) if uid == own_uid() => {}
        Ok(uid) => {
            tracing::warn!(
                peer.uid = uid,
                "control socket: connection of another user refused"
            );
            return refuse(&mut write, format!(
                "refused: the server runs as uid {}, not as uid {uid}; run the command as the service's user",
                own_uid()
            ))
            .await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "control socket: no peer credentials; refused");
            return refuse(&mut write, "refused: no peer credentials".to_owned()).await;
        }
    }
    let mut reader = BufReader::new(read);
    let request = match tokio::time::timeout(REQUEST_DEADLINE, read_request(&mut reader)).await {
        Ok(Ok(request)) => request,
        Ok(Err(e)) => return refuse(&mut write, format!("{e:#}")).await,
        Err(_) => return refuse(&mut write, "no request within 10 s".to_owned()).await,
    };
    let (frames, mut outgoing) = mpsc::unbounded_channel();
    let sender = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if write.write_all(&protocol::encode(&frame)).await.is_err() {
                // The command line went away; the command itself goes on.
                return;
            }
        }
        let _ = write.shutdown().await;
    });
    let id = new_request_id();
    let ctx = OpCtx {
        store: base.state.store.clone(),
        config: Arc::clone(&base.state.config),
        clock: Arc::clone(&base.state.clock),
        console: Console::Remote(frames.clone()),
        tty: request.tty,
        config_name: base.config_name.clone(),
        request_id: Some(id.clone()),
    };
    let name = request.op.name();
    let span = tracing::info_span!("operator", request_id = %id, op = name);
    let result = async {
        tracing::info!("operator command");
        let result = exec::run(&ctx, request.op).await;
        // The message may quote arguments (addresses): the operator sees it, the log does not.
        match &result {
            Ok(()) => tracing::info!("operator command done"),
            Err(_) => tracing::warn!("operator command failed"),
        }
        result
    }
    .instrument(span)
    .await;
    drop(ctx);
    let _ = frames.send(Frame::Done(result.err().map(|e| format!("{e:#}"))));
    drop(frames);
    let _ = sender.await;
}

/// Answers that the request is refused, and why.
async fn refuse(write: &mut OwnedWriteHalf, message: String) {
    let _ = write
        .write_all(&protocol::encode(&Frame::Done(Some(message))))
        .await;
}

/// Reads the request; a version other than ours is named in the refusal.
async fn read_request(reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<Request> {
    let value: serde_json::Value = protocol::read(reader, MAX_REQUEST)
        .await?
        .context("the command sent no request")?;
    let v = value.get("v").and_then(serde_json::Value::as_u64);
    if v != Some(u64::from(VERSION)) {
        bail!(
            "this server speaks control protocol version {VERSION}, the command {}: use the genkan binary the server runs",
            v.map_or_else(|| "none".to_owned(), |v| v.to_string())
        );
    }
    Ok(serde_json::from_value(value)?)
}

/// Connects to the control socket of `data_dir`.
pub async fn connect(data_dir: &Path) -> std::io::Result<UnixStream> {
    UnixStream::connect(path(data_dir)).await
}

/// Sends `op` to the server on `stream` and prints what comes back; fails with the
/// command's own message if it failed.
pub async fn call(stream: UnixStream, data_dir: &Path, op: Operation) -> anyhow::Result<()> {
    let server = stream.peer_cred()?.uid();
    if server != own_uid() {
        bail!(
            "the server on {} runs as uid {server}, not as you (uid {}): run the command as the service's user",
            data_dir.display(),
            own_uid()
        );
    }
    let (read, mut write) = stream.into_split();
    let request = Request {
        v: VERSION,
        tty: crate::commands::backup::stderr_is_terminal(),
        op,
    };
    write.write_all(&protocol::encode(&request)).await?;
    let mut reader = BufReader::new(read);
    loop {
        match protocol::read::<Frame, _>(&mut reader, MAX_FRAME).await? {
            Some(Frame::Out(text)) => Console::Local.out(text),
            Some(Frame::Err(text)) => Console::Local.eprint(text),
            Some(Frame::Done(None)) => return Ok(()),
            Some(Frame::Done(Some(message))) => return Err(anyhow::Error::msg(message)),
            None => bail!(
                "the server on {} closed the connection before the command finished; its log tells whether it was carried out",
                data_dir.display()
            ),
        }
    }
}
