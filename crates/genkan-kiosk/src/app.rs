//! The running kiosk: window, controller, network and frame threads wired together.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use genkan_core::{Clock, SystemClock};
use image::RgbImage;
use slint::ComponentHandle as _;

use crate::cli::RunArgs;
use crate::controller::{Effect, Locale, Reception, Settings, Timing};
use crate::credential::CredentialStore;
use crate::decode;
use crate::frames::{CameraState, FramePump, FrameSink, SourceFactory};
use crate::net::{Network, Reply};
use crate::offline::sync::{Health, LinkEvent};
use crate::session::Session;
use crate::ui::{self, KioskAdapter, MainWindow};

/// How often the controller's timers are checked.
const TICK: Duration = Duration::from_millis(250);
/// The largest preview handed to the UI: the screen shows it at about this size, and
/// scaling a full camera frame on every repaint costs the software renderer.
const PREVIEW_MAX: (u32, u32) = (960, 720);
/// Frames per second taken from an image folder.
const DEMO_FPS: u32 = 5;

/// Something that happened on another thread, for the UI thread.
#[derive(Debug)]
enum Event {
    Decoded(String),
    Camera(CameraState),
    Reply(Reply),
}

thread_local! {
    /// The application, reachable from closures the worker threads queue on the UI
    /// thread (they must be `Send`, so they cannot carry the `Rc` themselves).
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

struct App {
    ui: MainWindow,
    reception: RefCell<Reception>,
    network: Network,
    pinned_locale: Option<Locale>,
    shown_locale: Cell<Option<Locale>>,
    /// Frames come from image files (reported as such in heartbeats).
    demo: bool,
    reported: RefCell<Option<Health>>,
}

impl ui::Act for App {
    fn act(&self, f: &mut dyn FnMut(&mut Reception) -> Option<Effect>) {
        let effect = f(&mut self.reception.borrow_mut());
        if let Some(effect) = effect {
            self.network.run(effect);
        }
        self.refresh();
    }
}

impl App {
    fn refresh(&self) {
        let reception = self.reception.borrow();
        let locale = reception.locale();
        if self.shown_locale.get() != Some(locale) {
            if let Err(e) = slint::select_bundled_translation(locale.as_str()) {
                tracing::warn!(locale = locale.as_str(), error = %e, "cannot switch language");
            }
            self.shown_locale.set(Some(locale));
        }
        ui::apply(&self.ui, &reception);
        let health = Health {
            camera: if self.demo {
                genkan_core::wire::v1::camera_state::IMAGES
            } else {
                reception.camera().heartbeat()
            },
            last_scan_at: reception.last_scan_at(),
        };
        if self.reported.borrow().as_ref() != Some(&health) {
            self.network.report_health(health.clone());
            *self.reported.borrow_mut() = Some(health);
        }
    }

    fn handle(&self, event: Event) {
        use ui::Act as _;
        match event {
            Event::Decoded(text) => self.act(&mut |r| r.frame_decoded(&text)),
            Event::Camera(state) => self.act(&mut |r| {
                r.camera_changed(state);
                None
            }),
            Event::Reply(Reply::Answered { request_id, answer }) => {
                let mut answer = Some(answer);
                self.act(&mut |r| {
                    answer
                        .take()
                        .and_then(|answer| r.answered(&request_id, answer))
                });
            }
            Event::Reply(Reply::Hosts { query, result }) => {
                let mut result = Some(result);
                self.act(&mut |r| {
                    if let Some(result) = result.take() {
                        r.hosts_found(&query, result);
                    }
                    None
                });
            }
            Event::Reply(Reply::HostReplied { visit_id, reply }) => self.act(&mut |r| {
                r.host_replied(visit_id, &reply);
                None
            }),
            Event::Reply(Reply::Link(event)) => {
                if event == LinkEvent::Revoked {
                    tracing::error!("the server revoked this kiosk; pair it again");
                }
                self.act(&mut |r| {
                    r.network_changed(event == LinkEvent::Online);
                    None
                });
            }
            Event::Reply(Reply::Logo(png)) => match image::load_from_memory(&png) {
                Ok(logo) => ui::show_logo(&self.ui, &logo.to_rgba8()),
                Err(e) => tracing::warn!(error = %e, "the logo is not an image"),
            },
            Event::Reply(Reply::Paired(outcome)) => {
                let mut outcome = Some(outcome);
                self.act(&mut |r| {
                    if let Some(outcome) = outcome.take() {
                        r.paired(outcome);
                    }
                    None
                });
            }
            Event::Reply(Reply::Configured(config)) => self.act(&mut |r| {
                r.configured(&config);
                if let Some(locale) = self.pinned_locale {
                    r.pin_locale(locale);
                }
                None
            }),
        }
    }
}

/// Hands worker-thread results to the UI thread, only through
/// `Weak::upgrade_in_event_loop`.
#[derive(Clone)]
struct UiSink {
    window: slint::Weak<MainWindow>,
    preview_queued: Arc<AtomicBool>,
}

impl UiSink {
    fn send(&self, event: Event) {
        let queued = self.window.upgrade_in_event_loop(move |_| {
            let app = APP.with(|a| a.borrow().clone());
            if let Some(app) = app {
                app.handle(event);
            }
        });
        if queued.is_err() {
            tracing::debug!("the UI has closed; dropping an event");
        }
    }
}

impl FrameSink for UiSink {
    fn preview(&self, frame: &RgbImage) {
        // One preview in flight at most: if the UI is busy, this frame is skipped
        // rather than queued, so the preview never lags behind the camera.
        if self.preview_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let (w, h) = PREVIEW_MAX;
        let buffer = if frame.width() > w || frame.height() > h {
            ui::preview_image(&image::imageops::thumbnail(
                frame,
                w.min(frame.width() * h / frame.height()),
                h.min(frame.height() * w / frame.width()),
            ))
        } else {
            ui::preview_image(frame)
        };
        let queued = Arc::clone(&self.preview_queued);
        let _ = self.window.upgrade_in_event_loop(move |ui| {
            queued.store(false, Ordering::Release);
            ui::show_preview(&ui, buffer);
        });
    }

    fn camera(&self, state: CameraState) {
        self.send(Event::Camera(state));
    }

    fn decoded(&self, text: String) {
        self.send(Event::Decoded(text));
    }
}

/// The frame source the command line asks for, and the pause between its frames.
fn frame_source(args: &RunArgs) -> anyhow::Result<(SourceFactory, Duration)> {
    if let Some(dir) = &args.images {
        let frames = (args.seconds_per_image * DEMO_FPS as f32).round().max(1.0) as u32;
        let folder = crate::frames::files::ImageFolder::open(dir, frames)?;
        tracing::info!(images = folder.files().len(), dir = %dir.display(), "demo frames from image files");
        return Ok((
            Box::new(move || Box::new(folder)),
            Duration::from_millis(1000 / u64::from(DEMO_FPS)),
        ));
    }
    camera_source(args.camera, args.resolution)
}

#[cfg(feature = "camera")]
fn camera_source(
    index: Option<u32>,
    resolution: crate::cli::Resolution,
) -> anyhow::Result<(SourceFactory, Duration)> {
    let index = index.unwrap_or(0);
    Ok((
        Box::new(move || {
            Box::new(crate::frames::camera::CameraSource::new(
                index,
                resolution.width,
                resolution.height,
            ))
        }),
        Duration::ZERO,
    ))
}

#[cfg(not(feature = "camera"))]
fn camera_source(
    index: Option<u32>,
    _resolution: crate::cli::Resolution,
) -> anyhow::Result<(SourceFactory, Duration)> {
    if index.is_some() {
        tracing::warn!(
            "built without the `camera` feature: no camera; use --images DIR or the code pad"
        );
    }
    Ok((
        Box::new(|| Box::new(crate::frames::NoCamera)),
        Duration::ZERO,
    ))
}

/// Runs the kiosk window until it is closed.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<()> {
    let store = CredentialStore::new(args.config_dir.clone())?;
    let session = Session::load(&store, args.server.as_deref())?;
    let (source, interval) = frame_source(args)?;
    let ui = MainWindow::new().context("opening the kiosk window")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let pinned_locale = args.locale.map(Locale::from);
    let server_url = args
        .server
        .clone()
        .or_else(|| session.as_ref().map(|s| s.stored.server_url.clone()))
        .unwrap_or_default();
    let mut reception = Reception::new(
        Arc::clone(&clock),
        Settings {
            paired: session.is_some(),
            default_locale: pinned_locale.unwrap_or(Locale::Ja),
            server_url: server_url.clone(),
            request_prefix: format!("k{:016x}", rand::random::<u64>()),
            timing: Timing::default(),
        },
    );
    if session.is_some()
        && let Some(config) = crate::net::cached_config(store.dir())
    {
        // Until the server answers (it may be down): the last known names and options.
        reception.configured(&config);
    }
    if let Some(locale) = pinned_locale {
        reception.pin_locale(locale);
    }
    let sink = UiSink {
        window: ui.as_weak(),
        preview_queued: Arc::new(AtomicBool::new(false)),
    };
    let replies = sink.clone();
    let paired = session.is_some();
    let network = Network::start(store, session, Arc::clone(&clock), move |reply| {
        replies.send(Event::Reply(reply))
    })
    .context("starting the network thread")?;
    ui.global::<KioskAdapter<'_>>()
        .set_demo(args.images.is_some());
    ui.global::<KioskAdapter<'_>>()
        .set_kiosk_mode(args.fullscreen);
    let app = Rc::new(App {
        ui,
        reception: RefCell::new(reception),
        network,
        pinned_locale,
        shown_locale: Cell::new(None),
        demo: args.images.is_some(),
        reported: RefCell::new(None),
    });
    APP.with(|a| *a.borrow_mut() = Some(Rc::clone(&app)));
    ui::connect(&app.ui, &Rc::downgrade(&app));

    if paired {
        app.network.fetch_config();
    } else if let Some(code) = &args.pairing_code {
        use ui::Act as _;
        app.act(&mut |r| r.pair(&server_url, code));
    }
    let pump = FramePump::start(
        source,
        decode::default_decoder(),
        Arc::new(sink),
        interval,
        clock,
    )
    .context("starting the frame threads")?;

    let ticker = slint::Timer::default();
    let weak = Rc::downgrade(&app);
    ticker.start(slint::TimerMode::Repeated, TICK, move || {
        if let Some(app) = weak.upgrade() {
            use ui::Act as _;
            app.act(&mut |r| {
                r.tick();
                None
            });
        }
    });
    app.refresh();
    if args.fullscreen {
        app.ui.window().set_fullscreen(true);
    }
    let result = app.ui.run().context("running the kiosk window");
    drop(pump);
    APP.with(|a| a.borrow_mut().take());
    result
}
