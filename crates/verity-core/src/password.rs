//! argon2id password hashing (RFC 9106) with a configurable cost.
//!
//! Production uses OWASP's minimum (m = 19 MiB, t = 2, p = 1); tests set a cheap cost through
//! settings. Hashing is CPU-heavy: the server calls these functions off the async threads.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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
///
/// The working memory of argon2id (19 MiB per run in production) is kept and reused, at most
/// `keep` buffers: allocated afresh each time, the allocator keeps each thread's copy anyway,
/// and resident memory grows with every thread that ever hashed.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    dummy_hash: String,
    spare: Arc<Mutex<Vec<Vec<Block>>>>,
    keep: usize,
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
            spare: Arc::default(),
            keep: std::thread::available_parallelism().map_or(2, |n| n.get()),
        };
        this.dummy_hash = this
            .hash("verity-dummy-password")
            .map_err(|e| CostError(e.to_string()))?;
        // Memory is taken when people sign in, not at start (an idle node stays small).
        this.spare.lock().unwrap_or_else(|e| e.into_inner()).clear();
        Ok(this)
    }

    /// How many argon2id runs should go at once: one per kept buffer.
    pub fn concurrency(&self) -> usize {
        self.keep
    }

    /// Runs argon2 in a kept buffer (or a new one, kept afterwards if there is room).
    fn run(
        &self,
        argon: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let need = argon.params().block_count();
        let reused = {
            let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
            spare
                .iter()
                .position(|b| b.len() == need)
                .map(|i| spare.swap_remove(i))
        };
        let mut blocks = reused.unwrap_or_else(|| vec![Block::default(); need]);
        let result = argon.hash_password_into_with_memory(password, salt, out, &mut blocks);
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < self.keep {
            spare.push(blocks);
        }
        result
    }

    /// A PHC string (`$argon2id$v=19$m=...`).
    pub fn hash(&self, password: &str) -> Result<String, argon2::password_hash::Error> {
        let salt_bytes = random_bytes::<16>();
        let salt = SaltString::encode_b64(&salt_bytes)?;
        let params = self.argon.params();
        let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = Output::init_with(len, |out| {
            Ok(self.run(&self.argon, password.as_bytes(), &salt_bytes, out)?)
        })?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the PHC string `phc` (its own parameters, any argon2id).
    fn matches(&self, phc: &str, password: &str) -> Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(phc)?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Ok(false);
        }
        let params = Params::try_from(&parsed)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let argon = Argon2::new(Algorithm::Argon2id, version, params);
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf)?;
        let computed = Output::init_with(expected.len(), |out| {
            Ok(self.run(&argon, password.as_bytes(), salt_bytes, out)?)
        })?;
        // `Output`'s equality is constant-time.
        Ok(computed == expected)
    }

    /// Verifies against a stored hash; `None` (unknown account) verifies against the dummy hash
    /// and fails, spending the same time.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> bool {
        let (phc, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.as_str(), false),
        };
        let ok = self.matches(phc, password).unwrap_or(false);
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

    /// Hashes made by the argon2 crate's own `PasswordHasher` (every hash stored before buffers
    /// were reused) verify, and ours verify with it: the PHC strings are the same format.
    #[test]
    fn compatible_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let p = Passwords::new(Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(128, 2, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&random_bytes::<16>()).unwrap();
        let stored = theirs.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(
            p.verify(Some(&stored), "pw"),
            "other parameters are read from the hash"
        );
        assert!(!p.verify(Some(&stored), "pw2"));
        let ours = p.hash("pw").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(theirs.verify_password(b"pw", &parsed).is_ok());
        // Reuse: a run after others on the kept buffers gives the same answer.
        for _ in 0..3 {
            assert!(p.verify(Some(&ours), "pw"));
        }
        assert!(p.spare.lock().unwrap().len() <= p.keep);
        // argon2i or argon2d hashes are not accepted.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(!p.verify(Some(&argon2i), "pw"));
    }
}
