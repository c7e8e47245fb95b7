//! The `genkan` binary.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    genkan_server::main(genkan_server::cli::Cli::parse())
}
