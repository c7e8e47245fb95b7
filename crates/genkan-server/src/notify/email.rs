//! Sending e-mail: SMTP through lettre (STARTTLS or TLS required unless the operator
//! chose a plain local relay), or `.eml` files for demos. Logs carry the message id
//! and a masked recipient, never the address or the content.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::config::{MailConfig, MailTransport, SmtpTls};

/// Why a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later; `retry_after` seconds if the channel said so.
    #[error("{message}")]
    Transient {
        /// What happened.
        message: String,
        /// The channel's own hint.
        retry_after: Option<u64>,
    },
    /// Retrying will not help (address rejected, bad request).
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    /// A transient error without a hint.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// `text` with every control character (CR, LF, TAB, …) turned into a space.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A file to attach.
#[derive(Debug, Clone)]
pub struct FileAttachment {
    /// File name shown to the recipient.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A mail ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// Recipient's display name.
    pub to_name: Option<String>,
    /// Recipient's address (validated when stored).
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML.
    pub html: String,
    /// PNG images referenced from the HTML as `cid:<id>`: (id, bytes).
    pub inline_png: Vec<(String, Vec<u8>)>,
    /// Attachments.
    pub attachments: Vec<FileAttachment>,
}

/// How mail leaves.
pub enum Mailer {
    /// Through an SMTP relay.
    Smtp {
        /// The pooled transport.
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// Sender.
        from: Mailbox,
        /// Per-attempt limit.
        timeout: Duration,
    },
    /// Into `.eml` files.
    Files {
        /// Folder.
        dir: PathBuf,
        /// Sender.
        from: Mailbox,
    },
    /// Not at all: messages stay queued.
    Disabled,
}

fn parse_from(config: &MailConfig) -> Result<Mailbox, String> {
    let from = if config.from.trim().is_empty() {
        "Genkan <genkan@localhost.localdomain>"
    } else {
        config.from.trim()
    };
    from.parse::<Mailbox>()
        .map_err(|e| format!("mail.from {from:?}: {e}"))
}

impl Mailer {
    /// Builds the mailer the configuration asks for.
    pub fn from_config(config: &MailConfig) -> Result<Self, String> {
        let from = parse_from(config)?;
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        match config.transport {
            MailTransport::None => Ok(Self::Disabled),
            MailTransport::File => {
                let dir = config
                    .file_dir
                    .clone()
                    .ok_or("mail.file_dir is required for transport = \"file\"")?;
                {
                    use std::os::unix::fs::DirBuilderExt as _;
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(&dir)
                        .map_err(|e| format!("mail.file_dir {}: {e}", dir.display()))?;
                }
                Ok(Self::Files { dir, from })
            }
            MailTransport::Smtp => {
                let builder = match config.tls {
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
                    SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        &config.host,
                    )),
                }
                .map_err(|e| format!("mail.host {}: {e}", config.host))?;
                // Connections are reused; the notifier bounds how many sends run at
                // once (`notify.mail_parallel`), the pool only has to hold them.
                let mut builder = builder
                    .port(config.port)
                    .timeout(Some(timeout))
                    .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(64));
                if !config.username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        config.username.clone(),
                        config.password.expose().to_owned(),
                    ));
                }
                Ok(Self::Smtp {
                    transport: builder.build(),
                    from,
                    timeout,
                })
            }
        }
    }

    /// Whether mail is sent at all.
    pub fn enabled(&self) -> bool {
        !matches!(self, Self::Disabled)
    }

    fn build(from: &Mailbox, mail: OutgoingMail) -> Result<Message, SendError> {
        let address = mail
            .to_address
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?;
        // Header values never carry line breaks or other controls, whatever a caller
        // passed (names and subjects are validated earlier too): no header injection.
        let to = Mailbox::new(mail.to_name.as_deref().map(header_safe), address);
        let alternative = MultiPart::alternative_plain_html(mail.text, mail.html);
        let body = if mail.inline_png.is_empty() {
            alternative
        } else {
            let png = ContentType::parse("image/png").unwrap_or(ContentType::TEXT_PLAIN);
            mail.inline_png.into_iter().fold(
                MultiPart::related().multipart(alternative),
                |related, (cid, bytes)| {
                    related.singlepart(Attachment::new_inline(cid).body(bytes, png.clone()))
                },
            )
        };
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in mail.attachments {
            let ct = ContentType::parse(&a.content_type).unwrap_or(ContentType::TEXT_PLAIN);
            let part: SinglePart = Attachment::new(a.name).body(a.bytes, ct);
            mixed = mixed.singlepart(part);
        }
        Message::builder()
            .message_id(None)
            .from(from.clone())
            .to(to)
            .subject(header_safe(&mail.subject))
            .multipart(mixed)
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
    }

    /// Sends `mail`; returns a short delivery detail for the ledger.
    pub async fn send(&self, mail: OutgoingMail) -> Result<String, SendError> {
        match self {
            Self::Disabled => Err(SendError::transient(
                "mail transport is disabled (mail.transport = \"none\")",
            )),
            Self::Files { dir, from } => {
                let message = Self::build(from, mail)?;
                let id = format!("{}.eml", hex::encode(rand::random::<[u8; 8]>()));
                let tmp = dir.join(format!(".{id}.tmp"));
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|e| SendError::transient(format!("writing {}: {e}", tmp.display())))?;
                tokio::fs::rename(&tmp, dir.join(&id))
                    .await
                    .map_err(|e| SendError::transient(format!("renaming mail file: {e}")))?;
                Ok(format!("written {id}"))
            }
            Self::Smtp {
                transport,
                from,
                timeout,
            } => {
                let message = Self::build(from, mail)?;
                let sent = tokio::time::timeout(
                    *timeout + Duration::from_secs(1),
                    transport.send(message),
                )
                .await
                .map_err(|_| SendError::transient("SMTP server did not answer in time"))?;
                match sent {
                    Ok(response) => Ok(format!(
                        "{} {}",
                        response.code(),
                        response
                            .message()
                            .collect::<Vec<_>>()
                            .join(" ")
                            .chars()
                            .take(200)
                            .collect::<String>()
                    )),
                    Err(e) if e.is_permanent() => {
                        Err(SendError::Permanent(format!("SMTP refused: {e}")))
                    }
                    Err(e) => Err(SendError::transient(format!("SMTP: {e}"))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(name: &str, address: &str, subject: &str) -> OutgoingMail {
        OutgoingMail {
            to_name: Some(name.to_owned()),
            to_address: address.to_owned(),
            subject: subject.to_owned(),
            text: "text".to_owned(),
            html: "<p>html</p>".to_owned(),
            inline_png: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// The header lines of a formatted message (continuations joined).
    fn headers(message: &Message) -> Vec<String> {
        let raw = String::from_utf8(message.formatted()).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap().to_owned();
        let mut out: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                out.last_mut().unwrap().push_str(line);
            } else {
                out.push(line.to_owned());
            }
        }
        out
    }

    #[test]
    fn cr_lf_in_names_and_subjects_adds_no_header_and_no_recipient() {
        let from: Mailbox = "Genkan <genkan@example.com>".parse().unwrap();
        let clean = Mailer::build(&from, mail("Sato", "sato@example.com", "Hello")).unwrap();
        let clean_names: Vec<String> = headers(&clean)
            .iter()
            .map(|h| h.split(':').next().unwrap().to_ascii_lowercase())
            .collect();
        for (name, subject) in [
            ("Sato\r\nBcc: evil@example.com", "Hello"),
            ("Sato\nX-Injected: 1", "Hi\r\nBcc: evil@example.com"),
            ("Sato", "Hi\r\n\r\nbody injection"),
        ] {
            let message = Mailer::build(&from, mail(name, "sato@example.com", subject)).unwrap();
            let names: Vec<String> = headers(&message)
                .iter()
                .map(|h| h.split(':').next().unwrap().to_ascii_lowercase())
                .collect();
            assert_eq!(names, clean_names, "{name:?} / {subject:?}");
            let to: Vec<String> = message
                .envelope()
                .to()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(to, ["sato@example.com"]);
        }
        // An address with CR/LF is refused outright.
        assert!(
            Mailer::build(&from, mail("Sato", "sato@example.com\r\nBcc: e@x.y", "Hi")).is_err()
        );
    }
}
