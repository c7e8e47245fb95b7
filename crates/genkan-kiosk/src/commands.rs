//! The scriptable subcommands: `decode`, `pair`, `checkin`, `checkout`, `sync`,
//! `journal` and `cameras`. Machine-readable results go to stdout as JSON;
//! explanations go to stderr.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use std::sync::Mutex;

use anyhow::{Context as _, bail};
use genkan_core::pass::{FallbackCode, PassToken};
use genkan_core::wire::v1::PresentPass;
use genkan_core::{Clock as _, SystemClock};
use serde::Serialize;

use crate::cli::{ConfigDirArgs, DecodeArgs, PairArgs, PresentArgs, SyncArgs};
use crate::client::ClientError;
use crate::controller::{Answer, Mode};
use crate::credential::CredentialStore;
use crate::decode::decode_frame;
use crate::offline::OfflineDesk;
use crate::offline::sync::{lock, replay};
use crate::session::{PairError, Session};

/// Exit status of a refusal by the server (or the offline roster).
const REFUSED: u8 = 2;
/// Exit status of `sync` when journal entries remain.
const PENDING: u8 = 3;

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
    let (token, code) = match (&args.image, &args.code, &args.token) {
        (None, None, Some(text)) => {
            let token = PassToken::parse(text)
                .map_err(|e| anyhow::anyhow!("--token is not a Genkan pass ({e})"))?;
            (Some(token.encode()), None)
        }
        (Some(image), _, _) => {
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
        (None, Some(code), _) => {
            let code = FallbackCode::parse(code)
                .map_err(|_| anyhow::anyhow!("--code must be 8 digits"))?;
            (None, Some(code.as_str().to_owned()))
        }
        (None, None, None) => bail!("give --image, --code or --token"),
    };
    Ok(PresentPass {
        request_id,
        token,
        code,
        offline_at: None,
        token_hash: None,
    })
}

fn paired(store: &CredentialStore, server: Option<&str>) -> anyhow::Result<Session> {
    Session::load(store, server)?.with_context(|| {
        format!(
            "this kiosk is not paired (no {}): run `genkan-kiosk pair --server URL --code CODE` first",
            store.path().display()
        )
    })
}

fn desk(store: &CredentialStore, session: &Session) -> OfflineDesk {
    OfflineDesk::open(
        store.dir(),
        &session.stored.credential,
        session.stored.kiosk_id,
    )
}

/// `checkin` / `checkout`: presents a pass and prints the server's answer (or, with
/// `--offline-ok` and no server, the offline desk's).
pub fn present(args: &PresentArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let store = CredentialStore::new(args.config_dir.clone())?;
    let session = paired(&store, args.server.as_deref())?;
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
    if args.offline_ok
        && mode == Mode::CheckIn
        && let Err(e) = &outcome
        && e.server_down()
    {
        eprintln!("{e}; checking the pass against the offline roster");
        return offline_check_in(&store, &session, &pass);
    }
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

/// The offline desk's answer to `pass`, printed like the server's.
fn offline_check_in(
    store: &CredentialStore,
    session: &Session,
    pass: &PresentPass,
) -> anyhow::Result<ExitCode> {
    let mut desk = desk(store, session);
    match desk.answer(pass, SystemClock.now()) {
        Answer::OfflineCheckedIn(welcome) => {
            print_json(&serde_json::json!({
                "offline": true,
                "request_id": pass.request_id,
                "visitor_name": welcome.visitor_name,
                "host_name": welcome.host_name,
                "locale": welcome.locale,
                "offline_at": welcome.offline_at.to_rfc3339(),
                "host_reachable": welcome.host_reachable,
                "journal_length": desk.journal_len(),
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        Answer::Refused(body) => {
            print_json(&body)?;
            Ok(ExitCode::from(REFUSED))
        }
        Answer::CodeNeedsConnection => {
            print_json(&serde_json::json!({
                "offline": true,
                "code": "code_needs_connection",
                "message": "Typed codes are checked by the server only; scan the QR code or ask at the reception desk.",
                "journal_length": desk.journal_len(),
            }))?;
            Ok(ExitCode::from(REFUSED))
        }
        other => bail!("offline check-in impossible: {other:?}"),
    }
}

/// `sync`: replays the journal, refreshes the roster, prints what happened.
pub fn sync(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let store = CredentialStore::new(args.config_dir.clone())?;
    let session = paired(&store, args.server.as_deref())?;
    let desk = Mutex::new(desk(&store, &session));
    let rt = runtime()?;
    let report = rt.block_on(replay(&session.client, &desk));
    if report.revoked {
        lock(&desk).forget_all();
    }
    let mut roster_passes = None;
    if report.stopped.is_none() {
        match rt.block_on(session.client.roster()) {
            Ok(roster) => {
                roster_passes = Some(roster.passes.len());
                lock(&desk)
                    .store_roster(roster, SystemClock.now())
                    .context("storing the roster")?;
            }
            Err(e) => eprintln!("cannot fetch the roster: {e}"),
        }
    }
    lock(&desk).tidy(SystemClock.now());
    let journal_length = lock(&desk).journal_len();
    print_json(&serde_json::json!({
        "replayed": report.replayed,
        "host_not_reached": report.host_not_reached,
        "refused": report.refused,
        "journal_length": journal_length,
        "roster_passes": roster_passes,
        "stopped": report.stopped,
    }))?;
    Ok(if journal_length == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PENDING)
    })
}

/// `journal`: what the kiosk holds offline, without names.
pub fn journal(args: &ConfigDirArgs) -> anyhow::Result<ExitCode> {
    let store = CredentialStore::new(args.config_dir.clone())?;
    let session = paired(&store, None)?;
    let desk = desk(&store, &session);
    print_json(&serde_json::json!({
        "journal_length": desk.journal_len(),
        "roster_passes": desk.roster().map(|r| r.roster.passes.len()),
        "roster_generated_at": desk.roster().map(|r| r.roster.generated_at.clone()),
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// `cameras`: the cameras this machine has.
pub fn cameras() -> anyhow::Result<ExitCode> {
    #[cfg(feature = "camera")]
    {
        let cameras = crate::frames::camera::list()
            .map_err(|e| anyhow::anyhow!("cannot list cameras: {e}"))?;
        for (index, name) in cameras {
            print_json(&serde_json::json!({"index": index, "name": name}))?;
        }
    }
    #[cfg(not(feature = "camera"))]
    eprintln!("built without the `camera` feature: no cameras can be used");
    Ok(ExitCode::SUCCESS)
}
