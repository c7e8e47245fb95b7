//! Per-request context: a request id (from a trusted `X-Request-Id` or freshly made)
//! and the client's address as seen on the socket, or via a trusted proxy only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng as _;

use crate::error::ApiError;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Header carrying the request id back to the client.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, if inside one.
pub fn current_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Which peers may tell us the client's address.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<Vec<IpAddr>>);

/// Normalises IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1` → `127.0.0.1`).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Works out the client address: the socket peer, unless the peer is a trusted
/// proxy, in which case the right-most untrusted `X-Forwarded-For` entry.
pub fn client_ip(parts: &Parts, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| canonical(c.0.ip()))?;
    if !trusted.0.contains(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.0.contains(ip))
            .unwrap_or(peer),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .ok_or_else(|| ApiError::internal("client address missing"))
    }
}

/// The request id as an extractor.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(current_id().unwrap_or_default()))
    }
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Middleware: assigns the request id and client address, and echoes the id.
pub async fn context(
    State(trusted): State<TrustedProxies>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // HTTP/2 carries the host in the `:authority` pseudo-header, not in `Host`;
    // the origin checks of form posts compare against `Host`, so give it one.
    if !parts.headers.contains_key(axum::http::header::HOST)
        && let Some(authority) = parts.uri.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        parts.headers.insert(axum::http::header::HOST, host);
    }
    let ip = client_ip(&parts, &trusted);
    // A client-supplied id is only kept from trusted proxies, and only if plain.
    let supplied = parts
        .headers
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| genkan_core::wire::v1::valid_request_id(v))
        .map(str::to_owned);
    let from_proxy = ip.is_some()
        && parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| trusted.0.contains(&canonical(c.0.ip())));
    let id = supplied
        .filter(|_| from_proxy)
        .unwrap_or_else(new_request_id);
    if let Some(ip) = ip {
        parts.extensions.insert(ClientIp(ip));
    }
    let request = Request::from_parts(parts, body);
    // Every log line written while serving the request carries its id (the JSON
    // log lists the enclosing spans).
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = REQUEST_ID
        .scope(
            id.clone(),
            tracing::Instrument::instrument(next.run(request), span),
        )
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER.clone(), v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request as HttpRequest;

    fn parts(peer: &str, xff: Option<&str>) -> Parts {
        let mut builder = HttpRequest::builder().uri("/");
        if let Some(x) = xff {
            builder = builder.header("x-forwarded-for", x);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn spoofed_forwarded_for_is_ignored_from_untrusted_peers() {
        let trusted = TrustedProxies::default();
        let p = parts("127.0.0.3:5000", Some("127.0.0.2"));
        assert_eq!(client_ip(&p, &trusted), Some("127.0.0.3".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_rightmost_untrusted_address() {
        let trusted = TrustedProxies(Arc::new(vec!["10.0.0.1".parse().unwrap()]));
        let p = parts("10.0.0.1:5000", Some("1.2.3.4, 203.0.113.9, 10.0.0.1"));
        assert_eq!(
            client_ip(&p, &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_normalised() {
        let trusted = TrustedProxies::default();
        let p = parts("[::ffff:127.0.0.2]:5000", None);
        assert_eq!(client_ip(&p, &trusted), Some("127.0.0.2".parse().unwrap()));
    }
}
