//! The scriptable subcommands: `decode`, `pair`, `checkin` and `checkout`.
//! Machine-readable results go to stdout as JSON; explanations go to stderr.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use genkan_core::pass::{FallbackCode, PassToken};
use genkan_core::wire::v1::PresentPass;
use serde::Serialize;

use crate::cli::{DecodeArgs, PairArgs, PresentArgs};
use crate::client::ClientError;
use crate::controller::Mode;
use crate::credential::CredentialStore;
use crate::decode::decode_frame;
use crate::session::{PairError, Session};

/// Exit status of a refusal by the server.
const REFUSED: u8 = 2;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Reads an image file as grayscale and decodes it; returns the text and the decode
/// time in milliseconds (file reading excluded).
pub fn decode_file(path: &Path) -> anyhow::Result<(Option<String>, f64)> {
    let gray = image::open(path)
        .with_context(|| format!("reading {}", path.display()))?
        .to_luma8();
    let started = Instant::now();
    let text = decode_frame(&gray);
    Ok((text, started.elapsed().as_secs_f64() * 1000.0))
}

/// `decode FILE...`: one JSON line per file. Exit status 1 if a file could not be read.
pub fn decode(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let mut unreadable = false;
    for file in &args.files {
        let line = match decode_file(file) {
            Ok((text, ms)) => serde_json::json!({
                "file": file.display().to_string(),
                "text": text,
                "ms": (ms * 1000.0).round() / 1000.0,
            }),
            Err(e) => {
                unreadable = true;
                serde_json::json!({
                    "file": file.display().to_string(),
                    "text": null,
                    "ms": 0.0,
                    "error": format!("{e:#}"),
                })
            }
        };
        print_json(&line)?;
    }
    Ok(if unreadable {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `pair`: pairs, stores the credential, prints the answer without the credential.
pub fn pair(args: &PairArgs) -> anyhow::Result<ExitCode> {
    let store = CredentialStore::new(args.config_dir.clone())?;
    let outcome = runtime()?.block_on(Session::pair(&store, &args.server, &args.code));
    match outcome {
        Ok((_, response)) => {
            let mut shown = serde_json::to_value(&response)?;
            if let Some(fields) = shown.as_object_mut() {
                fields.remove("credential");
            }
            print_json(&shown)?;
            eprintln!("paired; credential stored in {}", store.path().display());
            Ok(ExitCode::SUCCESS)
        }
        Err(PairError::Client(ClientError::Refused(body))) => {
            print_json(&body)?;
            Ok(ExitCode::from(REFUSED))
        }
        Err(e) => Err(e.into()),
    }
}

/// The pass given on the command line, as the request body.
fn pass_from(args: &PresentArgs) -> anyhow::Result<PresentPass> {
    let request_id = args
        .request_id
        .clone()
        .unwrap_or_else(|| format!("cli-{:016x}", rand::random::<u64>()));
    if !genkan_core::wire::v1::valid_request_id(&request_id) {
        bail!("--request-id must be 8-64 characters of A-Z a-z 0-9 - _");
    }
    let (token, code) = match (&args.image, &args.code) {
        (Some(image), _) => {
            let (text, _) = decode_file(image)?;
            let text = text.with_context(|| format!("no QR code found in {}", image.display()))?;
            let token = PassToken::parse(&text).map_err(|e| {
                anyhow::anyhow!(
                    "the QR code in {} is not a Genkan pass ({e})",
                    image.display()
                )
            })?;
            (Some(token.encode()), None)
        }
        (None, Some(code)) => {
            let code = FallbackCode::parse(code)
                .map_err(|_| anyhow::anyhow!("--code must be 8 digits"))?;
            (None, Some(code.as_str().to_owned()))
        }
        (None, None) => bail!("give --image or --code"),
    };
    Ok(PresentPass {
        request_id,
        token,
        code,
        offline_at: None,
        token_hash: None,
    })
}

/// `checkin` / `checkout`: presents a pass and prints the server's answer.
pub fn present(args: &PresentArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let store = CredentialStore::new(args.config_dir.clone())?;
    let session = Session::load(&store, args.server.as_deref())?.with_context(|| {
        format!(
            "this kiosk is not paired (no {}): run `genkan-kiosk pair --server URL --code CODE` first",
            store.path().display()
        )
    })?;
    let pass = pass_from(args)?;
    let rt = runtime()?;
    let outcome = match mode {
        Mode::CheckIn => rt
            .block_on(session.client.check_in(&pass))
            .map(serde_json::to_value),
        Mode::CheckOut => rt
            .block_on(session.client.check_out(&pass))
            .map(serde_json::to_value),
    };
    match outcome {
        Ok(body) => {
            print_json(&body?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(ClientError::Refused(body)) => {
            print_json(&body)?;
            Ok(ExitCode::from(REFUSED))
        }
        Err(e) => Err(e.into()),
    }
}
