//! HTTP client for the kiosk API (`/api/kiosk/v1`), speaking the shared wire types,
//! and the [`KioskApi`] trait through which the rest of the kiosk uses it (tests put
//! a fake server behind the same trait).
//!
//! Answers are classified once, here: a success body, a refusal (the server's
//! `ErrorBody`, matched on its `code` rather than the HTTP status), or a transport
//! failure, where the offline desk takes over check-ins.

use std::future::Future;
use std::time::Duration;

use genkan_core::wire::v1::{
    CheckInResponse, CheckOutResponse, ErrorBody, ErrorCode, Heartbeat, HostMatch, KioskConfig,
    PairRequest, PairResponse, PresentPass, ReplyPoll, Roster, WalkInRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long to wait for a TCP/TLS connection: a LAN server answers in milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a whole request may take before the visitor is told the server is unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);

/// Why a request did not produce a success body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: connection refused, DNS failure, timeout, connection dropped.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with a typed refusal.
    #[error("the server refused: {} ({})", .0.code, .0.message)]
    Refused(ErrorBody),
    /// The server answered something the kiosk does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The server URL itself is unusable.
    #[error("invalid server URL {0:?}: it must start with http:// or https://")]
    InvalidServer(String),
}

impl ClientError {
    /// Whether the server is out of reach or out of service, so that check-ins go to
    /// the offline desk: no answer, an answer that is not ours (a proxy's error page),
    /// or "busy / unexpected error; nothing was changed".
    pub fn server_down(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Protocol(_) => true,
            Self::Refused(body) => {
                matches!(body.code, ErrorCode::Unavailable | ErrorCode::Internal)
            }
            Self::InvalidServer(_) => false,
        }
    }

    /// The refusal code, if the server refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused(body) => Some(body.code),
            _ => None,
        }
    }
}

/// The kiosk API as the rest of the kiosk uses it.
pub trait KioskApi: Send + Sync + 'static {
    /// `GET /config`.
    fn config(&self) -> impl Future<Output = Result<KioskConfig, ClientError>> + Send;
    /// `POST /check-in`; `budget` shortens the wait (when the server is believed down).
    fn check_in(
        &self,
        pass: &PresentPass,
        budget: Option<Duration>,
    ) -> impl Future<Output = Result<CheckInResponse, ClientError>> + Send;
    /// `POST /check-out`.
    fn check_out(
        &self,
        pass: &PresentPass,
    ) -> impl Future<Output = Result<CheckOutResponse, ClientError>> + Send;
    /// `GET /roster`.
    fn roster(&self) -> impl Future<Output = Result<Roster, ClientError>> + Send;
    /// `POST /heartbeat`.
    fn heartbeat(&self, beat: &Heartbeat) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// `GET /hosts?q=`.
    fn hosts(
        &self,
        query: &str,
    ) -> impl Future<Output = Result<Vec<HostMatch>, ClientError>> + Send;
    /// `POST /walk-in`.
    fn walk_in(
        &self,
        request: &WalkInRequest,
    ) -> impl Future<Output = Result<CheckInResponse, ClientError>> + Send;
    /// `GET /visits/{id}/reply?wait_ms=`: waits up to `wait` for the host's reply.
    fn reply(
        &self,
        visit_id: i64,
        wait: Duration,
    ) -> impl Future<Output = Result<ReplyPoll, ClientError>> + Send;
    /// `GET /logo`: PNG bytes.
    fn logo(&self) -> impl Future<Output = Result<Vec<u8>, ClientError>> + Send;
}

/// A client bound to one server and, once paired, one kiosk credential.
#[derive(Debug, Clone)]
pub struct KioskClient {
    http: reqwest::Client,
    base: String,
    credential: Option<String>,
}

impl KioskClient {
    /// A client for `server_url`, authenticating with `credential` when given.
    pub fn new(server_url: &str, credential: Option<String>) -> Result<Self, ClientError> {
        let server = server_url.trim().trim_end_matches('/');
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(ClientError::InvalidServer(server_url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("genkan-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Protocol(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: format!("{server}/api/kiosk/v1"),
            credential,
        })
    }

    /// The server URL this client talks to (without the API path).
    pub fn server_url(&self) -> &str {
        self.base.trim_end_matches("/api/kiosk/v1")
    }

    /// `POST /pair`: exchanges a one-time pairing code for a device credential.
    pub async fn pair(&self, request: &PairRequest) -> Result<PairResponse, ClientError> {
        self.send(self.http.post(self.url("pair")).json(request))
            .await
    }

    /// `GET /config`: names and settings shown around the scanner.
    pub async fn config(&self) -> Result<KioskConfig, ClientError> {
        self.send(self.authed(self.http.get(self.url("config"))))
            .await
    }

    /// `POST /check-in` with a scanned token or typed code.
    pub async fn check_in(&self, pass: &PresentPass) -> Result<CheckInResponse, ClientError> {
        self.post("check-in", pass).await
    }

    /// `POST /check-out` with a scanned token or typed code.
    pub async fn check_out(&self, pass: &PresentPass) -> Result<CheckOutResponse, ClientError> {
        self.post("check-out", pass).await
    }

    /// `POST /check-in` giving up after `budget`.
    pub async fn check_in_within(
        &self,
        pass: &PresentPass,
        budget: Duration,
    ) -> Result<CheckInResponse, ClientError> {
        self.send(
            self.authed(self.http.post(self.url("check-in")).json(pass))
                .timeout(budget),
        )
        .await
    }

    /// `GET /roster`: the passes this kiosk may verify offline.
    pub async fn roster(&self) -> Result<Roster, ClientError> {
        self.send(self.authed(self.http.get(self.url("roster"))))
            .await
    }

    /// `POST /heartbeat`.
    pub async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), ClientError> {
        let response = self
            .authed(self.http.post(self.url("heartbeat")).json(beat))
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| unreachable(&e))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        classify::<serde_json::Value>(status, &body).map(|_| ())
    }

    /// `GET /hosts?q=`: a few hosts whose name contains `query` (3 characters or more).
    pub async fn hosts(&self, query: &str) -> Result<Vec<HostMatch>, ClientError> {
        let url = self.url_with("hosts", &[("q", query)])?;
        self.send(self.authed(self.http.get(url))).await
    }

    /// `POST /walk-in`.
    pub async fn walk_in(&self, request: &WalkInRequest) -> Result<CheckInResponse, ClientError> {
        self.post("walk-in", request).await
    }

    /// `GET /visits/{id}/reply?wait_ms=`: long-polls for the host's reply.
    pub async fn reply(&self, visit_id: i64, wait: Duration) -> Result<ReplyPoll, ClientError> {
        let wait_ms = wait.as_millis().to_string();
        let url = self.url_with(
            &format!("visits/{visit_id}/reply"),
            &[("wait_ms", wait_ms.as_str())],
        )?;
        self.send(
            self.authed(self.http.get(url))
                // The server holds the request for `wait`: allow for it.
                .timeout(wait + REQUEST_TIMEOUT),
        )
        .await
    }

    /// `GET /logo`: the tenant's logo (PNG).
    pub async fn logo(&self) -> Result<Vec<u8>, ClientError> {
        let response = self
            .authed(self.http.get(self.url("logo")))
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| unreachable(&e))?;
        if (200..300).contains(&status) {
            return Ok(body.to_vec());
        }
        classify::<serde_json::Value>(status, &body).map(|_| Vec::new())
    }

    /// `path` with a query string, each value encoded.
    fn url_with(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, ClientError> {
        reqwest::Url::parse_with_params(&self.url(path), query)
            .map_err(|e| ClientError::InvalidServer(format!("{}: {e}", self.base)))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credential {
            Some(credential) => request.bearer_auth(credential),
            None => request,
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(self.authed(self.http.post(self.url(path)).json(body)))
            .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request.send().await.map_err(|e| unreachable(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| unreachable(&e))?;
        classify(status.as_u16(), &body)
    }
}

impl KioskApi for KioskClient {
    async fn config(&self) -> Result<KioskConfig, ClientError> {
        KioskClient::config(self).await
    }
    async fn check_in(
        &self,
        pass: &PresentPass,
        budget: Option<Duration>,
    ) -> Result<CheckInResponse, ClientError> {
        match budget {
            Some(budget) => self.check_in_within(pass, budget).await,
            None => KioskClient::check_in(self, pass).await,
        }
    }
    async fn check_out(&self, pass: &PresentPass) -> Result<CheckOutResponse, ClientError> {
        KioskClient::check_out(self, pass).await
    }
    async fn roster(&self) -> Result<Roster, ClientError> {
        KioskClient::roster(self).await
    }
    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), ClientError> {
        KioskClient::heartbeat(self, beat).await
    }
    async fn hosts(&self, query: &str) -> Result<Vec<HostMatch>, ClientError> {
        KioskClient::hosts(self, query).await
    }
    async fn walk_in(&self, request: &WalkInRequest) -> Result<CheckInResponse, ClientError> {
        KioskClient::walk_in(self, request).await
    }
    async fn reply(&self, visit_id: i64, wait: Duration) -> Result<ReplyPoll, ClientError> {
        KioskClient::reply(self, visit_id, wait).await
    }
    async fn logo(&self) -> Result<Vec<u8>, ClientError> {
        KioskClient::logo(self).await
    }
}

fn unreachable(e: &reqwest::Error) -> ClientError {
    // Print the whole chain: "error sending request" alone does not say why.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ClientError::Unreachable(message)
}

/// Turns a status and body into a success value or a typed error. The error `code`
/// decides, not the status: a proxy's HTML error page is a protocol error.
fn classify<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ClientError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body)
            .map_err(|e| ClientError::Protocol(format!("HTTP {status}, unreadable body: {e}")));
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => Err(ClientError::Refused(error)),
        Err(_) => Err(ClientError::Protocol(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))),
    }
}

#[cfg(test)]
mod tests {
    use genkan_core::wire::v1::ErrorCode;

    use super::*;

    #[test]
    fn refusals_are_read_from_the_error_body_code() {
        let body = br#"{"code": "already_inside", "message": "Already checked in."}"#;
        let err = classify::<CheckInResponse>(409, body).unwrap_err();
        let ClientError::Refused(error) = err else {
            panic!("not a refusal: {err:?}");
        };
        assert_eq!(error.code, ErrorCode::AlreadyInside);
    }

    #[test]
    fn a_non_json_error_page_is_a_protocol_error_not_a_refusal() {
        let err = classify::<CheckInResponse>(502, b"<html>Bad gateway</html>").unwrap_err();
        assert!(
            matches!(err, ClientError::Protocol(ref m) if m.contains("502")),
            "{err:?}"
        );
    }

    #[test]
    fn a_server_url_must_be_http_or_https() {
        assert!(matches!(
            KioskClient::new("genkan.local:8080", None),
            Err(ClientError::InvalidServer(_))
        ));
        let client = KioskClient::new("http://127.0.0.1:8080/", None).unwrap();
        assert_eq!(client.server_url(), "http://127.0.0.1:8080");
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_unreachable() {
        // Bind then drop a listener: the port is closed, so the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client =
            KioskClient::new(&format!("http://127.0.0.1:{port}"), Some("x".to_owned())).unwrap();
        let pass = PresentPass {
            request_id: "req-00000001".to_owned(),
            token: None,
            code: Some("12345678".to_owned()),
            offline_at: None,
            token_hash: None,
        };
        let err = client.check_in(&pass).await.unwrap_err();
        assert!(matches!(err, ClientError::Unreachable(_)), "{err:?}");
    }
}
