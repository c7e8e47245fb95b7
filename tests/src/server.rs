//! Starts the real `genkan` binary on 127.0.0.1:0 with its own data directory,
//! keys and configuration, and runs its operator commands.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::binaries;

/// Settings of a test server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// SMTP port on 127.0.0.1 (None: mail transport "none").
    pub smtp_port: Option<u16>,
    /// Extra TOML appended to the configuration.
    pub extra_toml: String,
}

impl ServerOptions {
    /// Mail to the given SMTP sink.
    pub fn with_smtp(port: u16) -> Self {
        Self {
            smtp_port: Some(port),
            extra_toml: String::new(),
        }
    }
}

/// A running server; killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:43123`.
    pub url: String,
    /// Temporary directory with data, keys, configuration and logs.
    pub dir: tempfile::TempDir,
    /// The configuration file.
    pub config: PathBuf,
}

/// Writes keys and a configuration for a server in `dir`.
pub fn prepare(dir: &Path, opts: &ServerOptions) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = data.join("genkan.key");
    if !key.exists() {
        let out = binaries::genkan_command()
            .args(["keys", "generate", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keys generate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mail = match opts.smtp_port {
        Some(port) => format!(
            "transport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"Reception <reception@acme.example>\"\ntimeout_secs = 5\n"
        ),
        None => "transport = \"none\"\n".to_owned(),
    };
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"\n\n[data]\ndir = \"{}\"\nreaders = 2\n\n[mail]\n{mail}\n[outbound]\nallow_private_networks = true\ntimeout_secs = 3\n\n[auth]\nargon2_memory_kib = 12288\nargon2_iterations = 3\n\n[log]\nformat = \"json\"\nlevel = \"info\"\n{}",
        data.display(),
        opts.extra_toml
    );
    let path = dir.join("genkan.toml");
    std::fs::write(&path, config).unwrap();
    path
}

impl Server {
    /// Prepares a fresh directory and starts `genkan serve`.
    pub fn start(opts: &ServerOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = prepare(dir.path(), opts);
        Self::start_in(dir, config)
    }

    /// Starts `genkan serve` with an existing directory and configuration.
    pub fn start_in(dir: tempfile::TempDir, config: PathBuf) -> Self {
        Self::start_in_with_env(dir, config, &[])
    }

    /// Prepares a fresh directory and starts `genkan serve` with extra environment
    /// variables (e.g. a preloaded library that moves the process's clock).
    pub fn start_with_env(opts: &ServerOptions, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = prepare(dir.path(), opts);
        Self::start_in_with_env(dir, config, env)
    }

    /// [`Server::start_in`] with extra environment variables.
    pub fn start_in_with_env(
        dir: tempfile::TempDir,
        config: PathBuf,
        env: &[(&str, &str)],
    ) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))
            .unwrap();
        let mut child = binaries::genkan_command()
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let url = read_listen_line(&mut child, &dir.path().join("server.log"));
        Self {
            child: Some(child),
            url,
            dir,
            config,
        }
    }

    /// Runs `genkan <args…> --config <this server's config>` and returns its output.
    pub fn genkan(&self, args: &[&str]) -> Output {
        genkan_with_config(&self.config, args)
    }

    /// Creates tenant `slug` with an admin; returns the `tenant create` JSON.
    pub fn create_tenant(&self, slug: &str) -> Value {
        self.create_tenant_named(slug, &format!("{slug} Corporation"), "Tokyo HQ", "Admin")
    }

    /// Creates tenant `slug` named `name` whose first site is `site` and whose admin
    /// `admin@<slug>.example` is called `admin_name`; returns the `tenant create` JSON
    /// (with `admin_password`).
    pub fn create_tenant_named(
        &self,
        slug: &str,
        name: &str,
        site: &str,
        admin_name: &str,
    ) -> Value {
        let out = self.genkan(&[
            "tenant",
            "create",
            "--slug",
            slug,
            "--name",
            name,
            "--site",
            site,
            "--admin-email",
            &format!("admin@{slug}.example"),
            "--admin-name",
            admin_name,
        ]);
        assert!(
            out.status.success(),
            "tenant create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Creates an API token for `user` of tenant `slug` with `scopes`.
    pub fn create_token(&self, slug: &str, user: &str, scopes: &str) -> String {
        let out = self.genkan(&[
            "token", "create", "--tenant", slug, "--user", user, "--scopes", scopes,
        ]);
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    /// The process id of the running server (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the process and gives back its directory and configuration.
    pub fn stop(mut self) -> (tempfile::TempDir, PathBuf) {
        self.kill();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.config.clone())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}", self.log());
        }
    }
}

/// Runs `genkan <args…> --config <config>`.
pub fn genkan_with_config(config: &Path, args: &[&str]) -> Output {
    binaries::genkan_command()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// Reads the "genkan listening on URL" line; the rest of stdout is drained in the background.
pub fn read_listen_line(child: &mut Child, log: &Path) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut sent = false;
        while let Some(Ok(line)) = lines.next() {
            if let Some(url) = line.strip_prefix("genkan listening on ").filter(|_| !sent) {
                let _ = tx.send(url.trim().to_owned());
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            panic!(
                "the server did not start; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}
