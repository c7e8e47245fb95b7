//! Carries out one operation with a store: the running server's own (a request on
//! the control socket) or the one a command opened alone under the server lock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use genkan_core::Clock;
use genkan_core::id::TenantId;
use genkan_store::{AuditCtx, Store};

use super::console::Console;
use super::protocol::Operation;
use crate::commands::{audit, backup, lifecycle, notice, setup};
use crate::config::Config;

/// What an operation runs with.
#[derive(Clone)]
pub struct OpCtx {
    /// The store (the one writer).
    pub store: Store,
    /// The configuration of whoever runs the operation.
    pub config: Arc<Config>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Where output goes.
    pub console: Console,
    /// Whether the operator's terminal shows stderr (progress on one line).
    pub tty: bool,
    /// Names the configuration in messages (its file).
    pub config_name: String,
    /// Id of the control request, carried into the audit log.
    pub request_id: Option<String>,
}

impl OpCtx {
    /// Now, by the clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The audit context of the operator acting in `tenant` at `at`.
    pub fn audit(&self, tenant: Option<TenantId>, at: DateTime<Utc>) -> AuditCtx {
        AuditCtx {
            request_id: self.request_id.clone(),
            ..AuditCtx::operator(tenant, at)
        }
    }
}

/// Runs `op`; its output goes to `ctx.console`.
pub async fn run(ctx: &OpCtx, op: Operation) -> anyhow::Result<()> {
    match op {
        Operation::TenantCreate {
            slug,
            name,
            locale,
            time_zone,
            site,
            admin_email,
            admin_name,
        } => {
            setup::create_tenant(
                ctx,
                setup::NewTenantArgs {
                    slug,
                    name,
                    locale,
                    time_zone,
                    site,
                    admin_email,
                    admin_name,
                },
            )
            .await
        }
        Operation::TenantEnd { tenant, date } => lifecycle::end(ctx, &tenant, &date).await,
        Operation::TenantList => lifecycle::list(ctx).await,
        Operation::TokenCreate {
            tenant,
            user,
            scopes,
            days,
            refresh,
        } => setup::create_token(ctx, &tenant, &user, &scopes, days, refresh).await,
        Operation::AuditVerify { anchors } => audit::verify(ctx, anchors).await,
        Operation::BackupNow => backup::now(ctx).await,
        Operation::BackupList => backup::list(ctx).await,
        Operation::NoticePublish {
            kind,
            title,
            body,
            tenants,
            days,
        } => notice::publish(ctx, &kind, &title, &body, tenants.as_deref(), days).await,
        Operation::NoticeList => notice::list(ctx).await,
        Operation::VisitorErase { tenant, visitor } => {
            lifecycle::erase(ctx, &tenant, visitor).await
        }
    }
}
