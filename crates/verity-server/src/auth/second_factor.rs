//! The second factor of an account: a current TOTP code (RFC 6238, each time step accepted
//! once) or an unused recovery code, limited like a password by [`super::throttle`]. The sign-in
//! journey and the account page both check it here.

use verity_core::secret::token_hash;
use verity_core::totp::{self, Verdict};
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
    /// A current TOTP code whose time step was already used: a replay, never accepted. It does
    /// not count toward the account's lock (an honest person typed the same code twice), only
    /// toward the client address's limit, so replays stay bounded.
    AlreadyUsed,
    /// Not a current code, nor an unused recovery code (or no second factor is enrolled).
    Rejected,
}

impl Outcome {
    /// What the person is told when the code was refused (`None` when it was accepted or the
    /// account is locked); the sign-in and the account page say the same.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Outcome::AlreadyUsed => Some(
                "That code was already used. Wait for the next code in your app (a new one \
                 appears every 30 seconds), then enter it.",
            ),
            Outcome::Rejected => Some(
                "That code is not valid. Enter the current code from your app, or one of your \
                 recovery codes.",
            ),
            Outcome::Locked(_) | Outcome::Accepted { .. } => None,
        }
    }
}

/// Checks `code` against `user`'s enrolled second factor, from `client_address`: a current TOTP
/// code when an authenticator app is set up, or an unused recovery code (the only code of an
/// account whose second factor is a passkey).
pub async fn check(
    state: &AppState,
    user: &User,
    code: &str,
    client_address: &str,
) -> Result<Outcome, PageError> {
    let secret = match &user.totp_secret {
        Some(sealed) => Some(
            state
                .master_key
                .decrypt(sealed, user.uuid.as_bytes())
                .map_err(|e| PageError::internal("decrypting a TOTP secret", e))?,
        ),
        None => None,
    };
    let key = verity_core::throttle::mfa_key(&user.uuid);
    let attempt = match Attempt::begin(state, key, client_address).await? {
        Ok(attempt) => attempt,
        Err(wait) => return Ok(Outcome::Locked(wait)),
    };
    let verdict = match &secret {
        Some(secret) => totp::check(secret, code, state.now(), user.totp_last_step),
        None => Verdict::Wrong,
    };
    let outcome = match verdict {
        Verdict::Fresh(step) if state.store.take_totp_step(&user.uuid, step).await? => {
            Outcome::Accepted {
                recovery_code: false,
            }
        }
        // Taken by a concurrent attempt since the user was read: a replay as well.
        Verdict::Fresh(_) | Verdict::AlreadyUsed => Outcome::AlreadyUsed,
        Verdict::Wrong => {
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
    match outcome {
        Outcome::Accepted { .. } => attempt.succeeded(state).await?,
        Outcome::AlreadyUsed => attempt.replayed(state).await?,
        Outcome::Locked(_) | Outcome::Rejected => {}
    }
    Ok(outcome)
}
