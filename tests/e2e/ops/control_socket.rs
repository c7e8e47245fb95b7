//! OPS-1, the door operator commands use: the server's control socket answers only
//! the user the server runs as. The server runs as an unprivileged user (nobody);
//! root — whom file modes do not stop — is refused both by the command line's check
//! of the server and by the server's check of the peer credentials; the service's
//! own user gets in; a second server is refused; a clean stop removes the socket.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use genkan_e2e::binaries;
use genkan_e2e::server::{prepare, read_listen_line};

use super::support::options;

/// The unprivileged user the server runs as.
const NOBODY: &str = "65534";

/// `genkan <args>` as the unprivileged user.
fn as_nobody(args: &[&str]) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
        ])
        .arg(binaries::genkan())
        .args(args)
        .env_remove("GENKAN_BIN")
        .env_remove("GENKAN_KIOSK_BIN")
        .env_remove("GENKAN_LOAD_BIN");
    command
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_socket_answers_only_the_user_the_server_runs_as() {
    let root = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&root.stdout).trim(),
        "0",
        "this test starts the server as another user (setpriv) and must run as root"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(dir.path(), &options(""));
    let config_arg = config.to_str().unwrap();
    let owned = Command::new("chown")
        .args(["-R", &format!("{NOBODY}:{NOBODY}")])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(owned.success());
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let mut server = as_nobody(&["serve", "--config", config_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let _url = read_listen_line(&mut server, &dir.path().join("server.log"));
    let data = dir.path().join("data");
    let socket = data.join("control.sock");
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert_eq!(
        (mode(&socket), meta.uid()),
        (0o600, 65534),
        "the socket is the service user's alone"
    );

    // Root's command line checks who the server runs as and sends nothing.
    let by_root = genkan_e2e::server::genkan_with_config(&config, &["tenant", "list"]);
    assert!(!by_root.status.success());
    assert!(
        text(&by_root).contains("runs as uid 65534, not as you (uid 0)"),
        "{}",
        text(&by_root)
    );
    // Root talking to the socket directly: the server reads the kernel's peer
    // credentials and refuses before reading the request.
    let mut raw = UnixStream::connect(&socket).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // (The server may have answered and closed before the request is written.)
    let _ = raw.write_all(b"{\"v\":1,\"tty\":false,\"op\":{\"op\":\"tenant_list\"}}\n");
    let mut answer = String::new();
    BufReader::new(&raw).read_line(&mut answer).unwrap();
    assert!(
        answer.starts_with("{\"done\":\"refused: the server runs as uid 65534, not as uid 0"),
        "{answer}"
    );

    // The service's own user is served, with the usual output.
    let listed = as_nobody(&["tenant", "list", "--config", config_arg])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("id    slug"));
    // A second server on the same data directory is refused.
    let second = as_nobody(&["serve", "--config", config_arg])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        text(&second).contains("another Genkan server is running"),
        "{}",
        text(&second)
    );

    // A clean stop removes the socket.
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(server.wait().unwrap().success());
    assert!(!socket.exists(), "the socket is gone after a clean stop");
}
