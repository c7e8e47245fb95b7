//! Configuration: documented defaults → `genkan.toml` → `GENKAN_*` environment
//! variables (`__` separates levels, e.g. `GENKAN_MAIL__HOST`); secrets may also come
//! from `*_file` settings. Every secret is redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The commented example configuration printed by `genkan default-config`.
pub const EXAMPLE: &str = include_str!("../../../assets/genkan.example.toml");

pub mod ops;
pub mod templates;
pub use ops::{BackupConfig, LifecycleConfig, MetricsConfig, ReadinessConfig};
pub use templates::TemplatesConfig;

/// A secret string: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself; use only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"<redacted>\""
        })
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listener and public address.
    pub server: ServerConfig,
    /// Where data and keys live.
    pub data: DataConfig,
    /// Outgoing e-mail.
    pub mail: MailConfig,
    /// Outgoing HTTP (Slack and webhooks).
    pub outbound: OutboundConfig,
    /// Notification delivery: retries, parallelism, reply links.
    pub notify: NotifyConfig,
    /// Limits of tenant-authored message templates.
    pub templates: TemplatesConfig,
    /// Sign-in and password hashing.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
    /// HTTPS.
    pub tls: TlsConfig,
    /// Daily backups.
    pub backup: BackupConfig,
    /// After a contract ends.
    pub lifecycle: LifecycleConfig,
    /// Readiness thresholds.
    pub readiness: ReadinessConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
}

/// HTTPS settings: with a certificate and key, the main listener speaks only TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (mode 600).
    pub key_file: Option<PathBuf>,
    /// A plain-HTTP address that only redirects to `server.public_url` (empty: none).
    pub redirect_listen: String,
}

impl TlsConfig {
    /// Certificate and key, when HTTPS is on.
    pub fn files(&self) -> Option<(&Path, &Path)> {
        Some((self.cert_file.as_deref()?, self.key_file.as_deref()?))
    }
}

/// HTTP listener settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (printed at start).
    pub listen: String,
    /// The address people and kiosks use (links in e-mails). Required in production.
    pub public_url: String,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies). Others are ignored.
    pub trusted_proxies: Vec<String>,
    /// Requests taking longer (including receiving their body) are answered 503.
    pub request_timeout_secs: u64,
    /// A connection that has not sent a complete request head within this many
    /// seconds is closed (slow clients must not hold connections open); 1 to 3600.
    pub header_read_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
        }
    }
}

/// Data directory and key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Directory holding the database.
    pub dir: PathBuf,
    /// The key file; default `<dir>/genkan.key`. May be replaced by `GENKAN_KEYS`.
    pub key_file: Option<PathBuf>,
    /// Read-only database connections.
    pub readers: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("./genkan-data"),
            key_file: None,
            readers: 4,
        }
    }
}

impl DataConfig {
    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.dir.join("genkan.db")
    }

    /// The key file.
    pub fn key_path(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.dir.join("genkan.key"))
    }
}

/// How mail leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// An SMTP relay.
    Smtp,
    /// Write each message as an `.eml` file into `mail.file_dir` (demos, debugging).
    File,
    /// Do not send mail (messages stay queued).
    None,
}

/// Transport security towards the SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS; refuses to send if the server does not offer it.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a trusted network.
    None,
}

/// Outgoing e-mail settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp`, `file` or `none`.
    pub transport: MailTransport,
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub tls: SmtpTls,
    /// SMTP user name (empty: no authentication).
    pub username: String,
    /// SMTP password.
    pub password: Secret,
    /// File holding the SMTP password (instead of `password`).
    pub password_file: Option<PathBuf>,
    /// Sender, e.g. `Genkan <reception@example.com>`.
    pub from: String,
    /// Per-message timeout.
    pub timeout_secs: u64,
    /// Folder for the `file` transport.
    pub file_dir: Option<PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::None,
            host: "localhost".to_owned(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            password_file: None,
            from: String::new(),
            timeout_secs: 15,
            file_dir: None,
        }
    }
}

/// Outgoing HTTP settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Allow webhooks to loopback, private and link-local addresses (on-premises relays).
    pub allow_private_networks: bool,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// Slack Web API base (bot direct messages); change only for tests or a proxy.
    pub slack_api_url: String,
    /// Chatwork API base; change only for tests or a proxy.
    pub chatwork_api_url: String,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            timeout_secs: 10,
            slack_api_url: "https://slack.com/api".to_owned(),
            chatwork_api_url: "https://api.chatwork.com/v2".to_owned(),
        }
    }
}

/// Notification delivery settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Delay before the second attempt; it doubles with each failure (±25 % jitter).
    pub retry_base_secs: i64,
    /// Longest delay between attempts.
    pub retry_max_secs: i64,
    /// Attempts before a message is given up (dead-lettered).
    pub max_attempts: u32,
    /// Messages sent at once per HTTP channel (Slack, Teams, Chatwork, webhook).
    pub http_parallel: usize,
    /// Messages sent at once over SMTP.
    pub mail_parallel: usize,
    /// Hours a host's reply link ("I'm coming") keeps working.
    pub reply_link_hours: i64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            retry_base_secs: 5,
            retry_max_secs: 3600,
            max_attempts: 12,
            http_parallel: 64,
            mail_parallel: 16,
            reply_link_hours: 8,
        }
    }
}

/// Password hashing cost (argon2id). The defaults follow OWASP ASVS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Memory per hash in KiB.
    pub argon2_memory_kib: u32,
    /// Iterations.
    pub argon2_iterations: u32,
    /// A web session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A web session ends this many hours after sign-in.
    pub session_absolute_hours: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `json` (one event per line) or `text`.
    pub format: String,
    /// Zone of log timestamps.
    pub time_zone: String,
    /// Filter, e.g. `info` or `genkan_server=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "json".to_owned(),
            time_zone: "Asia/Tokyo".to_owned(),
            level: "info".to_owned(),
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or has wrong types or unknown keys.
    #[error("configuration error: {0}")]
    Load(String),
    /// A required setting is missing or wrong.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if given), then `GENKAN_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::figment(file)
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))
    }

    /// Loads like [`Config::load`], with `base` instead of the built-in defaults.
    pub fn load_over(base: &Config, file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(base));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        fig.merge(env_provider())
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))
    }

    fn figment(file: Option<&Path>) -> Figment {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        fig.merge(env_provider())
    }

    /// The listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "server.listen = {:?} is not an address such as 127.0.0.1:8080",
                self.server.listen
            ))
        })
    }

    /// Reads `*_file` secrets into their settings.
    pub fn resolve_secret_files(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.mail.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::Invalid(format!("mail.password_file {}: {e}", path.display()))
            })?;
            self.mail.password = Secret::new(text.trim_end_matches(['\r', '\n']).to_owned());
        }
        Ok(())
    }

    /// Checks what production mode needs; names every missing or wrong setting.
    pub fn check_production(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.server.public_url.trim().is_empty() {
            problems
                .push("server.public_url is not set (the address used in e-mail links)".to_owned());
        }
        if let Err(e) = self.listen_addr() {
            problems.push(e.to_string());
        }
        if !self.data.dir.is_dir() {
            problems.push(format!(
                "data.dir {} does not exist (create it, owned by the service user, mode 700)",
                self.data.dir.display()
            ));
        }
        let keys_from_env =
            std::env::var(genkan_store::keys::KEYS_ENV).is_ok_and(|v| !v.trim().is_empty());
        if !self.data.key_path().is_file() && !keys_from_env {
            problems.push(format!(
                "no keys: {} does not exist and {} is not set (create one with `genkan keys generate --out {}`)",
                self.data.key_path().display(),
                genkan_store::keys::KEYS_ENV,
                self.data.key_path().display()
            ));
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.from.trim().is_empty() {
            problems.push(
                "mail.from is not set (the sender address of invitations and alerts)".to_owned(),
            );
        }
        if self.mail.transport == MailTransport::File && self.mail.file_dir.is_none() {
            problems.push(
                "mail.file_dir is not set (required by mail.transport = \"file\")".to_owned(),
            );
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            problems.push("tls.cert_file and tls.key_file must be set together".to_owned());
        }
        if let Some((cert, key)) = self.tls.files() {
            for (name, path) in [("tls.cert_file", cert), ("tls.key_file", key)] {
                if !path.is_file() {
                    problems.push(format!("{name} {} does not exist", path.display()));
                }
            }
            if !self.server.public_url.starts_with("https://") {
                problems
                    .push("server.public_url must start with https:// when TLS is on".to_owned());
            }
        }
        if !self.tls.redirect_listen.is_empty()
            && self.tls.redirect_listen.parse::<SocketAddr>().is_err()
        {
            problems.push(format!(
                "tls.redirect_listen = {:?} is not an address",
                self.tls.redirect_listen
            ));
        }
        problems.extend(ops::problems(&self.backup, &self.lifecycle, &self.metrics));
        // OWASP ASVS: 19 MiB with 2 iterations, or 12 MiB with 3 (one lane either way).
        let (m, t) = (self.auth.argon2_memory_kib, self.auth.argon2_iterations);
        if !((m >= 19_456 && t >= 2) || (m >= 12_288 && t >= 3)) {
            problems.push("auth.argon2_* are below the OWASP ASVS minimum (12288 KiB with 3 iterations, or 19456 KiB with 2)".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(format!(
                "Genkan cannot start in production mode:\n  - {}",
                problems.join("\n  - ")
            )))
        }
    }
}

fn env_provider() -> Env {
    // GENKAN_KEYS carries key material, not configuration.
    Env::prefixed("GENKAN_").ignore(&["keys"]).split("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_documents_exactly_the_defaults() {
        let parsed: Config = Figment::from(Toml::string(EXAMPLE)).extract().unwrap();
        assert_eq!(parsed, Config::default());
        // Every key of the defaults appears in the example, so none is undocumented.
        let defaults = serde_json::to_value(Config::default()).unwrap();
        for (section, keys) in defaults.as_object().unwrap() {
            assert!(
                EXAMPLE.contains(&format!("[{section}]")),
                "section {section} undocumented"
            );
            for key in keys.as_object().unwrap().keys() {
                assert!(
                    EXAMPLE.contains(&format!("{key} =")),
                    "{section}.{key} undocumented"
                );
            }
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genkan.toml");
        std::fs::write(&path, "[mail]\nhots = \"smtp.example.com\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("hots"), "{err}");
    }

    #[test]
    fn production_mode_names_what_is_missing() {
        let mut config = Config::default();
        config.data.dir = PathBuf::from("/nonexistent/genkan");
        config.mail.transport = MailTransport::Smtp;
        let err = config.check_production().unwrap_err().to_string();
        assert!(err.contains("server.public_url"), "{err}");
        assert!(err.contains("data.dir"), "{err}");
        assert!(err.contains("mail.from"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let mut config = Config::default();
        config.mail.password = Secret::new("hunter2-very-secret".into());
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
