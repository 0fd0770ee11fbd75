//! The second factor of an account: a current TOTP code (RFC 6238, each time step accepted
//! once) or an unused recovery code, limited like a password by [`super::throttle`]. The sign-in
//! journey and the account page both check it here.

use verity_core::secret::token_hash;
use verity_core::totp;
use verity_store::users::User;

use super::throttle::Attempt;
use crate::error::PageError;
use crate::state::AppState;

/// What a presented code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Too many failures: nothing was checked; try again in this many seconds.
    Locked(i64),
    /// The code was accepted (and can never be accepted again).
    Accepted { recovery_code: bool },
    /// Not a current code, nor an unused recovery code (or no second factor is enrolled).
    Rejected,
}

/// Checks `code` against `user`'s enrolled second factor, from `client_address`.
pub async fn check(
    state: &AppState,
    user: &User,
    code: &str,
    client_address: &str,
) -> Result<Outcome, PageError> {
    let Some(sealed) = &user.totp_secret else {
        return Ok(Outcome::Rejected);
    };
    let secret = state
        .master_key
        .decrypt(sealed, user.uuid.as_bytes())
        .map_err(|e| PageError::internal("decrypting a TOTP secret", e))?;
    let key = verity_core::throttle::mfa_key(&user.uuid);
    let attempt = match Attempt::begin(state, key, client_address).await? {
        Ok(attempt) => attempt,
        Err(wait) => return Ok(Outcome::Locked(wait)),
    };
    let outcome = match totp::verify(&secret, code, state.now(), user.totp_last_step) {
        Some(step) if state.store.take_totp_step(&user.uuid, step).await? => Outcome::Accepted {
            recovery_code: false,
        },
        Some(_) => Outcome::Rejected,
        None => {
            // A recovery code (10 characters once normalized) stands in for the app, once.
            let recovery = totp::normalize_recovery_code(code);
            let used = recovery.len() == 10
                && state
                    .store
                    .take_recovery_code(&user.uuid, &token_hash(&recovery), state.now())
                    .await?;
            if used {
                Outcome::Accepted {
                    recovery_code: true,
                }
            } else {
                Outcome::Rejected
            }
        }
    };
    if matches!(outcome, Outcome::Accepted { .. }) {
        attempt.succeeded(state).await?;
    }
    Ok(outcome)
}
