//! The Genkan server library; `main.rs` only parses the command line and calls [`run`].
//!
//! - [`config`]: layered configuration; [`startup`]: builds and runs the application.
//! - [`routes`]: the router and the API handlers; [`extract`]: authenticated principals;
//!   [`credentials`]: every credential of a request and the read-only rule.
//! - [`notify`]: the outbox worker and its channels (e-mail, Slack).
//! - [`commands`] and [`demo`]: what the CLI subcommands do; [`operator`]: how the
//!   commands that use the database reach the one writer (the running server).
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
pub mod operator;
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

/// Runs the parsed command line: the template sandbox on this thread alone (it limits
/// its own memory, so it starts no runtime), everything else on a tokio runtime.
pub fn main(cli: cli::Cli) -> std::process::ExitCode {
    if let cli::Command::RenderSandbox(args) = &cli.command {
        return notify::sandbox::run(args);
    }
    let done = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run(cli)));
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genkan: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the parsed command line.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    commands::run(cli.command).await
}
