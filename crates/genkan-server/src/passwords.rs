//! Password hashing with argon2id (PHC strings), verification off the async threads,
//! "rehash when the policy rose", and a count of the passwords checked (so tests
//! can tell how many guesses a limit let through to argon2).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::AuthConfig;

/// Most hashes computed at once, whatever the number of CPUs: each one holds
/// `argon2_memory_kib` of memory, so 200 sign-ins at the same moment must not
/// mean 200 × that (they queue instead; a hash takes tens of milliseconds).
const MAX_PARALLEL_HASHES: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

/// A few dedicated threads that do all the hashing. Dedicated, not a semaphore on
/// the blocking pool: the allocator keeps a freed argon2 block in the arena of the
/// thread that used it, so hashing on hundreds of pool threads in turn would still
/// leave hundreds of blocks resident (measured: 1.8 GiB after 200 sign-ins).
#[derive(Debug)]
struct Hashers {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Hashers {
    fn new(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads {
            let rx = std::sync::Arc::clone(&rx);
            // Ends when every sender is gone (the `Passwords` dropped).
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        Self {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    /// Runs `f` on a hashing thread and waits for it (call from blocking code only);
    /// runs it here if no hashing thread is left.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let unsent = match self.jobs.lock() {
            Ok(jobs) => jobs.send(job).err().map(|e| e.0),
            Err(_) => Some(job),
        };
        if let Some(job) = unsent {
            job();
        }
        rx.recv()
            .expect("a hashing job answers (argon2 does not panic)")
    }
}

/// How many passwords were checked since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checks {
    /// Against a stored hash: each one evaluates a guess of that account's password.
    pub stored: u64,
    /// Against the dummy hash (unknown or waiting accounts: same time, no guess evaluated).
    pub dummy: u64,
}

#[derive(Debug, Default)]
struct Counters {
    stored: AtomicU64,
    dummy: AtomicU64,
}

/// Hashes and verifies passwords with the configured argon2id cost.
#[derive(Debug, Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of a password nobody has, made once, for accounts that do not exist.
    dummy: std::sync::OnceLock<String>,
    /// The threads that hash: they bound the hashes running at once and their memory.
    hashers: std::sync::Arc<Hashers>,
    /// Passwords checked so far.
    counters: std::sync::Arc<Counters>,
}

impl Passwords {
    /// A hasher using `config`'s cost.
    pub fn new(config: &AuthConfig) -> Self {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, 1, None)
            .unwrap_or_else(|_| Params::default());
        let places = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(MAX_PARALLEL_HASHES);
        Self {
            params,
            dummy: std::sync::OnceLock::new(),
            hashers: std::sync::Arc::new(Hashers::new(places)),
            counters: std::sync::Arc::default(),
        }
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string for `password`.
    pub fn hash(&self, password: &str) -> String {
        let mut bytes = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        let argon = self.argon();
        let password = password.to_owned();
        self.hashers.run(move || {
            argon
                .hash_password_with_salt(password.as_bytes(), &bytes)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
    }

    /// Whether `password` matches `stored`, and whether `stored` should be rehashed
    /// because it uses a weaker algorithm or cost than the current policy.
    pub fn verify(&self, stored: &str, password: &str) -> (bool, bool) {
        self.counters.stored.fetch_add(1, Ordering::Relaxed);
        self.check(stored, password)
    }

    /// How many passwords were checked so far.
    pub fn checks(&self) -> Checks {
        Checks {
            stored: self.counters.stored.load(Ordering::Relaxed),
            dummy: self.counters.dummy.load(Ordering::Relaxed),
        }
    }

    fn check(&self, stored: &str, password: &str) -> (bool, bool) {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return (false, false);
        };
        let argon = self.argon();
        let (stored_owned, password) = (stored.to_owned(), password.to_owned());
        let ok = self.hashers.run(move || {
            PasswordHash::new(&stored_owned)
                .is_ok_and(|p| argon.verify_password(password.as_bytes(), &p).is_ok())
        });
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
        self.counters.dummy.fetch_add(1, Ordering::Relaxed);
        let _ = self.check(dummy, password);
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
        p.verify_dummy("x");
        assert_eq!(
            p.checks(),
            Checks {
                stored: 3,
                dummy: 1
            }
        );
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
