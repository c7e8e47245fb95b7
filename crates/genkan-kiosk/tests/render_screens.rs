//! The screens of walk-ins, offline welcomes, host replies, unreachable hosts, offline
//! code entry and busy walk-ins render headlessly in both languages. Each render runs the `genkan-kiosk render` binary: Slint takes one
//! platform per process.

use std::process::Command;

/// Dark pixels (text) in the rows `rows` of the picture.
fn dark_pixels(png: &image::RgbaImage, rows: std::ops::Range<u32>) -> usize {
    rows.flat_map(|y| (0..png.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = png.get_pixel(x, y).0;
            p[0] < 80 && p[1] < 80 && p[2] < 80
        })
        .count()
}

#[test]
fn the_walk_in_offline_welcome_and_host_reply_screens_render_in_japanese_and_english() {
    let out = tempfile::tempdir().unwrap();
    for screen in [
        "walk-in",
        "offline-welcome",
        "host-reply",
        "host-unreachable",
    ] {
        for locale in ["ja", "en"] {
            let file = out.path().join(format!("{screen}-{locale}.png"));
            let status = Command::new(env!("CARGO_BIN_EXE_genkan-kiosk"))
                .args(["render", "--screen", screen, "--locale", locale, "--out"])
                .arg(&file)
                .status()
                .unwrap();
            assert!(status.success(), "{screen} {locale}");
            let png = image::open(&file).unwrap().to_rgba8();
            assert_eq!((png.width(), png.height()), (1280, 800));
            // Text below the top bar: titles, names, buttons.
            let text = dark_pixels(&png, 100..760);
            assert!(text > 3_000, "{screen} {locale}: only {text} dark pixels");
        }
    }
}

#[test]
fn the_offline_code_and_busy_walk_in_screens_render_in_japanese_and_english() {
    let out = tempfile::tempdir().unwrap();
    for problem in ["code-needs-connection", "too-many-walk-ins"] {
        for locale in ["ja", "en"] {
            let file = out.path().join(format!("{problem}-{locale}.png"));
            let status = Command::new(env!("CARGO_BIN_EXE_genkan-kiosk"))
                .args(["render", "--screen", "error", "--problem", problem])
                .args(["--locale", locale, "--out"])
                .arg(&file)
                .status()
                .unwrap();
            assert!(status.success(), "{problem} {locale}");
            let png = image::open(&file).unwrap().to_rgba8();
            let text = dark_pixels(&png, 100..760);
            assert!(text > 3_000, "{problem} {locale}: only {text} dark pixels");
        }
    }
}

#[test]
fn a_logo_given_to_render_replaces_the_brand_stripe_in_the_top_bar() {
    let out = tempfile::tempdir().unwrap();
    let logo = out.path().join("logo.png");
    image::RgbaImage::from_pixel(300, 100, image::Rgba([10, 10, 10, 255]))
        .save(&logo)
        .unwrap();
    let file = out.path().join("scan.png");
    let status = Command::new(env!("CARGO_BIN_EXE_genkan-kiosk"))
        .args(["render", "--screen", "scan", "--locale", "en", "--out"])
        .arg(&file)
        .arg("--logo")
        .arg(&logo)
        .status()
        .unwrap();
    assert!(status.success());
    let png = image::open(&file).unwrap().to_rgba8();
    // The logo is a dark block at the left of the bar, where the (blue) brand stripe
    // is otherwise drawn and the company name does not reach.
    let left = (20..55)
        .flat_map(|y| (34..62).map(move |x| (x, y)))
        .filter(|&(x, y)| png.get_pixel(x, y).0[..3].iter().all(|c| *c < 40))
        .count();
    assert!(left > 500, "no logo in the top bar ({left} dark pixels)");
}
