//! Validated user-supplied strings: once one of these exists, it is safe to store,
//! show and put in a mail header.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but whitespace was given where a value is required.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The limit in characters.
        max: usize,
    },
    /// Contains line breaks or other control characters.
    #[error("must not contain line breaks or control characters")]
    ControlCharacter,
    /// Not an e-mail address.
    #[error("is not a valid e-mail address")]
    InvalidEmail,
    /// Not a telephone number.
    #[error("is not a valid telephone number")]
    InvalidPhone,
    /// Not one of the supported languages.
    #[error("must be \"ja\" or \"en\"")]
    InvalidLocale,
}

fn clean(input: &str, max: usize) -> Result<String, TextError> {
    let trimmed = input.trim();
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    // Bidirectional overrides make a name display differently from what it is; the
    // Unicode line and paragraph separators are line breaks.
    if trimmed.chars().any(|c| {
        matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
    }) {
        return Err(TextError::ControlCharacter);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in characters.
            pub const MAX: usize = $max;

            /// Trims and checks `input`; refuses empty, over-long or control-character text.
            pub fn parse(input: &str) -> Result<Self, TextError> {
                let value = clean(input, Self::MAX)?;
                if value.is_empty() {
                    return Err(TextError::Empty);
                }
                Ok(Self(value))
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_type!(
    /// A person's name as they want it shown (visitor, host, user).
    DisplayName,
    100
);
text_type!(
    /// A company, site or other organisation name.
    OrgName,
    120
);
text_type!(
    /// A short free-text title or note (appointment purpose).
    ShortText,
    200
);

/// An e-mail address, lower-cased, without anything that could break a mail header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises an address (`Local@Example.COM` → `local@example.com`).
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let value = clean(input, 254)?;
        if value.is_empty() {
            return Err(TextError::Empty);
        }
        let value = value.to_lowercase();
        let (local, domain) = value.split_once('@').ok_or(TextError::InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && domain.len() <= 253
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(TextError::InvalidEmail);
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with most of the local part hidden, for logs (`sa***@example.com`).
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

/// Hides most of an address's local part so logs never carry a full e-mail address.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let shown: String = local.chars().take(2).collect();
            format!("{shown}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A telephone number: digits with the usual separators, 3 to 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number such as `+81 3-1234-5678` or `(03) 1234 5678`.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let value = clean(input, 32)?;
        if value.is_empty() {
            return Err(TextError::Empty);
        }
        let digits = value.chars().filter(char::is_ascii_digit).count();
        let allowed = value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c));
        if !allowed || digits < 3 {
            return Err(TextError::InvalidPhone);
        }
        Ok(Self(value))
    }

    /// The number as entered (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The languages Genkan speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Japanese, the default.
    #[default]
    Ja,
    /// English.
    En,
}

impl Locale {
    /// `"ja"` or `"en"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// Parses `ja`/`en` (also `ja-JP`, `en-US`, any case).
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let lower = input.trim().to_ascii_lowercase();
        let primary = lower.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "ja" => Ok(Self::Ja),
            "en" => Ok(Self::En),
            _ => Err(TextError::InvalidLocale),
        }
    }

    /// Picks the first supported language of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut candidates: Vec<(f32, Self)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Self::parse(tag).ok().map(|l| (q, l))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        candidates.first().map(|c| c.1)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_is_trimmed_and_refuses_line_breaks() {
        assert_eq!(
            DisplayName::parse("  佐藤 花子 ").unwrap().as_str(),
            "佐藤 花子"
        );
        assert_eq!(DisplayName::parse("   "), Err(TextError::Empty));
        assert_eq!(
            DisplayName::parse("Eve\r\nBcc: x@y.z"),
            Err(TextError::ControlCharacter)
        );
        assert_eq!(
            DisplayName::parse("abc\u{202E}def"),
            Err(TextError::ControlCharacter)
        );
        for separator in ["abc\u{2028}def", "abc\u{2029}def", "abc\u{85}def"] {
            assert_eq!(
                DisplayName::parse(separator),
                Err(TextError::ControlCharacter)
            );
        }
        assert_eq!(
            DisplayName::parse(&"あ".repeat(101)),
            Err(TextError::TooLong { max: 100 })
        );
    }

    #[test]
    fn email_is_normalised_and_header_injection_is_impossible() {
        assert_eq!(
            EmailAddress::parse(" Sato@Example.CO.JP ")
                .unwrap()
                .as_str(),
            "sato@example.co.jp"
        );
        for bad in [
            "a@b",
            "no-at.example.com",
            "a@@b.com",
            "a b@c.com",
            "x@y.com\r\nBcc: z@w.com",
            "x@y.com,z@w.com",
            "<x@y.com>",
            ".a@b.com",
            "a..b@c.com",
            "a@-b.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn email_mask_hides_the_local_part() {
        let e = EmailAddress::parse("hanako.sato@example.com").unwrap();
        assert_eq!(e.masked(), "ha***@example.com");
    }

    #[test]
    fn phone_accepts_common_forms_only() {
        assert!(PhoneNumber::parse("+81 3-1234-5678").is_ok());
        assert!(PhoneNumber::parse("(03) 1234 5678").is_ok());
        assert_eq!(PhoneNumber::parse("call me"), Err(TextError::InvalidPhone));
        assert_eq!(PhoneNumber::parse("12"), Err(TextError::InvalidPhone));
    }

    #[test]
    fn locale_parses_tags_and_accept_language() {
        assert_eq!(Locale::parse("ja-JP"), Ok(Locale::Ja));
        assert_eq!(Locale::parse("EN_us"), Ok(Locale::En));
        assert!(Locale::parse("fr").is_err());
        assert_eq!(
            Locale::from_accept_language("fr-FR,fr;q=0.9,en-US;q=0.8,ja;q=0.7"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("ja;q=0.9,en;q=0.4"),
            Some(Locale::Ja)
        );
        assert_eq!(Locale::from_accept_language("de"), None);
    }
}
