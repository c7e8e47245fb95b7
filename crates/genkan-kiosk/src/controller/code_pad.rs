//! The code pad: eight digits typed on screen, sent as a fallback code (online only:
//! the server alone checks codes).

use genkan_core::pass::FallbackCode;

use super::{CODE_LEN, Effect, Problem, Reception, Screen};

impl Reception {
    /// Opens the code pad (from any screen but pairing and verifying). While the
    /// server cannot be reached, says instead that codes need the connection: only the
    /// server checks them, the kiosk holds nothing to check them against.
    pub fn open_code_entry(&mut self) {
        if matches!(self.screen, Screen::Pairing | Screen::Verifying) {
            return;
        }
        self.touch();
        self.code.clear();
        if !self.online {
            self.pending = None;
            self.fail(Problem::CodeNeedsConnection);
            return;
        }
        self.go(Screen::CodeEntry);
    }

    /// A digit key.
    pub fn code_digit(&mut self, digit: u8) {
        self.touch();
        if self.screen == Screen::CodeEntry && digit < 10 && self.code.len() < CODE_LEN {
            self.code.push(char::from(b'0' + digit));
        }
    }

    /// The erase key: removes the last digit.
    pub fn code_erase(&mut self) {
        self.touch();
        self.code.pop();
    }

    /// The clear key: removes all digits.
    pub fn code_clear(&mut self) {
        self.touch();
        self.code.clear();
    }

    /// The confirm key: sends the code once all 8 digits are there.
    pub fn code_submit(&mut self) -> Option<Effect> {
        self.touch();
        if self.screen != Screen::CodeEntry {
            return None;
        }
        let code = FallbackCode::parse(&self.code).ok()?;
        Some(self.present(Some(code.as_str().to_owned()), None))
    }
}
