//! Headless rendering: one screen with sample data, drawn by Slint's software renderer
//! into memory (no display needed) and saved as PNG. Used by `genkan-kiosk render`,
//! the screenshot tests and the README images.
//!
//! Slint allows one platform per process, so a process renders one screen.

use std::rc::Rc;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use chrono::{Duration, TimeZone as _, Utc};
use genkan_core::pass::PassToken;
use genkan_core::wire::v1::{
    CheckInResponse, CheckOutResponse, ErrorBody, ErrorCode, HostMatch, HostReply, KioskConfig,
    ReplyKind, WalkInOptions,
};
use genkan_core::{Clock as _, ManualClock};
use image::{Rgb, RgbImage, RgbaImage};
use slint::ComponentHandle as _;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

use crate::cli::{RenderArgs, ScreenArg};
use crate::controller::{
    Answer, Effect, Locale, Mode, OfflineWelcome, Problem, Reception, Settings, Timing,
};
use crate::frames::CameraState;
use crate::ui::{self, MainWindow};

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(Rc::clone(&self.window) as Rc<dyn WindowAdapter>)
    }
}

/// Renders the screen described by `args` and writes it to `args.out`.
pub fn render_to_file(args: &RenderArgs) -> anyhow::Result<()> {
    let image = render(args)?;
    image
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({}x{})",
        args.out.display(),
        image.width(),
        image.height()
    );
    Ok(())
}

/// Renders the screen described by `args` into an image of `args.width` x `args.height`.
pub fn render(args: &RenderArgs) -> anyhow::Result<RgbaImage> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: Rc::clone(&window),
    }))
    .map_err(|e| anyhow!("cannot set up headless rendering: {e}"))?;
    window.set_size(slint::PhysicalSize::new(args.width, args.height));

    let ui = MainWindow::new().context("creating the kiosk UI")?;
    let locale = Locale::from(args.locale);
    let reception = sample_reception(args.screen, locale, args.problem.into());
    slint::select_bundled_translation(reception.locale().as_str())
        .map_err(|e| anyhow!("selecting the {} translation: {e}", locale.as_str()))?;
    ui::apply(&ui, &reception);
    ui::show_preview(&ui, ui::preview_image(&sample_frame()));
    if let Some(logo) = &args.logo {
        let logo = image::open(logo)
            .with_context(|| format!("reading {}", logo.display()))?
            .to_rgba8();
        ui::show_logo(&ui, &logo);
    }
    ui.show().context("showing the window")?;
    slint::platform::update_timers_and_animations();
    let snapshot = ui
        .window()
        .take_snapshot()
        .map_err(|e| anyhow!("rendering: {e}"))?;
    RgbaImage::from_raw(
        snapshot.width(),
        snapshot.height(),
        snapshot.as_bytes().to_vec(),
    )
    .context("the snapshot has an unexpected size")
}

/// Names for the sample screens, in the language shown.
struct Sample {
    organisation: &'static str,
    site: &'static str,
    visitor: &'static str,
    company: &'static str,
    host: &'static str,
    /// What a walk-in types to find the host, and who matches.
    search: &'static str,
    matches: [&'static str; 3],
}

fn sample(locale: Locale) -> Sample {
    match locale {
        Locale::Ja => Sample {
            organisation: "株式会社エグザンプル",
            site: "東京本社 1F ロビー",
            visitor: "佐藤 花子",
            company: "サンプル商事株式会社",
            host: "田中 一郎",
            search: "田中 一",
            matches: ["田中 一郎", "田中 一樹", "田中 一美"],
        },
        Locale::En => Sample {
            organisation: "Example KK",
            site: "Tokyo HQ · Lobby",
            visitor: "Hanako Sato",
            company: "Sample Trading Co.",
            host: "Ichiro Tanaka",
            search: "Tanak",
            matches: ["Ichiro Tanaka", "Kazuki Tanaka", "Yumi Tanaka"],
        },
    }
}

fn request_id(effect: Option<Effect>) -> String {
    match effect {
        Some(Effect::Present { pass, .. }) => pass.request_id,
        Some(Effect::WalkIn(request)) => request.request_id,
        _ => String::new(),
    }
}

fn refusal(code: ErrorCode) -> Answer {
    Answer::Refused(ErrorBody {
        code,
        message: String::new(),
        request_id: None,
        fields: Vec::new(),
    })
}

/// A controller driven into `screen` through its ordinary events.
fn sample_reception(screen: ScreenArg, locale: Locale, problem: Problem) -> Reception {
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 0, 30, 0)
            .single()
            .unwrap_or_default(),
    );
    let s = sample(locale);
    let mut r = Reception::new(
        Arc::new(clock.clone()),
        Settings {
            paired: screen != ScreenArg::Pairing,
            default_locale: locale,
            server_url: "https://genkan.example.com".to_owned(),
            request_prefix: "render".to_owned(),
            timing: Timing::default(),
        },
    );
    r.configured(&KioskConfig {
        kiosk_id: 1,
        tenant_name: s.organisation.to_owned(),
        site_name: s.site.to_owned(),
        time_zone: "Asia/Tokyo".to_owned(),
        default_locale: locale.as_str().to_owned(),
        primary_color: "#1d4ed8".to_owned(),
        checkout_enabled: true,
        accent_color: "#0f766e".to_owned(),
        has_logo: false,
        walk_in: WalkInOptions {
            enabled: true,
            ask_company: true,
            ask_phone: screen == ScreenArg::WalkIn,
        },
    });
    r.camera_changed(CameraState::Live);
    let token = PassToken::generate(&mut rand::rng()).encode();
    match screen {
        ScreenArg::Scan | ScreenArg::Pairing => {}
        ScreenArg::Verifying => {
            r.frame_decoded(&token);
        }
        ScreenArg::Welcome | ScreenArg::HostReply | ScreenArg::HostUnreachable => {
            let reached = screen != ScreenArg::HostUnreachable;
            let id = request_id(r.frame_decoded(&token));
            r.answered(
                &id,
                Answer::CheckedIn(CheckInResponse {
                    visit_id: 1,
                    visitor_name: s.visitor.to_owned(),
                    visitor_company: Some(s.company.to_owned()),
                    locale: locale.as_str().to_owned(),
                    host_name: s.host.to_owned(),
                    site_name: s.site.to_owned(),
                    checked_in_at: "2026-11-24T09:30:00+09:00".to_owned(),
                    host_notified: reached,
                    reception_notified: true,
                }),
            );
            if screen == ScreenArg::HostReply {
                clock.advance(Duration::seconds(3));
                r.host_replied(
                    1,
                    &HostReply {
                        kind: ReplyKind::Coming,
                        host_name: s.host.to_owned(),
                        at: "2026-11-24T09:30:05+09:00".to_owned(),
                    },
                );
            }
        }
        ScreenArg::OfflineWelcome => {
            let id = request_id(r.frame_decoded(&token));
            r.answered(
                &id,
                Answer::OfflineCheckedIn(OfflineWelcome {
                    visitor_name: s.visitor.to_owned(),
                    host_name: s.host.to_owned(),
                    locale: locale.as_str().to_owned(),
                    offline_at: clock.now(),
                    host_reachable: true,
                }),
            );
        }
        ScreenArg::WalkIn => {
            r.open_walk_in();
            r.walk_in_name(s.visitor);
            r.walk_in_company(s.company);
            r.walk_in_search(s.search);
            let matches = s
                .matches
                .iter()
                .zip(1..)
                .map(|(name, id)| HostMatch {
                    id,
                    name: (*name).to_owned(),
                })
                .collect();
            r.hosts_found(s.search, Ok(matches));
        }
        ScreenArg::CheckedOut => {
            r.choose_mode(Mode::CheckOut);
            let id = request_id(r.frame_decoded(&token));
            r.answered(
                &id,
                Answer::CheckedOut(CheckOutResponse {
                    visit_id: 1,
                    visitor_name: s.visitor.to_owned(),
                    locale: locale.as_str().to_owned(),
                    checked_out_at: "2026-11-24T17:30:00+09:00".to_owned(),
                }),
            );
        }
        ScreenArg::Error if problem == Problem::TooManyWalkIns => {
            r.open_walk_in();
            r.walk_in_name(s.visitor);
            r.walk_in_search(s.search);
            let host = HostMatch {
                id: 1,
                name: s.host.to_owned(),
            };
            r.hosts_found(s.search, Ok(vec![host]));
            r.choose_host(1);
            let id = request_id(r.walk_in_submit());
            r.answered(&id, refusal(ErrorCode::RateLimited));
        }
        ScreenArg::Error => {
            let id = request_id(r.frame_decoded(&token));
            let answer = match problem {
                Problem::NotToday => refusal(ErrorCode::PassNotYetValid),
                Problem::Expired => refusal(ErrorCode::PassExpired),
                Problem::Cancelled => refusal(ErrorCode::PassCancelled),
                Problem::OtherSite => refusal(ErrorCode::OtherSite),
                Problem::AlreadyInside => refusal(ErrorCode::AlreadyInside),
                Problem::NotInside => refusal(ErrorCode::NotInside),
                Problem::Unknown => refusal(ErrorCode::PassUnknown),
                Problem::KioskRevoked => refusal(ErrorCode::KioskRevoked),
                Problem::TooManyAttempts | Problem::TooManyWalkIns => {
                    refusal(ErrorCode::RateLimited)
                }
                Problem::CodeNeedsConnection => Answer::CodeNeedsConnection,
                Problem::Unreachable => Answer::Unreachable("sample".to_owned()),
                Problem::ServerError => Answer::Failed("sample".to_owned()),
            };
            r.answered(&id, answer);
        }
        ScreenArg::CodeEntry => {
            r.open_code_entry();
            for d in [2, 4, 6, 8, 1] {
                r.code_digit(d);
            }
        }
    }
    // A moment into the screen, so countdowns show as running.
    clock.advance(Duration::seconds(2));
    r
}

/// A camera-like picture for the scan screen: a dim room and a pass held up, its QR
/// code drawn from a fixed pseudo-random pattern.
fn sample_frame() -> RgbImage {
    let (w, h) = (960u32, 720u32);
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let light = 1.0 - ((fx - 0.6).powi(2) + (fy - 0.3).powi(2)).sqrt();
        let v = |base: f32, k: f32| (base + k * light).clamp(0.0, 255.0) as u8;
        Rgb([v(38.0, 70.0), v(44.0, 72.0), v(54.0, 76.0)])
    });
    // The pass: a white card with a 25x25 code.
    let modules = 25u32;
    let unit = 11u32;
    let card = modules * unit + 2 * 4 * unit;
    let (cx, cy) = ((w - card) / 2, (h - card) / 2 - 30);
    let mut seed = 0x2545_f491_u32;
    let mut dark = vec![false; (modules * modules) as usize];
    for cell in dark.iter_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        *cell = seed.is_multiple_of(2);
    }
    let finder = |mx: u32, my: u32| -> Option<bool> {
        for (ox, oy) in [(0, 0), (modules - 7, 0), (0, modules - 7)] {
            if (ox..ox + 7).contains(&mx) && (oy..oy + 7).contains(&my) {
                let (dx, dy) = (mx - ox, my - oy);
                let ring = dx.min(dy).min(6 - dx).min(6 - dy);
                return Some(ring != 1);
            }
            if (ox.saturating_sub(1)..ox + 8).contains(&mx)
                && (oy.saturating_sub(1)..oy + 8).contains(&my)
            {
                return Some(false);
            }
        }
        None
    };
    for y in 0..card {
        for x in 0..card {
            let (mx, my) = ((x / unit).wrapping_sub(4), (y / unit).wrapping_sub(4));
            let is_dark = mx < modules
                && my < modules
                && finder(mx, my).unwrap_or(dark[(my * modules + mx) as usize]);
            let c = if is_dark { 24 } else { 246 };
            img.put_pixel(cx + x, cy + y, Rgb([c, c, c.saturating_add(4)]));
        }
    }
    img
}
