//! The command line: `run` (the default), `pair`, `decode`, `checkin`, `checkout`,
//! `sync`, `journal`, `cameras`, `render`. Subcommands and their JSON output are kept
//! stable for scripts and tests.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::controller::{Locale, Problem};

/// The Genkan reception kiosk.
#[derive(Debug, Parser)]
#[command(
    name = "genkan-kiosk",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without a subcommand the kiosk runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run`, also accepted without the subcommand.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the kiosk window (the default).
    Run(RunArgs),
    /// Pairs this kiosk with a server without the UI; prints the answer as JSON
    /// (without the credential, which is stored in the config directory).
    Pair(PairArgs),
    /// Decodes QR codes in image files: one JSON line per file,
    /// `{"file": …, "text": <string or null>, "ms": <decode time>}`.
    Decode(DecodeArgs),
    /// Checks a visitor in with a pass image or code; prints the server's answer as
    /// JSON. Exit status 0 on success, 2 when refused, 1 on other errors.
    Checkin(PresentArgs),
    /// Checks a visitor out, like `checkin`.
    Checkout(PresentArgs),
    /// Talks to the server once as the running kiosk does in the background: replays
    /// the offline journal in order, then refreshes the roster. Prints
    /// `{"replayed": [[request_id, visit_id]…], "host_not_reached": [request_id…],
    /// "refused": [[request_id, code]…],
    /// "journal_length": n, "roster_passes": n|null, "stopped": why|null}`.
    /// Exit status 0 when the journal is empty afterwards, 3 when entries remain.
    Sync(SyncArgs),
    /// Prints what the kiosk holds offline, without names:
    /// `{"journal_length": n, "roster_passes": n|null, "roster_generated_at": …}`.
    Journal(ConfigDirArgs),
    /// Lists the cameras (needs a build with the `camera` feature): one JSON line each,
    /// `{"index": …, "name": …}`.
    Cameras,
    /// Renders one screen with sample data to a PNG file, without a display.
    Render(RenderArgs),
}

/// Options of `run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Server URL (overrides the stored one; needed to pair).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Show the images of this folder in turn instead of camera frames (demo mode).
    #[arg(long, value_name = "DIR", conflicts_with = "camera")]
    pub images: Option<PathBuf>,
    /// Seconds each image of `--images` stays in front of the "camera".
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub seconds_per_image: f32,
    /// Camera number (0 = /dev/video0; see `cameras`). Needs a build with the `camera` feature.
    #[arg(long, value_name = "N")]
    pub camera: Option<u32>,
    /// The camera resolution to ask for (the closest the camera offers is used).
    #[arg(long, value_name = "WxH", default_value = "1280x720", value_parser = parse_resolution)]
    pub resolution: Resolution,
    /// Fill the screen.
    #[arg(long)]
    pub fullscreen: bool,
    /// Where the device credential is kept (default: $XDG_CONFIG_HOME/genkan-kiosk).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// The kiosk's resting language (default: the company's, from the server).
    #[arg(long, value_enum)]
    pub locale: Option<LocaleArg>,
    /// Pair at start with this code (with `--server`) instead of asking on screen.
    #[arg(long, value_name = "CODE", requires = "server")]
    pub pairing_code: Option<String>,
}

/// Options of `pair`.
#[derive(Debug, Clone, Args)]
pub struct PairArgs {
    /// Server URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The one-time pairing code from the admin screen.
    #[arg(long, value_name = "CODE")]
    pub code: String,
    /// Where to store the credential (default: $XDG_CONFIG_HOME/genkan-kiosk).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// Options of `decode`.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// Image files (PNG, JPEG, WebP).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// A camera resolution, `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for Resolution {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
        }
    }
}

/// Reads `1280x720`.
fn parse_resolution(s: &str) -> Result<Resolution, String> {
    let (w, h) = s
        .trim()
        .split_once(['x', 'X'])
        .ok_or_else(|| "expected WIDTHxHEIGHT, e.g. 1280x720".to_owned())?;
    let dim = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (16..=8192).contains(n))
            .ok_or_else(|| format!("{v:?} is not a size from 16 to 8192"))
    };
    Ok(Resolution {
        width: dim(w)?,
        height: dim(h)?,
    })
}

/// Options of `checkin` and `checkout`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("pass").required(true).args(["image", "code", "token"])))]
pub struct PresentArgs {
    /// Server URL (default: the one stored at pairing).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// An image with the pass's QR code.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// The 8-digit fallback code.
    #[arg(long, value_name = "DIGITS")]
    pub code: Option<String>,
    /// The QR code's text (`GK1…`), as a scanner would read it.
    #[arg(long, value_name = "TEXT")]
    pub token: Option<String>,
    /// `checkin` only: when the server cannot be reached, check the pass against the
    /// stored roster and journal the check-in, as the running kiosk does. The answer
    /// then has `"offline": true` and the journaled `offline_at`. A `--code` is
    /// refused offline (`"code": "code_needs_connection"`, exit status 2): rosters
    /// hold no code verifier.
    #[arg(long)]
    pub offline_ok: bool,
    /// Where the credential is stored.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Reuse a request id to retry a request safely (default: a new random one).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

/// Options of `sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Server URL (default: the one stored at pairing).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Where the credential, roster and journal are kept.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// Options of commands that only read the config directory.
#[derive(Debug, Clone, Args)]
pub struct ConfigDirArgs {
    /// Where the credential, roster and journal are kept.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// Options of `render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// Which screen.
    #[arg(long, value_enum)]
    pub screen: ScreenArg,
    /// The PNG file to write.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// The language shown.
    #[arg(long, value_enum, default_value_t = LocaleArg::Ja)]
    pub locale: LocaleArg,
    /// Width in pixels.
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// For `--screen error`: which problem.
    #[arg(long, value_enum, default_value_t = ProblemArg::Unknown)]
    pub problem: ProblemArg,
    /// A logo (PNG or JPEG) to show in the top bar, as the server would send it.
    #[arg(long, value_name = "FILE")]
    pub logo: Option<PathBuf>,
}

/// A language on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocaleArg {
    /// Japanese.
    Ja,
    /// English.
    En,
}

impl From<LocaleArg> for Locale {
    fn from(l: LocaleArg) -> Self {
        match l {
            LocaleArg::Ja => Self::Ja,
            LocaleArg::En => Self::En,
        }
    }
}

/// A screen for `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScreenArg {
    /// The scan screen with a camera preview.
    Scan,
    /// Waiting for the server.
    Verifying,
    /// After a check-in.
    Welcome,
    /// After a check-out.
    CheckedOut,
    /// An error (see `--problem`).
    Error,
    /// The code pad.
    CodeEntry,
    /// First start.
    Pairing,
    /// The walk-in form with a host search.
    WalkIn,
    /// A welcome while offline ("your host will be told once the network is back").
    OfflineWelcome,
    /// A welcome with the host's reply.
    HostReply,
    /// A welcome whose host could not be reached (reception was told).
    HostUnreachable,
}

/// A problem for `render --screen error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProblemArg {
    /// Pass for another day.
    NotToday,
    /// Pass expired.
    Expired,
    /// Visit cancelled.
    Cancelled,
    /// Pass for another site.
    OtherSite,
    /// Already checked in.
    AlreadyInside,
    /// Not checked in (check-out).
    NotInside,
    /// Unknown pass.
    Unknown,
    /// Kiosk revoked.
    KioskRevoked,
    /// Rate limited.
    TooManyAttempts,
    /// Walk-ins rate limited.
    TooManyWalkIns,
    /// A typed code while offline.
    CodeNeedsConnection,
    /// Server unreachable.
    Unreachable,
    /// Server error.
    ServerError,
}

impl From<ProblemArg> for Problem {
    fn from(p: ProblemArg) -> Self {
        match p {
            ProblemArg::NotToday => Self::NotToday,
            ProblemArg::Expired => Self::Expired,
            ProblemArg::Cancelled => Self::Cancelled,
            ProblemArg::OtherSite => Self::OtherSite,
            ProblemArg::AlreadyInside => Self::AlreadyInside,
            ProblemArg::NotInside => Self::NotInside,
            ProblemArg::Unknown => Self::Unknown,
            ProblemArg::KioskRevoked => Self::KioskRevoked,
            ProblemArg::TooManyAttempts => Self::TooManyAttempts,
            ProblemArg::TooManyWalkIns => Self::TooManyWalkIns,
            ProblemArg::CodeNeedsConnection => Self::CodeNeedsConnection,
            ProblemArg::Unreachable => Self::Unreachable,
            ProblemArg::ServerError => Self::ServerError,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn running_is_the_default_and_takes_the_run_options() {
        let cli = Cli::parse_from(["genkan-kiosk", "--images", "demo", "--locale", "en"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.run.locale, Some(LocaleArg::En));
        let cli = Cli::parse_from(["genkan-kiosk", "run", "--fullscreen"]);
        assert!(matches!(
            cli.command,
            Some(Command::Run(RunArgs {
                fullscreen: true,
                ..
            }))
        ));
    }

    #[test]
    fn checkin_needs_exactly_one_of_image_code_and_token() {
        assert!(Cli::try_parse_from(["genkan-kiosk", "checkin"]).is_err());
        assert!(
            Cli::try_parse_from(["genkan-kiosk", "checkin", "--image", "a.png", "--code", "1"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from(["genkan-kiosk", "checkin", "--token", "GK1", "--code", "1"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["genkan-kiosk", "checkout", "--code", "12345678"]).is_ok());
        assert!(
            Cli::try_parse_from(["genkan-kiosk", "checkin", "--token", "GK1x", "--offline-ok"])
                .is_ok()
        );
    }

    #[test]
    fn the_camera_resolution_is_read_as_width_by_height() {
        let cli = Cli::parse_from(["genkan-kiosk", "--camera", "1", "--resolution", "1920x1080"]);
        assert_eq!(cli.run.camera, Some(1));
        assert_eq!(
            cli.run.resolution,
            Resolution {
                width: 1920,
                height: 1080
            }
        );
        assert_eq!(
            Cli::parse_from(["genkan-kiosk"]).run.resolution,
            Resolution::default()
        );
        for bad in ["1920", "0x0", "axb", "99999x10"] {
            assert!(
                Cli::try_parse_from(["genkan-kiosk", "--resolution", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
