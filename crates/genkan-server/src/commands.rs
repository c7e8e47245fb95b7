//! What each CLI subcommand does.

pub mod audit;
pub mod backup;
pub mod lifecycle;
pub mod notice;
pub mod security;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::Duration;
use genkan_core::access::{Role, Scope};
use genkan_core::tenant::{TimeZone, parse_slug};
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_core::{Clock, SystemClock};
use genkan_store::tenants::NewTenant;
use genkan_store::{AuditCtx, KeyRing, Store};
use tokio::net::TcpListener;

use crate::cli::{
    AuditCommand, Command, ConfigCommand, KeysCommand, TenantCommand, TenantCreate, TokenCommand,
};
use crate::config::{Config, EXAMPLE};
use crate::passwords::Passwords;
use crate::startup::{Application, open_store, shutdown_signal};
use crate::telemetry;

/// Runs one command to completion.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(&args.config).await,
        Command::Demo(args) => crate::demo::run(args).await,
        Command::DefaultConfig => {
            print!("{EXAMPLE}");
            Ok(())
        }
        Command::Config(ConfigCommand::Check(args)) => {
            let mut config = Config::load(Some(&args.config))?;
            config.resolve_secret_files()?;
            config.check_production()?;
            for warning in crate::config::ops::warnings(&config.backup, &config.metrics) {
                println!("warning: {warning}");
            }
            println!("{}: ok", args.config.display());
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate(args)) => security::rotate_keys(&args.config),
        Command::Tls(crate::cli::TlsCommand::SelfSigned { out, hostname }) => {
            let (cert, key) = crate::tls::generate_self_signed(&out, &hostname)?;
            println!("wrote {} and {} (mode 600)", cert.display(), key.display());
            Ok(())
        }
        Command::Keys(KeysCommand::Generate { out }) => {
            KeyRing::generate()
                .save_new(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} (mode 600); keep a copy in a safe place: without it the data cannot be read",
                out.display()
            );
            Ok(())
        }
        Command::Tenant(TenantCommand::Create(args)) => create_tenant(args).await,
        Command::Tenant(TenantCommand::End(args)) => lifecycle::end(args).await,
        Command::Tenant(TenantCommand::List(args)) => lifecycle::list(&args.config).await,
        Command::Backup(command) => backup::run(command).await,
        Command::Notice(crate::cli::ops::NoticeCommand::Publish(args)) => {
            notice::publish(args).await
        }
        Command::Notice(crate::cli::ops::NoticeCommand::List(args)) => {
            notice::list(&args.config).await
        }
        Command::Visitor(crate::cli::ops::VisitorCommand::Erase {
            tenant,
            visitor,
            config,
        }) => lifecycle::erase(&config, &tenant, visitor).await,
        Command::Token(TokenCommand::Create {
            config,
            tenant,
            user,
            scopes,
            days,
            refresh,
        }) => create_token(&config, &tenant, &user, &scopes, days, refresh).await,
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(&args).await,
    }
}

/// Loads a configuration file for an operator command and opens the store.
fn open_from(path: &Path) -> anyhow::Result<(Config, Store)> {
    let mut config = Config::load(Some(path))?;
    config.resolve_secret_files()?;
    let keys = KeyRing::load(&config.data.key_path())?;
    let store = open_store(&config, keys)?;
    Ok((config, store))
}

async fn serve(path: &Path) -> anyhow::Result<()> {
    let mut config = Config::load(Some(path))?;
    config.resolve_secret_files()?;
    config.check_production()?;
    telemetry::init(&config.log);
    let _lock = crate::ops::lock::ServerLock::acquire(&config.data.dir)?;
    for warning in crate::config::ops::warnings(&config.backup, &config.metrics) {
        tracing::warn!("{warning}");
    }
    let keys = KeyRing::load(&config.data.key_path())?;
    let store = open_store(&config, keys)?;
    let listener = TcpListener::bind(config.listen_addr()?)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let app = Application::build(config, store, Arc::new(SystemClock), listener)?;
    let scheme = if app.state().config.tls.files().is_some() {
        "https"
    } else {
        "http"
    };
    println!("genkan listening on {scheme}://{}", app.local_addr()?);
    tracing::info!(addr = %app.local_addr()?, "listening");
    app.run_until_stopped(shutdown_signal()).await
}

/// A strong random password for a first administrator (shown once).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 20] = rand::random();
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!(
        "{}-{}-{}-{}",
        &chars[..5],
        &chars[5..10],
        &chars[10..15],
        &chars[15..]
    )
}

async fn create_tenant(args: TenantCreate) -> anyhow::Result<()> {
    let (config, store) = open_from(&args.config)?;
    let Some(slug) = parse_slug(&args.slug) else {
        bail!("--slug must be 2-32 characters of a-z, 0-9 and -");
    };
    if store.tenant_by_slug(&slug).await?.is_some() {
        bail!("a tenant with slug {slug:?} exists already");
    }
    let name = OrgName::parse(&args.name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let locale = Locale::parse(&args.locale).map_err(|e| anyhow::anyhow!("--locale {e}"))?;
    let zone = TimeZone::parse(&args.time_zone)?;
    let email =
        EmailAddress::parse(&args.admin_email).map_err(|e| anyhow::anyhow!("--admin-email {e}"))?;
    let admin_name =
        DisplayName::parse(&args.admin_name).map_err(|e| anyhow::anyhow!("--admin-name {e}"))?;
    let site_name = OrgName::parse(&args.site).map_err(|e| anyhow::anyhow!("--site {e}"))?;
    let now = SystemClock.now();
    let tenant = store
        .create_tenant(
            NewTenant {
                slug: slug.clone(),
                name,
                default_locale: locale,
                time_zone: zone,
            },
            AuditCtx::system(None, now),
        )
        .await?;
    let ctx = AuditCtx::system(Some(tenant.id), now);
    let site = store
        .create_site(tenant.id, site_name, zone, String::new(), ctx.clone())
        .await?;
    let password = random_password();
    let passwords = Passwords::new(&config.auth);
    let hash = {
        let pw = password.clone();
        tokio::task::spawn_blocking(move || passwords.hash(&pw)).await?
    };
    let admin = store
        .create_user(tenant.id, email, admin_name, Role::Admin, Some(hash), ctx)
        .await?;
    println!(
        "{}",
        serde_json::json!({
            "tenant_id": tenant.id, "slug": slug, "site_id": site.id, "admin_id": admin.id,
            "admin_email": admin.email, "admin_password": password,
        })
    );
    Ok(())
}

async fn create_token(
    config: &Path,
    tenant: &str,
    user: &str,
    scopes: &str,
    days: i64,
    refresh: bool,
) -> anyhow::Result<()> {
    let (_, store) = open_from(config)?;
    let tenant = store
        .tenant_by_slug(tenant)
        .await?
        .with_context(|| format!("no tenant {tenant:?}"))?;
    let email = EmailAddress::parse(user).map_err(|e| anyhow::anyhow!("--user {e}"))?;
    let (owner, _) = store
        .user_credentials(tenant.id, &email)
        .await?
        .with_context(|| format!("no user {user:?} in {}", tenant.slug))?;
    let scopes = scopes
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| Scope::parse(s).with_context(|| format!("unknown scope {s:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = SystemClock.now();
    // With --refresh: a one-hour access token and a refresh token living `days`;
    // without: one access token living `days`.
    let (access_expires, refresh_ttl) = if refresh {
        (
            now + Duration::hours(1),
            Some(Duration::days(days.clamp(1, 3650))),
        )
    } else {
        (now + Duration::days(days.clamp(1, 3650)), None)
    };
    let issued = store
        .create_api_token(
            tenant.id,
            owner.id,
            "cli".to_owned(),
            scopes,
            Some(access_expires),
            refresh_ttl,
            AuditCtx::system(Some(tenant.id), now),
        )
        .await?;
    println!(
        "{}",
        serde_json::json!({"token_id": issued.token_id, "token": issued.access_token, "refresh_token": issued.refresh_token})
    );
    Ok(())
}
