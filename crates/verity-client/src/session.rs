//! Tokens shared by many tasks, refreshed with single flight: callers that ask for a refresh at the
//! same time share one token request. With rotating refresh tokens, two parallel refreshes would
//! present the same token twice, and the provider revokes the whole family on reuse.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::client::Client;
use crate::error::Error;
use crate::token::Tokens;

/// The current tokens of one signed-in person.
#[derive(Debug)]
pub struct Session {
    client: Client,
    subject: Option<String>,
    /// Bumped by every completed refresh; a caller that saw an older value knows it was done.
    generation: AtomicU64,
    current: tokio::sync::Mutex<Tokens>,
}

impl Session {
    /// A session from the tokens of a code exchange; the person is the ID token's subject.
    pub fn new(client: Client, tokens: Tokens) -> Self {
        Session {
            client,
            subject: tokens.id_token.as_ref().map(|t| t.subject.clone()),
            generation: AtomicU64::new(0),
            current: tokio::sync::Mutex::new(tokens),
        }
    }

    /// A copy of the current tokens (waits while a refresh is under way).
    pub async fn tokens(&self) -> Tokens {
        self.current.lock().await.clone()
    }

    /// How many refreshes have completed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Refreshes, unless another caller's refresh finished while this one waited: then its result
    /// is returned.
    pub async fn refresh(&self) -> Result<Tokens, Error> {
        let seen = self.generation.load(Ordering::Acquire);
        let mut current = self.current.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return Ok(current.clone());
        }
        let refresh_token = current
            .refresh_token
            .clone()
            .ok_or_else(|| Error::Config("no refresh token was issued".into()))?;
        let mut fresh = self
            .client
            .refresh_with(
                &refresh_token,
                self.subject.as_deref(),
                current.dpop.as_ref(),
            )
            .await?;
        if fresh.id_token.is_none() {
            fresh.id_token = current.id_token.clone();
        }
        *current = fresh.clone();
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(fresh)
    }
}
