//! Scan → welcome latency with the real server on loopback.
//!
//! Starts `genkan serve` (the binary next to this example, or `$GENKAN_BIN`) with a
//! fresh data directory, creates a tenant, a host, a kiosk and an appointment with
//! one pass per scan, pairs a kiosk session, then for every pass measures the kiosk's
//! own path: a 1280×720 camera-like frame is handed to the decoder, the decoded text
//! goes to the reception controller, its effect to the network thread (the real
//! client, HTTP to the server, a real check-in transaction with the host alert
//! queued), the answer back to the controller, until the welcome state is set.
//! Only the UI's repaint is left out.
//!
//! ```text
//! cargo build --release -p genkan-server -p genkan-kiosk --examples --bins
//! cargo run --release -p genkan-kiosk --example scan_latency -- [SCANS]
//! ```

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use genkan_core::{Clock, SystemClock};
use genkan_kiosk::controller::{Effect, Locale, Reception, Screen, Settings, Timing};
use genkan_kiosk::credential::CredentialStore;
use genkan_kiosk::decode::{decode_guarded, default_decoder};
use genkan_kiosk::net::{Network, Reply};
use genkan_kiosk::session::Session;
use image::{GrayImage, Luma};
use serde_json::{Value, json};

/// Scans not counted (first connection, caches).
const WARM_UP: usize = 5;

fn genkan_bin() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("GENKAN_BIN") {
        return Ok(PathBuf::from(path));
    }
    // target/<profile>/examples/scan_latency → target/<profile>/genkan
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("genkan"))
        .context("no target directory")?;
    if !bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p genkan-server) or set GENKAN_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// The running server; killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn genkan(bin: &PathBuf, config: &PathBuf, args: &[&str]) -> anyhow::Result<Value> {
    let out = Command::new(bin)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()?;
    if !out.status.success() {
        bail!("genkan {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

fn start_server(dir: &std::path::Path) -> anyhow::Result<(Server, String, i64)> {
    let bin = genkan_bin()?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let key = data.join("genkan.key");
    let status = Command::new(&bin)
        .args(["keys", "generate", "--out"])
        .arg(&key)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("genkan keys generate failed");
    }
    let config = dir.join("genkan.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"\n[data]\ndir = \"{}\"\n[mail]\ntransport = \"none\"\n[log]\nlevel = \"warn\"\n",
            data.display()
        ),
    )?;
    let tenant = genkan(
        &bin,
        &config,
        &[
            "tenant",
            "create",
            "--slug",
            "bench",
            "--name",
            "Bench KK",
            "--site",
            "HQ",
            "--admin-email",
            "admin@bench.example",
            "--admin-name",
            "Admin",
        ],
    )?;
    let site_id = tenant["site_id"].as_i64().context("no site id")?;
    let token = genkan(
        &bin,
        &config,
        &[
            "token",
            "create",
            "--tenant",
            "bench",
            "--user",
            "admin@bench.example",
            "--scopes",
            "admin",
        ],
    )?["token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let mut child = Command::new(&bin)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut url = None;
    for line in BufReader::new(stdout).lines() {
        if let Some(found) = line?.strip_prefix("genkan listening on ") {
            url = Some(found.trim().to_owned());
            break;
        }
    }
    let url = url.context("the server did not start")?;
    Ok((Server { child, url }, token, site_id))
}

async fn api(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("POST {path}: {status} {body}");
    }
    Ok(body)
}

/// A camera-like 1280×720 frame with the pass's QR code about 260 px wide in the middle.
fn frame(token: &str) -> anyhow::Result<GrayImage> {
    let code = qrcode::QrCode::with_error_correction_level(token.as_bytes(), qrcode::EcLevel::M)?;
    let qr = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(9, 9)
        .dark_color(Luma([30]))
        .light_color(Luma([225]))
        .build();
    let mut img = GrayImage::from_fn(1280, 720, |x, y| {
        // A dim room, lighter towards the top left.
        let shade = 70.0 + 50.0 * (1.0 - (x as f32 / 1280.0 + y as f32 / 720.0) / 2.0);
        Luma([shade as u8])
    });
    let (ox, oy) = ((1280 - qr.width()) / 2, (720 - qr.height()) / 2);
    image::imageops::overlay(&mut img, &qr, i64::from(ox), i64::from(oy));
    Ok(img)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let scans: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    let work = tempfile::tempdir()?;
    let (server, token, site_id) = start_server(work.path())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = reqwest::Client::new();
    let base = server.url.clone();
    let (passes, pairing) = rt.block_on(async {
        let host = api(&http, &base, &token, "/api/v1/users", json!({"email": "host@bench.example", "display_name": "Tanaka Ichiro", "role": "host"})).await?;
        let kiosk = api(&http, &base, &token, "/api/v1/kiosks", json!({"site_id": site_id, "name": "Lobby"})).await?;
        let now = SystemClock.now();
        let mut passes = Vec::new();
        // Appointments of at most 50 visitors each.
        for chunk in 0..(WARM_UP + scans).div_ceil(50) {
            let visitors: Vec<Value> = (0..50)
                .map(|i| json!({"name": format!("Visitor {}", chunk * 50 + i)}))
                .collect();
            let created = api(&http, &base, &token, "/api/v1/appointments?return_passes=true", json!({
                "site_id": site_id, "host_id": host["id"], "starts_at": now.to_rfc3339(),
                "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(), "visitors": visitors,
            })).await?;
            for p in created["passes"].as_array().context("no passes")? {
                passes.push(p["token"].as_str().context("no token")?.to_owned());
            }
        }
        anyhow::Ok((passes, kiosk["pairing_code"].as_str().context("no code")?.to_owned()))
    })?;
    let store = CredentialStore::new(Some(work.path().join("kiosk")))?;
    let (session, _) = rt.block_on(Session::pair(&store, &base, &pairing))?;
    println!("server {base}; {} passes; rendering frames…", passes.len());
    let frames = passes
        .iter()
        .take(WARM_UP + scans)
        .map(|t| frame(t))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (tx, replies) = mpsc::channel();
    let network = Network::start(store, Some(session), Arc::clone(&clock), move |reply| {
        let _ = tx.send(reply);
    })?;
    let mut reception = Reception::new(
        clock,
        Settings {
            paired: true,
            default_locale: Locale::Ja,
            server_url: base,
            request_prefix: format!("bench{:08x}", rand::random::<u32>()),
            timing: Timing::default(),
        },
    );
    let mut decoder = default_decoder();
    let (mut total, mut decode, mut server_part) = (Vec::new(), Vec::new(), Vec::new());
    for (i, frame) in frames.iter().enumerate() {
        reception.home();
        let started = Instant::now();
        let text = decode_guarded(decoder.as_mut(), frame)
            .text()
            .with_context(|| format!("frame {i} did not decode"))?;
        let decoded = started.elapsed();
        let effect = reception
            .frame_decoded(&text)
            .with_context(|| format!("frame {i}: no request"))?;
        let sent = Instant::now();
        network.run(effect);
        loop {
            match replies.recv_timeout(Duration::from_secs(10))? {
                Reply::Answered { request_id, answer } => {
                    if let Some(Effect::WatchReply { .. }) = reception.answered(&request_id, answer)
                    {
                        // The long-poll would start here; not part of the welcome.
                    }
                    break;
                }
                _ => continue,
            }
        }
        let answered = sent.elapsed();
        if reception.screen() != Screen::Welcome {
            bail!(
                "scan {i} ended on {:?} ({:?})",
                reception.screen(),
                reception.problem()
            );
        }
        let elapsed = started.elapsed();
        if i >= WARM_UP {
            total.push(elapsed.as_secs_f64() * 1000.0);
            decode.push(decoded.as_secs_f64() * 1000.0);
            server_part.push(answered.as_secs_f64() * 1000.0);
        }
    }
    for v in [&mut total, &mut decode, &mut server_part] {
        v.sort_by(f64::total_cmp);
    }
    let line = |name: &str, v: &[f64]| {
        println!(
            "{name:<34} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms",
            percentile(v, 0.5),
            percentile(v, 0.95),
            v.last().copied().unwrap_or_default()
        );
    };
    println!(
        "{} scans (after {WARM_UP} warm-up), decoder: {}",
        total.len(),
        decoder.name()
    );
    line("decode (frame → text)", &decode);
    line("check-in (effect → answer)", &server_part);
    line("scan → welcome state (total)", &total);
    drop(network);
    drop(server);
    Ok(())
}
