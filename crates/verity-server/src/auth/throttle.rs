//! Failed-attempt limits (`verity_core::throttle`): each attempt is counted against the account
//! (or its second factor) and the client address *before* the secret is checked, so that
//! concurrent attempts cannot slip past the limits.

use verity_core::throttle::{ACCOUNT_LIMIT, ADDRESS_LIMIT, LOCK, WINDOW, address_key};
use verity_store::Result;

use crate::state::AppState;

/// One attempt in progress: the counters it was taken from.
#[derive(Debug)]
pub struct Attempt {
    key: String,
    address: String,
}

impl Attempt {
    /// Counts an attempt on `key` (an account or second-factor key) from `client_address`.
    /// `Err(seconds to wait)` when either is over its limit.
    pub async fn begin(
        state: &AppState,
        key: String,
        client_address: &str,
    ) -> Result<std::result::Result<Attempt, i64>> {
        let address = address_key(client_address);
        let now = state.now();
        let own = state
            .store
            .take_attempt(&key, now, WINDOW, ACCOUNT_LIMIT, LOCK)
            .await?;
        if !own.allowed {
            return Ok(Err((own.locked_until - now).max(1)));
        }
        let place = state
            .store
            .take_attempt(&address, now, WINDOW, ADDRESS_LIMIT, LOCK)
            .await?;
        if !place.allowed {
            // This attempt never checked the account's secret: do not count it against the
            // account.
            state.store.release_attempt(&key).await?;
            return Ok(Err((place.locked_until - now).max(1)));
        }
        Ok(Ok(Attempt { key, address }))
    }

    /// The attempt succeeded: the account's counter starts again, the address gets its attempt
    /// back. (A failed attempt is simply dropped: it stays counted.)
    pub async fn succeeded(self, state: &AppState) -> Result<()> {
        state.store.clear_failures(&self.key).await?;
        state.store.release_attempt(&self.address).await?;
        Ok(())
    }

    /// The attempt presented a current code already used (a replay, refused): the account gets
    /// its attempt back, so an honest repeat does not lock anyone out; the address keeps it
    /// counted, so replays stay bounded by the address limit.
    pub async fn replayed(self, state: &AppState) -> Result<()> {
        state.store.release_attempt(&self.key).await
    }
}
