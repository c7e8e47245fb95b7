//! One IdP's discovery document and key set, kept fresh: discovery refreshed hourly, the
//! key set refetched when a token names an unknown key (at most once per five minutes).

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use reqwest::Client;
use url::Url;

use super::{OidcConfig, OidcError};
use crate::http::fetch_json;

/// How long a discovery document (and the key set fetched with it) is used before refresh.
pub const DISCOVERY_TTL: Duration = Duration::hours(1);
/// The shortest time between two key-set fetches caused by unknown keys.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::minutes(5);

/// A discovery document and key set, and when they were fetched.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub(crate) metadata: CoreProviderMetadata,
    pub(crate) jwks: CoreJsonWebKeySet,
    pub(crate) discovered_at: DateTime<Utc>,
    pub(crate) jwks_fetched_at: DateTime<Utc>,
}

/// A tenant's OIDC identity provider as seen by Genkan. Cheap to share (`Arc` inside);
/// keep one per tenant configuration and rebuild it when the settings change.
#[derive(Clone)]
pub struct OidcProvider {
    pub(crate) config: Arc<OidcConfig>,
    pub(crate) http: Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// Serialises refreshes so a burst of sign-ins fetches once.
    refresh_gate: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Fetches `{issuer}/.well-known/openid-configuration` and the key set it names, over
    /// the caller's client (which should not follow redirects). The document's `issuer`
    /// must equal the configured one exactly.
    pub async fn discover(
        config: OidcConfig,
        http: Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OidcError> {
        validate_config(&config)?;
        let now = clock.now();
        let snapshot = fetch_snapshot(&config, &http, now).await?;
        Ok(Self {
            config: Arc::new(config),
            http,
            clock,
            snapshot: Arc::new(RwLock::new(Arc::new(snapshot))),
            refresh_gate: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The settings this provider was built with.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The ids (`kid`) of the keys currently trusted, for diagnostics and tests.
    pub fn key_ids(&self) -> Vec<String> {
        self.current()
            .jwks
            .keys()
            .iter()
            .filter_map(|k| openidconnect::JsonWebKey::key_id(k).map(|id| id.to_string()))
            .collect()
    }

    /// When the key set in use was fetched.
    pub fn keys_fetched_at(&self) -> DateTime<Utc> {
        self.current().jwks_fetched_at
    }

    pub(crate) fn current(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, snapshot: Snapshot) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
    }

    /// The snapshot to use now: refreshed first when older than [`DISCOVERY_TTL`]. A
    /// failed refresh keeps the old document (the IdP may be briefly down) and is logged.
    pub(crate) async fn fresh(&self) -> Arc<Snapshot> {
        let now = self.clock.now();
        if now - self.current().discovered_at < DISCOVERY_TTL {
            return self.current();
        }
        let _gate = self.refresh_gate.lock().await;
        let current = self.current();
        if now - current.discovered_at < DISCOVERY_TTL {
            return current;
        }
        match fetch_snapshot(&self.config, &self.http, now).await {
            Ok(snapshot) => self.replace(snapshot),
            Err(error) => {
                tracing::warn!(issuer = %self.config.issuer, code = error.code(), %error, "OIDC discovery refresh failed; keeping the previous document");
                // Try again no sooner than the key-set interval.
                let mut kept = (*current).clone();
                kept.discovered_at = now - DISCOVERY_TTL + JWKS_REFETCH_INTERVAL;
                self.replace(kept);
            }
        }
        self.current()
    }

    /// Refetches the key set after a token named a key we do not hold, unless the last
    /// fetch was less than [`JWKS_REFETCH_INTERVAL`] ago. Returns whether keys were
    /// fetched (and so whether a retry can help).
    pub(crate) async fn refetch_keys_for_unknown_kid(&self) -> Result<bool, OidcError> {
        let now = self.clock.now();
        let _gate = self.refresh_gate.lock().await;
        let current = self.current();
        if now - current.jwks_fetched_at < JWKS_REFETCH_INTERVAL {
            return Ok(false);
        }
        let jwks = fetch_jwks(&current.metadata, &self.http).await;
        let mut next = (*current).clone();
        // Even a failed fetch counts toward the interval: an attacker's unknown kids must not
        // turn into a stream of requests to the IdP.
        next.jwks_fetched_at = now;
        if let Ok(jwks) = &jwks {
            next.jwks = jwks.clone();
        }
        self.replace(next);
        jwks.map(|_| true)
    }
}

fn validate_config(config: &OidcConfig) -> Result<(), OidcError> {
    let issuer =
        Url::parse(&config.issuer).map_err(|e| OidcError::Config(format!("issuer: {e}")))?;
    if issuer.scheme() != "https" && !is_loopback(&issuer) {
        return Err(OidcError::Config("the issuer must be an https URL".into()));
    }
    Url::parse(&config.redirect_url)
        .map_err(|e| OidcError::Config(format!("redirect URL: {e}")))?;
    if config.client_id.is_empty() {
        return Err(OidcError::Config("the client id is empty".into()));
    }
    Ok(())
}

/// Plain http is accepted only for loopback issuers (tests, a local Keycloak).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

async fn fetch_snapshot(
    config: &OidcConfig,
    http: &Client,
    now: DateTime<Utc>,
) -> Result<Snapshot, OidcError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        config.issuer.trim_end_matches('/')
    );
    let (_, metadata): (_, CoreProviderMetadata) =
        fetch_json(http.get(&url).header("accept", "application/json")).await?;
    if metadata.issuer().as_str() != config.issuer {
        return Err(OidcError::DiscoveryIssuerMismatch {
            found: metadata.issuer().to_string(),
        });
    }
    let jwks = fetch_jwks(&metadata, http).await?;
    Ok(Snapshot {
        metadata,
        jwks,
        discovered_at: now,
        jwks_fetched_at: now,
    })
}

async fn fetch_jwks(
    metadata: &CoreProviderMetadata,
    http: &Client,
) -> Result<CoreJsonWebKeySet, OidcError> {
    let (_, jwks) = fetch_json(
        http.get(metadata.jwks_uri().url().as_str())
            .header("accept", "application/json"),
    )
    .await?;
    Ok(jwks)
}
