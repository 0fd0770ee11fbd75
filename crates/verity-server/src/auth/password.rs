//! Password hashing and checking (argon2id, `verity_core::password`), run on the blocking pool
//! and bounded by [`crate::state::Shared::hashing_permit`] so that a storm of sign-ins queues
//! instead of exhausting memory.

use verity_store::users::User;

use crate::error::PageError;
use crate::state::AppState;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every hashing permit stayed taken for the waiting time.
    #[error("too many password hashes are running")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl From<HashingError> for PageError {
    fn from(e: HashingError) -> Self {
        match e {
            HashingError::Busy => PageError::busy(
                "Too many sign-ins are in progress right now. Please try again in a moment.",
            ),
            HashingError::Failed(e) => PageError::internal("password hashing", e),
        }
    }
}

/// The argon2id hash of a new password.
pub async fn hash(state: &AppState, password: String) -> Result<String, HashingError> {
    let _slot = state.hashing_permit().await.ok_or(HashingError::Busy)?;
    let passwords = state.passwords.clone();
    tokio::task::spawn_blocking(move || passwords.hash(&password))
        .await
        .map_err(|e| HashingError::Failed(e.to_string()))?
        .map_err(|e| HashingError::Failed(e.to_string()))
}

/// Whether `password` is `user`'s. An unknown user (`None`) pays a full verification against a
/// dummy hash too, so that timing does not tell which accounts exist.
pub async fn verify(
    state: &AppState,
    user: Option<&User>,
    password: String,
) -> Result<bool, HashingError> {
    let _slot = state.hashing_permit().await.ok_or(HashingError::Busy)?;
    let passwords = state.passwords.clone();
    let hash = user.map(|u| u.password_hash.clone());
    tokio::task::spawn_blocking(move || passwords.verify(hash.as_deref(), &password))
        .await
        .map_err(|e| HashingError::Failed(e.to_string()))
}
