//! The Genkan server library; `main.rs` only parses the command line and calls [`run`].
//!
//! - [`config`]: layered configuration; [`startup`]: builds and runs the application.
//! - [`routes`]: the router and the API handlers; [`extract`]: authenticated principals;
//!   [`credentials`]: every credential of a request and the read-only rule.
//! - [`notify`]: the outbox worker and its channels (e-mail, Slack).
//! - [`commands`] and [`demo`]: what the CLI subcommands do.
#![forbid(unsafe_code)]

pub mod channels;
pub mod cli;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod error;
pub mod extract;
pub mod http;
pub mod jobs;
pub mod notify;
pub mod ops;
pub mod outbound;
pub mod passwords;
pub mod ratelimit;
pub mod request;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod web;

/// Runs the parsed command line.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    commands::run(cli.command).await
}
