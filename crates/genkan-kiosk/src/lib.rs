//! The Genkan reception kiosk: scans visitor passes, checks visitors in and out
//! through the server's kiosk API, and guides them on a Slint touch screen.
//!
//! - [`controller`]: the reception state machine, UI-free.
//! - [`ui`]: the generated Slint code and the adapters that map the controller into it.
//! - [`frames`]: frame sources (camera, image folder) and the frame/decoder threads.
//! - [`decode`]: QR decoding behind a small boundary, panics contained.
//! - [`client`], [`session`], [`net`]: the kiosk API client, pairing and the network thread.
//! - [`offline`]: the encrypted roster, the offline journal and its replay.
//! - [`credential`]: the stored device credential.
//! - [`render`]: headless rendering of screens to PNG.
//! - [`cli`], [`commands`]: the command line and its scriptable subcommands.

mod app;
pub mod cli;
pub mod client;
pub mod commands;
pub mod controller;
pub mod credential;
pub mod decode;
pub mod frames;
pub mod net;
pub mod offline;
pub mod render;
pub mod session;
pub mod ui;

use std::process::ExitCode;

use cli::{Cli, Command};
use controller::Mode;

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        None => app::run(&cli.run).map(|()| ExitCode::SUCCESS),
        Some(Command::Run(args)) => app::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Pair(args)) => commands::pair(&args),
        Some(Command::Decode(args)) => commands::decode(&args),
        Some(Command::Checkin(args)) => commands::present(&args, Mode::CheckIn),
        Some(Command::Checkout(args)) => commands::present(&args, Mode::CheckOut),
        Some(Command::Sync(args)) => commands::sync(&args),
        Some(Command::Journal(args)) => commands::journal(&args),
        Some(Command::Cameras) => commands::cameras(),
        Some(Command::Render(args)) => render::render_to_file(&args).map(|()| ExitCode::SUCCESS),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("genkan-kiosk: {e:#}");
        ExitCode::FAILURE
    })
}
