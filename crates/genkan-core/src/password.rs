//! Password policy (OWASP ASVS 5.0 level 2): length 12–128 (15 for administrators),
//! no well-known passwords, no passwords built from the account's own context.

use crate::access::Role;

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Shorter than the minimum for the role.
    #[error("the password is too short")]
    TooShort {
        /// The minimum in characters.
        min: usize,
    },
    /// Longer than 128 characters.
    #[error("the password is too long (at most 128 characters)")]
    TooLong,
    /// A well-known or trivially guessable password.
    #[error("this password is too common")]
    Common,
    /// Contains the company name, the e-mail address or the product name.
    #[error("the password must not contain your name, e-mail address or company name")]
    Context,
}

impl PasswordProblem {
    /// Stable code for forms and APIs.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort { .. } => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::Common => "password_common",
            Self::Context => "password_context",
        }
    }
}

/// Minimum length for a role.
pub fn min_length(role: Role) -> usize {
    match role {
        Role::Admin => 15,
        Role::Receptionist | Role::Host => 12,
    }
}

/// Passwords long enough to pass the length rule that still appear in breach lists.
const COMMON: &[&str] = &[
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "qwertyuiop123",
    "qwertyuiopasdf",
    "qwertyuiopasdfgh",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "zaq12wsxcde3",
    "iloveyou1234",
    "welcome12345",
    "welcome123456",
    "letmein12345",
    "administrator",
    "administrator1",
    "changeme1234",
    "trustno1trustno1",
    "football1234",
    "baseball1234",
    "superman1234",
    "starwars1234",
    "princess1234",
    "sunshine1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "passw0rd1234",
    "abc123abc123",
    "asdfghjkl123",
    "zxcvbnm12345",
    "monkey123456",
    "dragon123456",
    "master123456",
    "shadow123456",
    "michael12345",
];

fn is_sequence(s: &[char]) -> bool {
    let rising = s.windows(2).all(|w| u32::from(w[1]) == u32::from(w[0]) + 1);
    let falling = s.windows(2).all(|w| u32::from(w[0]) == u32::from(w[1]) + 1);
    rising || falling
}

/// Checks `password` for `role`; `context` holds words the password must not contain
/// (company name, e-mail local part, user name).
pub fn check(password: &str, role: Role, context: &[&str]) -> Result<(), PasswordProblem> {
    let chars: Vec<char> = password.chars().collect();
    let min = min_length(role);
    if chars.len() < min {
        return Err(PasswordProblem::TooShort { min });
    }
    if chars.len() > 128 {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    let distinct = {
        let mut c = chars.clone();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    let keyboard = [
        "qwertyuiopasdfghjklzxcvbnmqwertyuiop",
        "123456789012345678901234567890",
        "098765432109876543210987654321",
        "qwertzuiopasdfghjklyxcvbnm",
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん",
    ];
    if COMMON.contains(&lower.as_str())
        || distinct <= 3
        || is_sequence(&chars)
        || keyboard.iter().any(|k| k.contains(lower.as_str()))
        || (lower.starts_with("password")
            && lower[8..].chars().all(|c| c.is_ascii_digit() || c == '!'))
    {
        return Err(PasswordProblem::Common);
    }
    let words = context
        .iter()
        .flat_map(|w| w.split(|c: char| !c.is_alphanumeric()))
        .map(str::to_lowercase)
        .chain(std::iter::once("genkan".to_owned()))
        .filter(|w| w.chars().count() >= 4);
    for word in words {
        if lower.contains(&word) {
            return Err(PasswordProblem::Context);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_depends_on_the_role() {
        assert_eq!(check("ab3$efgh9jkl", Role::Host, &[]), Ok(()));
        assert_eq!(
            check("ab3$efgh9jk", Role::Host, &[]),
            Err(PasswordProblem::TooShort { min: 12 })
        );
        assert_eq!(
            check("ab3$efgh9jklmn", Role::Admin, &[]),
            Err(PasswordProblem::TooShort { min: 15 })
        );
        assert_eq!(check("ab3$efgh9jklmnp", Role::Admin, &[]), Ok(()));
        assert_eq!(
            check(&"x1y2".repeat(33), Role::Host, &[]),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn unicode_counts_characters_not_bytes() {
        // 12 characters of Japanese text (36 bytes) are 12, not 36.
        assert_eq!(
            check("あいうえおかきくけこさし", Role::Host, &[]),
            Err(PasswordProblem::Common)
        );
        assert_eq!(check("富士山の朝焼けが好きです", Role::Host, &[]), Ok(()));
        assert!(matches!(
            check("富士山の朝焼け", Role::Host, &[]),
            Err(PasswordProblem::TooShort { .. })
        ));
    }

    #[test]
    fn common_and_patterned_passwords_are_refused() {
        for pw in [
            "password1234",
            "Password12345",
            "111111111111",
            "abcdefghijklm",
            "qwertyuiopasdf",
            "123456789012",
            "aaaabbbbaaaa",
        ] {
            assert_eq!(
                check(pw, Role::Host, &[]),
                Err(PasswordProblem::Common),
                "{pw}"
            );
        }
    }

    #[test]
    fn context_words_are_refused() {
        assert_eq!(
            check("AcmeCorp-rocks-2026", Role::Host, &["Acme Corp"]),
            Err(PasswordProblem::Context)
        );
        assert_eq!(
            check("hanako.sato!!2026", Role::Host, &["hanako.sato"]),
            Err(PasswordProblem::Context)
        );
        assert_eq!(
            check("my-genkan-login-1", Role::Host, &[]),
            Err(PasswordProblem::Context)
        );
        assert_eq!(
            check("blue-river-stone-77", Role::Host, &["Acme Corp", "sato"]),
            Ok(())
        );
    }
}
