//! A real SMTP server on loopback, with modes to refuse or stall, recording every
//! message it accepts exactly as received.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accepts everything.
    Accept,
    /// Answers 421 on connect (service not available).
    Refuse,
    /// Accepts the connection and never says anything.
    Stall,
    /// Rejects every recipient with 550 (permanent).
    RejectRecipients,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The raw message.
    pub data: Vec<u8>,
    /// When the message was accepted.
    pub at: std::time::Instant,
}

impl Received {
    /// Parses the message.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .unwrap()
    }
}

/// A running SMTP server.
#[derive(Clone)]
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    /// Starts a server in `mode`.
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Self {
            port: listener.local_addr().unwrap().port(),
            mode: Arc::new(Mutex::new(mode)),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(stream).await;
                });
            }
        });
        sink
    }

    /// Changes the behaviour for new connections.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Everything received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .collect()
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let mode = *self.mode.lock().unwrap();
        let (read, mut write) = stream.into_split();
        match mode {
            Mode::Refuse => {
                write
                    .write_all(b"421 127.0.0.1 Service not available\r\n")
                    .await?;
                return Ok(());
            }
            Mode::Stall => {
                // Hold the connection open without a greeting until the client gives up.
                let mut lines = BufReader::new(read).lines();
                while lines.next_line().await?.is_some() {}
                return Ok(());
            }
            Mode::Accept | Mode::RejectRecipients => {}
        }
        write
            .write_all(b"220 127.0.0.1 ESMTP test sink\r\n")
            .await?;
        let mut reader = BufReader::new(read);
        let mut from = String::new();
        let mut rcpt = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_owned();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                write
                    .write_all(
                        b"250-127.0.0.1\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 35882577\r\n",
                    )
                    .await?;
            } else if upper.starts_with("HELO") {
                write.write_all(b"250 127.0.0.1\r\n").await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = angle(&cmd[10..]);
                rcpt.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                if mode == Mode::RejectRecipients {
                    write.write_all(b"550 5.1.1 No such user\r\n").await?;
                } else {
                    rcpt.push(angle(&cmd[8..]));
                    write.write_all(b"250 OK\r\n").await?;
                }
            } else if upper == "DATA" {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if reader.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == b".\r\n" || l == b".\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    if l.starts_with(b"..") {
                        l.remove(0);
                    }
                    data.extend_from_slice(&l);
                }
                self.received.lock().unwrap().push(Received {
                    mail_from: from.clone(),
                    rcpt_to: rcpt.clone(),
                    data,
                    at: std::time::Instant::now(),
                });
                write.write_all(b"250 OK queued\r\n").await?;
            } else if upper == "RSET" {
                rcpt.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "NOOP" {
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "QUIT" {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"502 Command not implemented\r\n").await?;
            }
        }
    }
}

fn angle(s: &str) -> String {
    let s = s.trim();
    let inner = s.split_whitespace().next().unwrap_or(s);
    inner
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}
