//! Outgoing HTTP (Slack, Teams, webhooks) that cannot be turned against the inside:
//! URLs must resolve only to public addresses (unless the operator allows private
//! networks), the resolver re-checks at connect time (no DNS rebinding), redirects
//! are not followed, and TLS certificates are verified.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an outbound URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Not a URL.
    #[error("not a valid URL")]
    Invalid,
    /// Only https (and http when private networks are allowed).
    #[error("only https URLs are allowed")]
    Scheme,
    /// Resolves to loopback, private, link-local or metadata addresses.
    #[error("the address is not public ({0}); private networks are not allowed by the operator")]
    NotPublic(String),
    /// The name does not resolve.
    #[error("the host name does not resolve")]
    Unresolvable,
}

/// Whether `ip` is a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match crate::request::canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // Only global unicast (2000::/3) can be public: this leaves out at once the
            // IPv4-compatible `::a.b.c.d` form, site-local fec0::/10, unique local
            // fc00::/7, link local, multicast, NAT64 (64:ff9b::/96) and discard-only
            // 100::/64. Inside 2000::/3, the ranges that are documentation or embed an
            // arbitrary IPv4 address are refused too.
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                && !(s[0] == 0x2001 && s[1] == 0x0000) // Teredo (embeds IPv4)
                && s[0] != 0x2002 // 6to4 (embeds IPv4)
        }
    }
}

/// Checks a webhook URL before it is stored or used.
pub async fn check_webhook_url(url: &str, allow_private: bool) -> Result<Url, OutboundError> {
    let parsed = Url::parse(url).map_err(|_| OutboundError::Invalid)?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(OutboundError::Scheme),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(OutboundError::Invalid);
    }
    let host = parsed.host_str().ok_or(OutboundError::Invalid)?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    if allow_private {
        return Ok(parsed);
    }
    let addrs: Vec<SocketAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| OutboundError::Unresolvable)?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(OutboundError::Unresolvable);
    }
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(OutboundError::NotPublic(bad.ip().to_string()));
    }
    Ok(parsed)
}

/// A resolver that drops non-public addresses, so a name that changes its answer
/// after the check still cannot reach the inside.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client for all outgoing webhook traffic.
pub fn client(timeout_secs: u64, allow_private: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs.max(1)))
        .connect_timeout(Duration::from_secs(timeout_secs.clamp(1, 10)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Genkan/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(PublicOnly).https_only(true);
    }
    builder.build().unwrap_or_default()
}

/// Refuses an IP-literal URL to a non-public address at send time (the resolver is
/// not consulted for literals).
pub fn literal_allowed(url: &Url, allow_private: bool) -> bool {
    if allow_private {
        return true;
    }
    match url.host() {
        Some(url::Host::Ipv4(v4)) => is_public(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => is_public(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_targets_are_refused() {
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://10.1.2.3/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://[::127.0.0.1]/",
            "https://[fec0::1]/",
            "https://localhost/",
        ] {
            let r = check_webhook_url(url, false).await;
            assert!(r.is_err(), "{url} allowed: {r:?}");
        }
        assert_eq!(
            check_webhook_url("http://hooks.slack.com/x", false).await,
            Err(OutboundError::Scheme)
        );
        assert_eq!(
            check_webhook_url("ftp://x", true).await,
            Err(OutboundError::Scheme)
        );
        assert!(
            check_webhook_url("http://127.0.0.1:9/x", true)
                .await
                .is_ok()
        );
    }

    #[test]
    fn public_addresses_are_public() {
        assert!(is_public("8.8.8.8".parse().unwrap()));
        assert!(is_public("2606:4700::1111".parse().unwrap()));
        assert!(!is_public("100.64.0.1".parse().unwrap()));
        assert!(!is_public("fe80::1".parse().unwrap()));
    }

    #[test]
    fn every_non_global_ipv6_form_is_refused() {
        for ip in [
            "::127.0.0.1",       // IPv4-compatible loopback
            "::10.0.0.1",        // IPv4-compatible private
            "::169.254.169.254", // IPv4-compatible metadata
            "fec0::1",           // site-local
            "feff::1",           // site-local, top of the range
            "fc00::1",           // unique local
            "ff02::1",           // multicast
            "100::1",            // discard-only
            "64:ff9b::7f00:1",   // NAT64 of 127.0.0.1
            "2001::7f00:1",      // Teredo
            "2002:7f00:1::1",    // 6to4 of 127.0.0.1
            "2001:db8::1",       // documentation
            "::ffff:127.0.0.1",  // IPv4-mapped loopback
            "::",
            "::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        assert!(is_public("2400:4050::1".parse().unwrap()));
    }
}
