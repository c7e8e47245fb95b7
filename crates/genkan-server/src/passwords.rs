//! Password hashing with argon2id (PHC strings), verification off the async threads,
//! and "rehash when the policy rose".

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::AuthConfig;

/// Hashes and verifies passwords with the configured argon2id cost.
#[derive(Debug, Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of a password nobody has, made once, for accounts that do not exist.
    dummy: std::sync::OnceLock<String>,
}

impl Passwords {
    /// A hasher using `config`'s cost.
    pub fn new(config: &AuthConfig) -> Self {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, 1, None)
            .unwrap_or_else(|_| Params::default());
        Self {
            params,
            dummy: std::sync::OnceLock::new(),
        }
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string for `password`.
    pub fn hash(&self, password: &str) -> String {
        let mut bytes = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        self.argon()
            .hash_password_with_salt(password.as_bytes(), &bytes)
            .map(|h| h.to_string())
            .unwrap_or_default()
    }

    /// Whether `password` matches `stored`, and whether `stored` should be rehashed
    /// because it uses a weaker algorithm or cost than the current policy.
    pub fn verify(&self, stored: &str, password: &str) -> (bool, bool) {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return (false, false);
        };
        let ok = self
            .argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        // Anything but argon2id v19 with at least today's cost and one lane is
        // replaced while the password is at hand.
        let weaker = parsed.algorithm.as_str() != "argon2id"
            || parsed.version != Some(Version::V0x13.into())
            || Params::try_from(&parsed).map_or(true, |p| {
                p.m_cost() < self.params.m_cost()
                    || p.t_cost() < self.params.t_cost()
                    || p.p_cost() != self.params.p_cost()
            });
        (ok, ok && weaker)
    }

    /// Verifies against a fixed dummy hash, so unknown accounts take as long as known
    /// ones (one verification each: the dummy hash itself is made only once).
    pub fn verify_dummy(&self, password: &str) {
        let dummy = self
            .dummy
            .get_or_init(|| self.hash("genkan-dummy-password"));
        let _ = self.verify(dummy, password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(&AuthConfig {
            argon2_memory_kib: 256,
            argon2_iterations: 1,
            ..AuthConfig::default()
        })
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let p = cheap();
        let h = p.hash("correct horse battery staple");
        assert!(h.starts_with("$argon2id$v=19$"));
        assert_eq!(p.verify(&h, "correct horse battery staple"), (true, false));
        assert_eq!(p.verify(&h, "wrong"), (false, false));
        assert_eq!(p.verify("not a hash", "x"), (false, false));
    }

    #[test]
    fn a_hash_below_the_current_cost_asks_for_a_rehash() {
        let weak = cheap().hash("pw-pw-pw-pw-pw");
        let strong = Passwords::new(&AuthConfig::default());
        assert_eq!(strong.verify(&weak, "pw-pw-pw-pw-pw"), (true, true));
    }

    #[test]
    fn an_older_version_or_more_lanes_ask_for_a_rehash_too() {
        let p = cheap();
        let params = Params::new(256, 1, 1, None).unwrap();
        let salt = [7u8; 16];
        let v16 = Argon2::new(Algorithm::Argon2id, Version::V0x10, params)
            .hash_password_with_salt(b"pw-pw-pw-pw-pw", &salt)
            .unwrap()
            .to_string();
        assert!(v16.starts_with("$argon2id$v=16$"), "{v16}");
        assert_eq!(p.verify(&v16, "pw-pw-pw-pw-pw"), (true, true));
        let lanes = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(256, 1, 4, None).unwrap(),
        )
        .hash_password_with_salt(b"pw-pw-pw-pw-pw", &salt)
        .unwrap()
        .to_string();
        assert_eq!(p.verify(&lanes, "pw-pw-pw-pw-pw"), (true, true));
    }
}
