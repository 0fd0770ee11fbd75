//! argon2id password hashing (RFC 9106) with a configurable cost.
//!
//! Production uses OWASP's minimum (m = 19 MiB, t = 2, p = 1); tests set a cheap cost through
//! settings. Hashing is CPU-heavy: the server calls these functions off the async threads.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::secret::random_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Cost {
    pub const PRODUCTION: Cost = Cost {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

/// Hashes and verifies passwords; holds a dummy hash so that unknown accounts cost the same.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    dummy_hash: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid argon2 parameters: {0}")]
pub struct CostError(String);

impl Passwords {
    pub fn new(cost: Cost) -> Result<Self, CostError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| CostError(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut this = Self {
            argon,
            dummy_hash: String::new(),
        };
        this.dummy_hash = this
            .hash("verity-dummy-password")
            .map_err(|e| CostError(e.to_string()))?;
        Ok(this)
    }

    /// A PHC string (`$argon2id$v=19$m=...`).
    pub fn hash(&self, password: &str) -> Result<String, argon2::password_hash::Error> {
        let salt_bytes = random_bytes::<16>();
        let salt = SaltString::encode_b64(&salt_bytes)?;
        Ok(self
            .argon
            .hash_password(password.as_bytes(), &salt)?
            .to_string())
    }

    /// Verifies against a stored hash; `None` (unknown account) verifies against the dummy hash
    /// and fails, spending the same time.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> bool {
        let (phc, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.as_str(), false),
        };
        let ok = match PasswordHash::new(phc) {
            Ok(parsed) => self
                .argon
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        };
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let p = Passwords::new(Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let h = p.hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(p.verify(Some(&h), "correct horse"));
        assert!(!p.verify(Some(&h), "wrong"));
        assert!(!p.verify(None, "verity-dummy-password"));
        assert!(!p.verify(Some("not a hash"), "x"));
    }
}
