//! Decoder benchmark: rate and time per image on the shared real-photo samples, and
//! time per frame on seeded synthetic 720p camera frames with and without a pass.
//!
//! `cargo run --release -p genkan-kiosk --example decode_bench -- [--frames N] [--reps N] [--seed N]`
//!
//! The frames come from a fresh random seed at each run (printed, and given back with
//! `--seed` to repeat a run); the seed the decoder tests use is refused, so the figures
//! never come from frames the tests were tuned against.
//!
//! Times cover the decode call only (files are loaded and converted to grayscale
//! first), single-threaded; each image's time is the median of `--reps` runs.
#![expect(clippy::unwrap_used, reason = "a benchmark tool fails loudly")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use genkan_kiosk::decode::{CascadeDecoder, Decoded, Decoder, RqrrDecoder, decode_guarded};
use support::frames;

fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
}

fn trim_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Decodes `image` `reps` times; the result and the median time in ms.
fn timed(decoder: &mut dyn Decoder, image: &image::GrayImage, reps: usize) -> (Decoded, f64) {
    let mut times = Vec::with_capacity(reps);
    let mut result = Decoded::Nothing;
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        result = decode_guarded(decoder, image);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (result, percentile(&times, 0.5))
}

fn samples(decoder: &mut dyn Decoder, reps: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/qr-samples");
    assert!(root.is_dir(), "{} not found", root.display());
    let mut all = Vec::new();
    let mut per_set = Vec::new();
    for set in ["qrcode-1", "qrcode-2", "qrcode-3"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(set))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("png" | "jpg" | "jpeg" | "webp")
                )
            })
            .collect();
        files.sort();
        let (mut ok, mut n) = (0, 0);
        for file in files {
            let Ok(expected) = std::fs::read_to_string(file.with_extension("txt")) else {
                continue;
            };
            let image = image::open(&file).unwrap().to_luma8();
            let (result, ms) = timed(decoder, &image, reps);
            n += 1;
            if matches!(&result, Decoded::Text(t) if trim_newline(t) == trim_newline(&expected)) {
                ok += 1;
            }
            all.push(ms);
        }
        per_set.push(format!("{set} {ok}/{n}"));
    }
    all.sort_by(f64::total_cmp);
    let total: usize = per_set
        .iter()
        .map(|s| {
            s.split(' ')
                .nth(1)
                .and_then(|x| x.split('/').next()?.parse::<usize>().ok())
                .unwrap_or(0)
        })
        .sum();
    println!(
        "| {} | {} | {total}/{} | {:.2} | {:.2} | {:.2} |",
        decoder.name(),
        per_set.join(", "),
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        all.last().copied().unwrap_or(0.0)
    );
}

fn camera_frames(
    decoder: &mut dyn Decoder,
    with_code: &[frames::Frame],
    without_code: &[frames::Frame],
    reps: usize,
) {
    let mut read = 0;
    let mut wrong = 0;
    let mut smallest_read = f32::MAX;
    let mut t_code = Vec::new();
    for f in with_code {
        let image = image::GrayImage::from_raw(f.width, f.height, f.luma.clone()).unwrap();
        let (result, ms) = timed(decoder, &image, reps);
        match result {
            Decoded::Text(t) if Some(&t) == f.text.as_ref() => {
                read += 1;
                smallest_read = smallest_read.min(f.code_px);
            }
            Decoded::Text(_) => wrong += 1,
            _ => {}
        }
        t_code.push(ms);
    }
    let mut t_none = Vec::new();
    let mut false_reads = 0;
    for f in without_code {
        let image = image::GrayImage::from_raw(f.width, f.height, f.luma.clone()).unwrap();
        let (result, ms) = timed(decoder, &image, reps);
        if matches!(result, Decoded::Text(_)) {
            false_reads += 1;
        }
        t_none.push(ms);
    }
    t_code.sort_by(f64::total_cmp);
    t_none.sort_by(f64::total_cmp);
    println!(
        "| {} | {read}/{} (wrong {wrong}, smallest code read {smallest_read:.0} px) | {:.2} | {:.2} | {false_reads} | {:.2} | {:.2} |",
        decoder.name(),
        with_code.len(),
        percentile(&t_code, 0.5),
        percentile(&t_code, 0.95),
        percentile(&t_none, 0.5),
        percentile(&t_none, 0.95)
    );
}

fn main() {
    let reps = arg("--reps").unwrap_or(3);
    let n = arg("--frames").unwrap_or(200);
    let seed = arg::<u64>("--seed").unwrap_or_else(rand::random);
    assert_ne!(
        seed,
        frames::TEST_SEED,
        "the decoder tests use this seed; score frames they never saw"
    );
    println!("## Real photos (qrcode-1..3, 82 images), median of {reps} runs per image\n");
    println!("| decoder | per set | total | median ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    samples(&mut CascadeDecoder::default(), reps);
    samples(&mut RqrrDecoder::plain(), reps);
    let (with_code, without_code) = frames::generate_set(n, seed);
    println!("\n## Synthetic 1280x720 camera frames ({n} with a pass, {n} without), seed {seed}\n");
    println!(
        "| decoder | read | with code p50 ms | with code p95 ms | false reads | without p50 ms | without p95 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    camera_frames(
        &mut CascadeDecoder::default(),
        &with_code,
        &without_code,
        reps,
    );
    camera_frames(&mut RqrrDecoder::plain(), &with_code, &without_code, 1);
}
