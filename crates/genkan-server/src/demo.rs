//! `genkan demo`: a working installation in one command. The first run creates the
//! data directory, keys, a demo company with a site, an admin, two hosts, a paired
//! kiosk and today's appointments; later runs reuse all of it (adding appointments
//! for today when there are none).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{Duration, NaiveTime};
use genkan_core::access::{Role, Scope, Visibility};
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::tenant::{Tenant, TimeZone};
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_core::{Clock, SystemClock};
use genkan_store::tenants::NewTenant;
use genkan_store::{AuditCtx, KeyRing, Store};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::cli::DemoArgs;
use crate::commands::random_password;
use crate::config::{Config, MailTransport};
use crate::passwords::Passwords;
use crate::startup::{Application, open_store, shutdown_signal};
use crate::telemetry;

const SLUG: &str = "demo";

/// What the demo keeps between runs (file mode 600 in the data directory).
#[derive(Debug, Serialize, Deserialize)]
struct DemoSecrets {
    admin_email: String,
    admin_password: String,
    api_token: String,
}

/// The kiosk credential file, in the format `genkan-kiosk --config-dir` reads.
#[derive(Debug, Serialize)]
struct KioskCredentialFile<'a> {
    server_url: &'a str,
    kiosk_id: i64,
    credential: &'a str,
}

fn write_private(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content)?;
    Ok(())
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if !path.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .with_context(|| format!("creating {}", path.display()))?;
    }
    Ok(())
}

/// Runs the demo server.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    create_private_dir(&args.data)?;
    let key_path = args.data.join("genkan.key");
    if !key_path.exists() {
        KeyRing::generate().save_new(&key_path)?;
    }
    let mut base = Config::default();
    base.data.dir.clone_from(&args.data);
    base.server.listen.clone_from(&args.listen);
    base.mail.transport = MailTransport::File;
    base.mail.file_dir = Some(args.data.join("mail"));
    base.mail.from = "Genkan Demo <reception@demo.example>".to_owned();
    base.log.format = "text".to_owned();
    base.log.level = "warn".to_owned();
    let mut config = Config::load_over(&base, args.config.as_deref())?;
    config.resolve_secret_files()?;
    telemetry::init(&config.log);
    // One writer: operator commands reach this process over its control socket.
    let _lock = crate::ops::lock::ServerLock::acquire(&config.data.dir)?;
    let control = crate::operator::ControlSocket::bind(&config.data.dir)?;
    let keys = KeyRing::load(&config.data.key_path())?;
    let store = open_store(&config, keys)?;
    let listener = TcpListener::bind(config.listen_addr()?)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    if config.server.public_url.is_empty() {
        config.server.public_url.clone_from(&url);
    }
    println!("genkan listening on {url}");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let passwords = Passwords::new(&config.auth);
    let info = seed(&store, clock.as_ref(), &passwords, &args.data, &url).await?;
    print_banner(&url, &args.data, &info, &config);
    let config_name = args.config.as_ref().map_or_else(
        || "the demo's configuration".to_owned(),
        |p| p.display().to_string(),
    );
    let app = Application::build(config, store, clock, listener)?;
    let control = control.serve(app.state(), config_name);
    let served = app.run_until_stopped(shutdown_signal()).await;
    control.stop().await;
    served
}

struct SeedInfo {
    secrets: DemoSecrets,
    sample_code: Option<String>,
    sample_visitor: Option<String>,
    passes_dir: PathBuf,
    kiosk_dir: PathBuf,
}

async fn seed(
    store: &Store,
    clock: &dyn Clock,
    passwords: &Passwords,
    data: &Path,
    url: &str,
) -> anyhow::Result<SeedInfo> {
    let secrets_path = data.join("demo-credentials.json");
    let passes_dir = data.join("demo-passes");
    let kiosk_dir = data.join("kiosk");
    let now = clock.now();
    let (tenant, secrets) = match store.tenant_by_slug(SLUG).await? {
        Some(t) => {
            let text = std::fs::read_to_string(&secrets_path).with_context(|| {
                format!(
                    "reading {} (delete the data directory to start over)",
                    secrets_path.display()
                )
            })?;
            (t, serde_json::from_str(&text)?)
        }
        None => {
            let (t, s) = create_company(store, passwords, now, data, url).await?;
            write_private(&secrets_path, serde_json::to_string_pretty(&s)?.as_bytes())?;
            (t, s)
        }
    };
    create_private_dir(&passes_dir)?;
    let (sample_visitor, sample_code) =
        todays_appointments(store, &tenant, now, &passes_dir).await?;
    Ok(SeedInfo {
        secrets,
        sample_code,
        sample_visitor,
        passes_dir,
        kiosk_dir,
    })
}

async fn create_company(
    store: &Store,
    passwords: &Passwords,
    now: chrono::DateTime<chrono::Utc>,
    data: &Path,
    url: &str,
) -> anyhow::Result<(Tenant, DemoSecrets)> {
    let zone = TimeZone::default();
    let tenant = store
        .create_tenant(
            NewTenant {
                slug: SLUG.to_owned(),
                name: OrgName::parse("Demo Corporation")?,
                default_locale: Locale::Ja,
                time_zone: zone,
            },
            AuditCtx::system(None, now),
        )
        .await?;
    let ctx = AuditCtx::system(Some(tenant.id), now);
    let site = store
        .create_site(
            tenant.id,
            OrgName::parse("Tokyo HQ")?,
            zone,
            "1-1 Marunouchi, Chiyoda-ku, Tokyo".to_owned(),
            ctx.clone(),
        )
        .await?;
    let admin_password = random_password();
    let hash = passwords.hash(&admin_password);
    let admin = store
        .create_user(
            tenant.id,
            EmailAddress::parse("admin@demo.example")?,
            DisplayName::parse("Demo Admin")?,
            Role::Admin,
            Some(hash),
            ctx.clone(),
        )
        .await?;
    for (email, name) in [
        ("tanaka@demo.example", "田中 一郎"),
        ("suzuki@demo.example", "Suzuki Yumi"),
    ] {
        let hash = passwords.hash(&random_password());
        store
            .create_user(
                tenant.id,
                EmailAddress::parse(email)?,
                DisplayName::parse(name)?,
                Role::Host,
                Some(hash),
                ctx.clone(),
            )
            .await?;
    }
    let kiosk = store
        .create_kiosk(tenant.id, site.id, "Lobby kiosk".to_owned(), ctx.clone())
        .await?;
    let paired = store
        .pair_kiosk(
            &kiosk.pairing_code,
            Some("demo".to_owned()),
            AuditCtx::system(Some(tenant.id), now),
        )
        .await?
        .map_err(|e| anyhow::anyhow!("pairing the demo kiosk: {e}"))?;
    let kiosk_dir = data.join("kiosk");
    create_private_dir(&kiosk_dir)?;
    let file = KioskCredentialFile {
        server_url: url,
        kiosk_id: paired.kiosk_id,
        credential: &paired.credential,
    };
    write_private(
        &kiosk_dir.join("credential.json"),
        serde_json::to_string_pretty(&file)?.as_bytes(),
    )?;
    let api_token = store
        .create_api_token(
            tenant.id,
            admin.id,
            "demo".to_owned(),
            vec![Scope::Admin],
            None,
            None,
            ctx,
        )
        .await?
        .access_token;
    Ok((
        tenant,
        DemoSecrets {
            admin_email: admin.email,
            admin_password,
            api_token,
        },
    ))
}

/// Creates today's demo appointments unless some exist; returns one sample pass.
async fn todays_appointments(
    store: &Store,
    tenant: &Tenant,
    now: chrono::DateTime<chrono::Utc>,
    passes_dir: &Path,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let site = store
        .sites(tenant.id)
        .await?
        .into_iter()
        .next()
        .context("demo site missing")?;
    let zone = site.time_zone;
    let today = zone.local_date(now);
    let (day_start, day_end) = zone.days_window(today, today);
    if !store
        .appointments_between(tenant.id, Visibility::Tenant, day_start, day_end)
        .await?
        .is_empty()
    {
        return Ok((None, None));
    }
    let hosts: Vec<_> = store
        .users(tenant.id)
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Host)
        .collect();
    let at = |h: u32, m: u32| {
        let local = today.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN));
        zone.start_of_day(today) + (local - today.and_time(NaiveTime::MIN))
    };
    let plan = [
        (
            0usize,
            10,
            "Design review",
            vec![
                ("佐藤 花子", "Example KK", "ja"),
                ("高橋 健", "Example KK", "ja"),
            ],
        ),
        (
            1usize,
            14,
            "Partnership meeting",
            vec![("John Smith", "Contoso Ltd", "en")],
        ),
        (0usize, 16, "Interview", vec![("山田 太郎", "", "ja")]),
    ];
    let mut sample = (None, None);
    for (host_index, hour, title, visitors) in plan {
        let Some(host) = hosts.get(host_index) else {
            continue;
        };
        let input = AppointmentInput {
            site_id: site.id,
            host_id: host.id,
            title: Some(title.to_owned()),
            starts_at: at(hour, 0),
            ends_at: at(hour, 0) + Duration::hours(1),
            valid_from_date: None,
            valid_until_date: None,
            visitors: visitors
                .iter()
                .enumerate()
                .map(|(i, (name, company, locale))| VisitorInput {
                    name: (*name).to_owned(),
                    company: (!company.is_empty()).then(|| (*company).to_owned()),
                    email: Some(format!("visitor{hour}-{i}@visitor.example")),
                    phone: None,
                    locale: Some((*locale).to_owned()),
                })
                .collect(),
        };
        let new = input
            .validate(tenant.default_locale)
            .map_err(|e| anyhow::anyhow!("demo appointment: {e:?}"))?;
        let created = store
            .create_appointment(tenant.id, new, AuditCtx::system(Some(tenant.id), now))
            .await?
            .map_err(|e| anyhow::anyhow!("demo appointment: {e}"))?;
        for (pass, visitor) in created.passes.iter().zip(&created.appointment.visitors) {
            let png = crate::notify::qr::png(&pass.token)?;
            let file = passes_dir.join(format!("pass-{}.png", visitor.id));
            std::fs::write(&file, png)?;
            if sample.0.is_none() {
                sample = (Some(visitor.name.clone()), Some(pass.code.display()));
            }
        }
    }
    Ok(sample)
}

fn print_banner(url: &str, data: &Path, info: &SeedInfo, config: &Config) {
    let mail = match config.mail.transport {
        MailTransport::File => format!(
            "written as .eml files to {}",
            config.mail.file_dir.as_deref().unwrap_or(data).display()
        ),
        MailTransport::Smtp => format!("sent through {}:{}", config.mail.host, config.mail.port),
        MailTransport::None => "not sent (mail.transport = \"none\")".to_owned(),
    };
    println!();
    println!("Genkan demo is running at {url}");
    println!("  Organisation ID : {SLUG}");
    println!(
        "  Admin sign-in   : {} / {}",
        info.secrets.admin_email, info.secrets.admin_password
    );
    println!("  Admin API token : {}", info.secrets.api_token);
    match (&info.sample_visitor, &info.sample_code) {
        (Some(v), Some(c)) => println!(
            "  Sample pass     : {v} — code {c} (QR images in {})",
            info.passes_dir.display()
        ),
        _ => println!(
            "  Sample passes   : QR images of today's visitors are in {}",
            info.passes_dir.display()
        ),
    }
    println!(
        "  Kiosk           : genkan-kiosk run --config-dir {} --images {}",
        info.kiosk_dir.display(),
        info.passes_dir.display()
    );
    println!("  Mail            : {mail}");
    println!(
        "  Data            : {} (delete it to start over)",
        data.display()
    );
    println!("Press Ctrl-C to stop.");
}
