//! The `genkan` binary.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = genkan_server::cli::Cli::parse();
    match genkan_server::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genkan: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
