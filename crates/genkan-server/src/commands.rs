//! What each CLI subcommand does. Commands that use the database go through
//! [`crate::operator`], which hands them to the running server (the one writer) or
//! runs them alone under the server lock.

pub mod audit;
pub mod backup;
pub mod lifecycle;
pub mod notice;
pub mod security;
pub mod setup;

pub use setup::random_password;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use genkan_core::SystemClock;
use genkan_store::KeyRing;
use tokio::net::TcpListener;

use crate::cli::ops::{BackupCommand, NoticeCommand, VisitorCommand};
use crate::cli::{AuditCommand, Command, ConfigCommand, KeysCommand, TenantCommand, TokenCommand};
use crate::config::{Config, EXAMPLE};
use crate::operator::Operation;
use crate::startup::{Application, open_store, shutdown_signal};
use crate::telemetry;

/// Runs one command to completion.
pub async fn run(command: Command) -> anyhow::Result<()> {
    let op = crate::operator::run;
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
        Command::Tenant(TenantCommand::Create(a)) => {
            let config = a.config.clone();
            op(
                &config,
                Operation::TenantCreate {
                    slug: a.slug,
                    name: a.name,
                    locale: a.locale,
                    time_zone: a.time_zone,
                    site: a.site,
                    admin_email: a.admin_email,
                    admin_name: a.admin_name,
                },
            )
            .await
        }
        Command::Tenant(TenantCommand::End(a)) => {
            let end = Operation::TenantEnd {
                tenant: a.tenant,
                date: a.date,
            };
            op(&a.config, end).await
        }
        Command::Tenant(TenantCommand::List(a)) => op(&a.config, Operation::TenantList).await,
        Command::Backup(BackupCommand::Now(a)) => op(&a.config, Operation::BackupNow).await,
        Command::Backup(BackupCommand::List(a)) => op(&a.config, Operation::BackupList).await,
        Command::Backup(BackupCommand::Verify { file, config }) => {
            backup::verify(&config, file.as_deref())
        }
        Command::Backup(BackupCommand::Restore(a)) => backup::restore(&a).await,
        Command::Notice(NoticeCommand::Publish(a)) => {
            let publish = Operation::NoticePublish {
                kind: a.kind,
                title: a.title,
                body: a.body,
                tenants: a.tenants,
                days: a.days,
            };
            op(&a.config, publish).await
        }
        Command::Notice(NoticeCommand::List(a)) => op(&a.config, Operation::NoticeList).await,
        Command::Visitor(VisitorCommand::Erase {
            tenant,
            visitor,
            config,
        }) => op(&config, Operation::VisitorErase { tenant, visitor }).await,
        Command::Token(TokenCommand::Create {
            config,
            tenant,
            user,
            scopes,
            days,
            refresh,
        }) => {
            let create = Operation::TokenCreate {
                tenant,
                user,
                scopes,
                days,
                refresh,
            };
            op(&config, create).await
        }
        Command::Audit(AuditCommand::Verify(a)) => {
            let anchors = audit::read_anchor_files(&a.anchor)?;
            op(&a.config, Operation::AuditVerify { anchors }).await
        }
        Command::RenderSandbox(_) => {
            anyhow::bail!("render-sandbox is started by the server, not from here")
        }
    }
}

async fn serve(path: &Path) -> anyhow::Result<()> {
    let mut config = Config::load(Some(path))?;
    config.resolve_secret_files()?;
    config.check_production()?;
    telemetry::init(&config.log);
    let _lock = crate::ops::lock::ServerLock::acquire(&config.data.dir)?;
    // Bound before the database opens: operator commands started meanwhile queue up.
    let control = crate::operator::ControlSocket::bind(&config.data.dir)?;
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
    let control = control.serve(app.state(), path.display().to_string());
    println!("genkan listening on {scheme}://{}", app.local_addr()?);
    tracing::info!(addr = %app.local_addr()?, "listening");
    let served = app.run_until_stopped(shutdown_signal()).await;
    control.stop().await;
    served
}
