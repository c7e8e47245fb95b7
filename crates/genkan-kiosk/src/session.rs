//! The kiosk's link to its server: the stored credential, pairing, and a client built from them.

use genkan_core::wire::v1::{ErrorCode, PairRequest, PairResponse};

use crate::client::{ClientError, KioskClient};
use crate::controller::{Branding, PairingIssue};
use crate::credential::{CredentialStore, StoredCredential};

/// A paired kiosk: where its server is and how it authenticates.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stored credential.
    pub stored: StoredCredential,
    /// A client using it.
    pub client: KioskClient,
}

/// Why pairing did not produce a session.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// The server refused or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Paired, but the credential could not be stored.
    #[error("paired, but the credential could not be stored: {0:#}")]
    Store(anyhow::Error),
}

impl PairError {
    /// The pairing screen's words for this failure.
    pub fn issue(&self) -> PairingIssue {
        match self {
            Self::Client(ClientError::Refused(e))
                if matches!(e.code, ErrorCode::Unauthorized | ErrorCode::NotFound) =>
            {
                PairingIssue::WrongCode
            }
            Self::Client(ClientError::Unreachable(_)) => PairingIssue::Unreachable,
            Self::Client(ClientError::InvalidServer(_)) => PairingIssue::InvalidServer,
            Self::Client(_) | Self::Store(_) => PairingIssue::Failed,
        }
    }
}

impl Session {
    /// The session stored in `store`, if the kiosk was paired. `server` (from the
    /// command line) overrides the stored server address.
    pub fn load(store: &CredentialStore, server: Option<&str>) -> anyhow::Result<Option<Self>> {
        let Some(mut stored) = store.load()? else {
            return Ok(None);
        };
        if let Some(server) = server {
            server.clone_into(&mut stored.server_url);
        }
        let client = KioskClient::new(&stored.server_url, Some(stored.credential.clone()))?;
        Ok(Some(Self { stored, client }))
    }

    /// Pairs with `server_url` using a one-time `code` and stores the credential.
    pub async fn pair(
        store: &CredentialStore,
        server_url: &str,
        code: &str,
    ) -> Result<(Self, PairResponse), PairError> {
        let anonymous = KioskClient::new(server_url, None)?;
        let paired = anonymous
            .pair(&PairRequest {
                pairing_code: code.trim().to_owned(),
                device_name: device_name(),
            })
            .await?;
        let stored = StoredCredential {
            server_url: anonymous.server_url().to_owned(),
            kiosk_id: paired.kiosk_id,
            credential: paired.credential.clone(),
        };
        store.save(&stored).map_err(PairError::Store)?;
        let client = KioskClient::new(&stored.server_url, Some(stored.credential.clone()))?;
        Ok((Self { stored, client }, paired))
    }
}

/// What the pairing screen shows after a successful pairing.
pub fn branding(paired: &PairResponse) -> Branding {
    Branding {
        organisation: paired.tenant_name.clone(),
        site: paired.site_name.clone(),
        color: None,
    }
}

/// This machine's host name, shown in the server's kiosk list.
fn device_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}
