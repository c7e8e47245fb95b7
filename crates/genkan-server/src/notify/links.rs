//! Signed reply links of arrival alerts: `<tenant>.<visit>.<message>.<c|w>.<expiry>.<mac>`
//! where the MAC is HMAC-SHA256 (key derived from the key file for this purpose
//! only) over the rest, truncated to 128 bits. A link names the alert it was sent
//! in, so the reply is attributed to that alert's recipient; it works until its
//! expiry and only once (the store keeps the hash of every used link).

use chrono::{DateTime, Utc};
use genkan_core::id::{MessageId, TenantId, VisitId};
use genkan_core::wire::v1::ReplyKind;
use genkan_store::KeyRing;
use sha2::{Digest as _, Sha256};

const PURPOSE: &str = "host-reply-link/v1";

/// A verified reply link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLink {
    /// Tenant.
    pub tenant: TenantId,
    /// Visit.
    pub visit: VisitId,
    /// The alert message the link was in.
    pub message: MessageId,
    /// The answer it gives.
    pub kind: ReplyKind,
    /// Unix time after which it no longer works.
    pub expires: i64,
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a link of ours (or altered).
    #[error("the link is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("the link has expired")]
    Expired,
}

fn payload(link: &ReplyLink) -> String {
    let k = match link.kind {
        ReplyKind::Coming => 'c',
        ReplyKind::Wait => 'w',
    };
    format!(
        "{}.{}.{}.{k}.{}",
        link.tenant, link.visit, link.message, link.expires
    )
}

fn tag(keys: &KeyRing, payload: &str) -> String {
    hex::encode(&keys.mac(PURPOSE, payload.as_bytes())[..16])
}

/// The token of `link`.
pub fn sign(keys: &KeyRing, link: &ReplyLink) -> String {
    let p = payload(link);
    let t = tag(keys, &p);
    format!("{p}.{t}")
}

/// Checks a token's MAC and expiry at `now`.
pub fn verify(keys: &KeyRing, token: &str, now: DateTime<Utc>) -> Result<ReplyLink, LinkError> {
    if token.len() > 200 {
        return Err(LinkError::Invalid);
    }
    let (p, t) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
    let expected = tag(keys, p);
    if !crate::web::session::constant_time_eq(expected.as_bytes(), t.as_bytes()) {
        return Err(LinkError::Invalid);
    }
    let parts: Vec<&str> = p.split('.').collect();
    let [tenant, visit, message, kind, expires] = parts.as_slice() else {
        return Err(LinkError::Invalid);
    };
    let num = |s: &str| s.parse::<i64>().map_err(|_| LinkError::Invalid);
    let link = ReplyLink {
        tenant: TenantId(num(tenant)?),
        visit: VisitId(num(visit)?),
        message: MessageId(num(message)?),
        kind: match *kind {
            "c" => ReplyKind::Coming,
            "w" => ReplyKind::Wait,
            _ => return Err(LinkError::Invalid),
        },
        expires: num(expires)?,
    };
    if now.timestamp() > link.expires {
        return Err(LinkError::Expired);
    }
    Ok(link)
}

/// What the store remembers of a used link.
pub fn hash(link: &ReplyLink) -> [u8; 32] {
    Sha256::digest(payload(link).as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> ReplyLink {
        ReplyLink {
            tenant: TenantId(3),
            visit: VisitId(17),
            message: MessageId(99),
            kind: ReplyKind::Coming,
            expires: 1_800_000_000,
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let keys = KeyRing::generate();
        let token = sign(&keys, &link());
        let before = DateTime::from_timestamp(1_799_999_999, 0).unwrap();
        assert_eq!(verify(&keys, &token, before), Ok(link()));
        let after = DateTime::from_timestamp(1_800_000_001, 0).unwrap();
        assert_eq!(verify(&keys, &token, after), Err(LinkError::Expired));
    }

    #[test]
    fn altered_links_and_other_keys_are_refused() {
        let keys = KeyRing::generate();
        let token = sign(&keys, &link());
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let wait = token.replacen(".c.", ".w.", 1);
        assert_eq!(verify(&keys, &wait, now), Err(LinkError::Invalid));
        let other_visit = token.replacen("3.17.", "3.18.", 1);
        assert_eq!(verify(&keys, &other_visit, now), Err(LinkError::Invalid));
        assert_eq!(
            verify(&KeyRing::generate(), &token, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(verify(&keys, "garbage", now), Err(LinkError::Invalid));
        assert_ne!(
            hash(&link()),
            hash(&ReplyLink {
                kind: ReplyKind::Wait,
                ..link()
            })
        );
    }
}
