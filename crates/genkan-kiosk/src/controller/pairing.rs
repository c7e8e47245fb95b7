//! The pairing screen: server address and one-time code, and the outcome.

use super::{Branding, Effect, PairingIssue, Reception, Screen};

impl Reception {
    /// "Pair" on the pairing screen.
    pub fn pair(&mut self, server_url: &str, code: &str) -> Option<Effect> {
        if self.screen != Screen::Pairing || self.pairing.busy {
            return None;
        }
        let (server_url, code) = (server_url.trim(), code.trim());
        self.pairing.server_url = server_url.to_owned();
        if !(server_url.starts_with("http://") || server_url.starts_with("https://")) {
            self.pairing.issue = Some(PairingIssue::InvalidServer);
            return None;
        }
        if code.is_empty() {
            self.pairing.issue = Some(PairingIssue::WrongCode);
            return None;
        }
        self.pairing.busy = true;
        self.pairing.issue = None;
        Some(Effect::Pair {
            server_url: server_url.to_owned(),
            code: code.to_owned(),
        })
    }

    /// The outcome of pairing.
    pub fn paired(&mut self, outcome: Result<Branding, PairingIssue>) {
        self.pairing.busy = false;
        match outcome {
            Ok(branding) => {
                self.pairing.issue = None;
                self.branding = Some(branding);
                self.reset(true);
            }
            Err(issue) => self.pairing.issue = Some(issue),
        }
    }
}
