//! Headless rendering of the welcome screen in Japanese. One test per binary: Slint
//! takes one platform per process.

use genkan_kiosk::cli::{LocaleArg, ProblemArg, RenderArgs, ScreenArg};

#[test]
fn the_welcome_screen_renders_headlessly_in_japanese_at_the_requested_size() {
    let out = tempfile::tempdir().unwrap();
    let args = RenderArgs {
        screen: ScreenArg::Welcome,
        out: out.path().join("welcome-ja.png"),
        locale: LocaleArg::Ja,
        width: 1280,
        height: 800,
        problem: ProblemArg::Unknown,
        logo: None,
    };
    genkan_kiosk::render::render_to_file(&args).unwrap();
    let png = image::open(&args.out).unwrap().to_rgba8();
    assert_eq!((png.width(), png.height()), (1280, 800));

    // Not blank: many distinct colours, and dark text pixels on the light page.
    let mut colours = std::collections::HashSet::new();
    let mut dark = 0usize;
    for p in png.pixels() {
        colours.insert(p.0);
        if p.0[0] < 80 && p.0[1] < 80 && p.0[2] < 80 {
            dark += 1;
        }
    }
    assert!(colours.len() > 50, "only {} colours: blank?", colours.len());
    assert!(dark > 2_000, "only {dark} dark pixels: no text?");

    // The greeting line (visitor name in Japanese) is drawn in the upper middle: its
    // rows hold dark glyph pixels. With a missing CJK font the glyphs would be empty
    // boxes or nothing, which leaves far fewer dark pixels there.
    let band = (240..380)
        .flat_map(|y| (200..1080).map(move |x| (x, y)))
        .filter(|&(x, y)| png.get_pixel(x, y).0[0] < 80)
        .count();
    assert!(
        band > 3_000,
        "the greeting looks empty ({band} dark pixels)"
    );
}
