//! Command-line arguments of the operations commands: backups, contract ends,
//! notices and visitor erasure.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ConfigArg;

/// `genkan backup …`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now (online: the server keeps serving), then run its restore drill.
    Now(ConfigArg),
    /// List the generations in every destination and the latest runs with their drills.
    List(ConfigArg),
    /// Verify backup files: checksum against the manifest, page authentication,
    /// integrity, row counts, audit chains. Without FILE: every generation.
    Verify {
        /// A backup file (its manifest must lie beside it).
        file: Option<PathBuf>,
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Restore a verified backup into a new directory, or over the live database.
    Restore(RestoreArgs),
}

/// Options of `genkan backup restore`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["into", "replace_live"])))]
pub struct RestoreArgs {
    /// The backup file.
    pub file: PathBuf,
    /// Restore as `<DIR>/genkan.db` (the directory must not hold a database).
    #[arg(long)]
    pub into: Option<PathBuf>,
    /// Replace the live database (the server must be stopped; the current file is kept aside).
    #[arg(long)]
    pub replace_live: bool,
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
}

/// Options of `genkan tenant end`.
#[derive(Debug, Args)]
pub struct TenantEnd {
    /// Organisation id.
    #[arg(long)]
    pub tenant: String,
    /// Last day of the contract (YYYY-MM-DD, the tenant's local date); read-only from the next day.
    #[arg(long)]
    pub date: String,
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
}

/// `genkan notice …`.
#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    /// Publish a notice: a banner in the tenants' screens and a message to their admins.
    Publish(NoticePublish),
    /// List notices with their delivery figures (publication to delivery).
    List(ConfigArg),
}

/// Options of `genkan notice publish`.
#[derive(Debug, Args)]
pub struct NoticePublish {
    /// incident, maintenance, sla_change or end_of_service.
    #[arg(long)]
    pub kind: String,
    /// One-line title.
    #[arg(long)]
    pub title: String,
    /// Text.
    #[arg(long)]
    pub body: String,
    /// Comma-separated organisation ids (default: every tenant).
    #[arg(long)]
    pub tenants: Option<String>,
    /// Days the banner shows.
    #[arg(long, default_value_t = 14)]
    pub days: i64,
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
}

/// `genkan visitor …`.
#[derive(Debug, Subcommand)]
pub enum VisitorCommand {
    /// Erase one visitor's personal data everywhere (on the visitor's request).
    Erase {
        /// Organisation id.
        #[arg(long)]
        tenant: String,
        /// Visitor id.
        #[arg(long)]
        visitor: i64,
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
}
