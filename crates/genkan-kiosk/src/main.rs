//! `genkan-kiosk`: parses the command line, sets up logging and hands over to the library.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = genkan_kiosk::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "genkan_kiosk=info,warn".into()),
        )
        .init();
    genkan_kiosk::run(cli)
}
