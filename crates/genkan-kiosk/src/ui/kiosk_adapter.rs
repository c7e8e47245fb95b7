//! `KioskAdapter`: screen, language, names, logo, brand colour, mode, the network
//! state and the idle countdown.

use std::rc::Weak;

use image::RgbaImage;
use slint::{ComponentHandle as _, Image, Rgba8Pixel, SharedPixelBuffer, SharedString};

use super::{Act, KioskAdapter, MainWindow, Screen as UiScreen, with};
use crate::controller::{Mode, Reception, Screen};

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<KioskAdapter<'_>>();
    g.set_screen(match r.screen() {
        Screen::Pairing => UiScreen::Pairing,
        Screen::Scan => UiScreen::Scan,
        Screen::Verifying => UiScreen::Verifying,
        Screen::Welcome => UiScreen::Welcome,
        Screen::CheckedOut => UiScreen::CheckedOut,
        Screen::Error => UiScreen::Error,
        Screen::CodeEntry => UiScreen::CodeEntry,
        Screen::WalkIn => UiScreen::WalkIn,
    });
    g.set_online(r.online());
    g.set_walk_in_enabled(r.walk_in_options().enabled);
    g.set_language(r.locale().as_str().into());
    g.set_checkout_enabled(r.checkout_enabled());
    g.set_checkout_mode(r.mode() == Mode::CheckOut);
    g.set_time_left(r.time_left());
    if let Some(b) = r.branding() {
        g.set_organisation(SharedString::from(b.organisation.as_str()));
        g.set_site(SharedString::from(b.site.as_str()));
        if let Some(color) = b.color.as_deref().and_then(parse_color) {
            g.set_brand(color);
        }
    }
}

pub(super) fn connect<A: Act>(ui: &MainWindow, app: &Weak<A>) {
    let g = ui.global::<KioskAdapter<'_>>();
    let a = app.clone();
    g.on_switch_language(move || {
        with(&a, |r| {
            r.switch_locale();
            None
        });
    });
    let a = app.clone();
    g.on_choose_checkout(move |checkout| {
        with(&a, |r| {
            r.choose_mode(if checkout {
                Mode::CheckOut
            } else {
                Mode::CheckIn
            });
            None
        });
    });
    let a = app.clone();
    g.on_home(move || {
        with(&a, |r| {
            r.home();
            None
        });
    });
    let a = app.clone();
    g.on_open_walk_in(move || {
        with(&a, |r| {
            r.open_walk_in();
            None
        });
    });
}

/// Shows the company's logo in the top bar.
pub fn show_logo(ui: &MainWindow, logo: &RgbaImage) {
    let buffer = SharedPixelBuffer::<Rgba8Pixel>::clone_from_slice(
        logo.as_raw(),
        logo.width(),
        logo.height(),
    );
    let g = ui.global::<KioskAdapter<'_>>();
    g.set_logo(Image::from_rgba8(buffer));
    g.set_has_logo(logo.width() > 0 && logo.height() > 0);
}

/// Reads a `#rrggbb` colour (the server's brand colour).
pub fn parse_color(s: &str) -> Option<slint::Color> {
    let hex = s.trim().strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(slint::Color::from_rgb_u8(
        channel(0)?,
        channel(2)?,
        channel(4)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_colours_are_read_from_hex_and_nonsense_is_ignored() {
        assert_eq!(
            parse_color("#1d4ed8"),
            Some(slint::Color::from_rgb_u8(0x1d, 0x4e, 0xd8))
        );
        assert_eq!(parse_color("1d4ed8"), None);
        assert_eq!(parse_color("#1d4ed"), None);
        assert_eq!(parse_color("#gggggg"), None);
        assert_eq!(parse_color("#ééé"), None);
    }
}
