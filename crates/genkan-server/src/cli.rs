//! The `genkan` command line: serve, demo, and the operator's tools.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod ops;

/// Genkan visitor reception server.
#[derive(Debug, Parser)]
#[command(name = "genkan", version, about = "Genkan visitor reception server")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run in production mode: refuses to start unless keys and required settings exist.
    Serve(ConfigArg),
    /// Run a ready-to-try demo: creates data, keys and a demo company on first run.
    Demo(DemoArgs),
    /// Print the example configuration, every key documented with its default.
    DefaultConfig,
    /// Check a configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create tenants (companies).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// API tokens for integrations.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Backups: take, list, verify, restore.
    #[command(subcommand)]
    Backup(ops::BackupCommand),
    /// Notices to tenants (incidents, maintenance, SLA changes, end of service).
    #[command(subcommand)]
    Notice(ops::NoticeCommand),
    /// Visitor privacy.
    #[command(subcommand)]
    Visitor(ops::VisitorCommand),
    /// HTTPS certificates.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Renders tenant templates for the server, within limits (started by the server).
    #[command(hide = true)]
    RenderSandbox(crate::notify::sandbox::SandboxArgs),
}

/// `genkan tls …`.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a self-signed certificate and key (for tests and trials; use a real
    /// certificate in production).
    SelfSigned {
        /// Folder for cert.pem and key.pem.
        #[arg(long)]
        out: PathBuf,
        /// Host names the certificate is for (localhost and 127.0.0.1 are always added).
        #[arg(long)]
        hostname: Vec<String>,
    },
}

/// `--config FILE`.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
}

/// Options of `genkan demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory (created on first run).
    #[arg(long, default_value = "./genkan-data")]
    pub data: PathBuf,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Optional configuration file applied over the demo defaults (e.g. a real SMTP relay).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `genkan config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load a file and report every problem (unknown keys, wrong types, missing settings).
    Check(ConfigArg),
}

/// `genkan keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new key file (mode 600); never overwrites.
    Generate {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-encrypt the database under a new key, put a new sealing key in use, and
    /// replace the key file (the old one is kept beside it as `<file>.old-<time>` for
    /// restoring older backups). Stop the service first.
    Rotate(ConfigArg),
}

/// `genkan tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its first site and administrator.
    Create(TenantCreate),
    /// Record the last day of a tenant's contract (read-only after it, purged later).
    End(ops::TenantEnd),
    /// List tenants with their contract state.
    List(ConfigArg),
}

/// Options of `genkan tenant create`.
#[derive(Debug, Args)]
pub struct TenantCreate {
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Organisation id used at sign-in (a-z, 0-9, -).
    #[arg(long)]
    pub slug: String,
    /// Company name.
    #[arg(long)]
    pub name: String,
    /// Default language (ja or en).
    #[arg(long, default_value = "ja")]
    pub locale: String,
    /// Time zone of the first site.
    #[arg(long, default_value = "Asia/Tokyo")]
    pub time_zone: String,
    /// Name of the first site.
    #[arg(long, default_value = "Head office")]
    pub site: String,
    /// The first administrator's e-mail address.
    #[arg(long)]
    pub admin_email: String,
    /// The first administrator's name.
    #[arg(long)]
    pub admin_name: String,
}

/// `genkan token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as a user (printed once).
    Create {
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Organisation id.
        #[arg(long)]
        tenant: String,
        /// E-mail address of the user the token acts for.
        #[arg(long)]
        user: String,
        /// Space- or comma-separated scopes: appointments:read appointments:write visits:read directory:read admin.
        #[arg(
            long,
            default_value = "appointments:read appointments:write visits:read directory:read"
        )]
        scopes: String,
        /// Days until it expires (with --refresh: until the refresh token expires).
        #[arg(long, default_value_t = 90)]
        days: i64,
        /// Issue a one-hour access token with a refresh token (rotated at each use).
        #[arg(long)]
        refresh: bool,
    },
}

/// `genkan audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the keyed chains and compare them with the anchors outside the
    /// database (backup manifests, `--anchor` files); names the first row that was
    /// changed, or the tail that was removed.
    Verify(AuditVerifyArgs),
}

/// Options of `genkan audit verify`.
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// A file holding chain heads recorded earlier: a backup manifest, a copied
    /// `audit chain heads` log line, or the `heads:` line of an earlier run
    /// (may be repeated).
    #[arg(long, value_name = "FILE")]
    pub anchor: Vec<PathBuf>,
}
