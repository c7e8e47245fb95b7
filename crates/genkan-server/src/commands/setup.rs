//! `genkan tenant create` and `genkan token create`.

use anyhow::{Context as _, bail};
use chrono::Duration;
use genkan_core::access::{Role, Scope};
use genkan_core::tenant::{TimeZone, parse_slug};
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_store::tenants::NewTenant;

use crate::operator::exec::OpCtx;
use crate::passwords::Passwords;

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

/// The arguments of `genkan tenant create`.
#[derive(Debug, Clone)]
pub struct NewTenantArgs {
    /// Organisation id.
    pub slug: String,
    /// Company name.
    pub name: String,
    /// Default language.
    pub locale: String,
    /// Time zone of the first site.
    pub time_zone: String,
    /// Name of the first site.
    pub site: String,
    /// First administrator's address.
    pub admin_email: String,
    /// First administrator's name.
    pub admin_name: String,
}

/// `genkan tenant create`: a tenant with its first site and administrator.
pub async fn create_tenant(ctx: &OpCtx, args: NewTenantArgs) -> anyhow::Result<()> {
    let store = &ctx.store;
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
    let now = ctx.now();
    let tenant = store
        .create_tenant(
            NewTenant {
                slug: slug.clone(),
                name,
                default_locale: locale,
                time_zone: zone,
            },
            ctx.audit(None, now),
        )
        .await?;
    let audit = ctx.audit(Some(tenant.id), now);
    let site = store
        .create_site(tenant.id, site_name, zone, String::new(), audit.clone())
        .await?;
    let password = random_password();
    let passwords = Passwords::new(&ctx.config.auth);
    let hash = {
        let pw = password.clone();
        tokio::task::spawn_blocking(move || passwords.hash(&pw)).await?
    };
    let admin = store
        .create_user(tenant.id, email, admin_name, Role::Admin, Some(hash), audit)
        .await?;
    ctx.console.println(
        serde_json::json!({
            "tenant_id": tenant.id, "slug": slug, "site_id": site.id, "admin_id": admin.id,
            "admin_email": admin.email, "admin_password": password,
        })
        .to_string(),
    );
    Ok(())
}

/// `genkan token create`: an API token acting as a user, printed once.
pub async fn create_token(
    ctx: &OpCtx,
    tenant: &str,
    user: &str,
    scopes: &str,
    days: i64,
    refresh: bool,
) -> anyhow::Result<()> {
    let store = &ctx.store;
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
    let now = ctx.now();
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
            ctx.audit(Some(tenant.id), now),
        )
        .await?;
    ctx.console.println(
        serde_json::json!({"token_id": issued.token_id, "token": issued.access_token, "refresh_token": issued.refresh_token})
            .to_string(),
    );
    Ok(())
}
