//! Passkeys (SPEC 13): each person's registered WebAuthn credentials, and the ceremonies between
//! their two requests. What a credential proves, and whether an assertion is good, is the
//! WebAuthn library's and the server's; here they are only kept, counted and taken once.

use crate::Store;
use crate::audit::AuditEvent;
use crate::error::{Result, conflict_or};
use crate::lite::Begin;
use crate::sql::{insert, query, storable, stored};

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The credential id, base64url.
    pub credential_id: String,
    pub uuid: String,
    /// The person's name for it ("Work laptop").
    pub name: String,
    /// The verified credential as the WebAuthn library serializes it (public key, counter).
    pub credential: String,
    /// The key cannot leave its device (not backup eligible).
    pub hardware: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

stored!(StoredPasskey => "passkeys" {
    credential_id, uuid, name, credential, hardware, created_at, last_used_at,
});

/// A WebAuthn ceremony waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// What started it: the digest of an account session, or a sign-in interaction's id.
    pub binding: String,
    /// `register`, `signin` or `second_factor`.
    pub purpose: String,
    /// The account it is for (`None` for a passwordless sign-in, where the person is not known
    /// until they answer).
    pub uuid: Option<String>,
    /// The WebAuthn library's ceremony state, JSON.
    pub state: String,
    pub expires_at: i64,
}

stored!(Challenge => "passkey_challenges" {
    binding, purpose, uuid, state, expires_at,
});

const UPSERT_CHALLENGE: &str =
    "INSERT INTO passkey_challenges (binding, purpose, uuid, state, expires_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (binding, purpose) DO UPDATE
     SET uuid = excluded.uuid, state = excluded.state, expires_at = excluded.expires_at";

impl Store {
    /// Keeps a ceremony's state; a newer ceremony for the same binding and purpose replaces an
    /// older one (its challenge can no longer be answered).
    pub async fn put_passkey_challenge(&self, c: &Challenge) -> Result<()> {
        let q = query(UPSERT_CHALLENGE)
            .bind(c.binding.clone())
            .bind(c.purpose.clone())
            .bind(c.uuid.clone())
            .bind(c.state.clone())
            .bind(c.expires_at);
        self.exec(q).await?;
        Ok(())
    }

    /// Takes the ceremony waiting under `binding` for `purpose`: gone afterwards, so an answer
    /// replayed (or sent twice) finds nothing. An expired one is taken too, for the caller to
    /// refuse by its `expires_at`.
    pub async fn take_passkey_challenge(
        &self,
        binding: &str,
        purpose: &str,
    ) -> Result<Option<Challenge>> {
        if !storable(binding) {
            return Ok(None);
        }
        let take =
            query("DELETE FROM passkey_challenges WHERE binding = $1 AND purpose = $2 RETURNING *")
                .bind(binding.to_owned())
                .bind(purpose.to_owned());
        self.write_after(Vec::new(), take, |found: Option<Challenge>| {
            Ok((Vec::new(), found))
        })
        .await
    }

    /// Registers a passkey. [`crate::StoreError::Conflict`] when the credential is registered already
    /// (to this account or another).
    pub async fn insert_passkey(&self, p: &StoredPasskey) -> Result<()> {
        self.exec(insert(p)).await.map_err(conflict_or)?;
        Ok(())
    }

    /// A person's passkeys, oldest first.
    pub async fn find_passkeys(&self, uuid: &str) -> Result<Vec<StoredPasskey>> {
        if !storable(uuid) {
            return Ok(Vec::new());
        }
        let q = query("SELECT * FROM passkeys WHERE uuid = $1 ORDER BY created_at, credential_id");
        self.fetch_all(q.bind(uuid.to_owned())).await
    }

    /// The passkey with this credential id, whoever holds it.
    pub async fn find_passkey(&self, credential_id: &str) -> Result<Option<StoredPasskey>> {
        if !storable(credential_id) {
            return Ok(None);
        }
        let q = query("SELECT * FROM passkeys WHERE credential_id = $1");
        self.fetch_opt(q.bind(credential_id.to_owned())).await
    }

    /// Records a successful use: the credential as updated by the assertion (its counter), and
    /// when. Only if its stored counter is still `previous` (two simultaneous uses of one
    /// credential cannot both move it): false when another use got there first.
    pub async fn record_passkey_use(
        &self,
        credential_id: &str,
        previous: &str,
        credential: &str,
        now: i64,
    ) -> Result<bool> {
        let q = query(
            "UPDATE passkeys SET credential = $3, last_used_at = $4
             WHERE credential_id = $1 AND credential = $2",
        )
        .bind(credential_id.to_owned())
        .bind(previous.to_owned())
        .bind(credential.to_owned())
        .bind(now);
        Ok(self.exec(q).await? == 1)
    }

    /// Removes one of `uuid`'s passkeys; false when it has no such passkey.
    pub async fn delete_passkey(&self, uuid: &str, credential_id: &str) -> Result<bool> {
        if !storable(uuid) || !storable(credential_id) {
            return Ok(false);
        }
        let q = query("DELETE FROM passkeys WHERE uuid = $1 AND credential_id = $2")
            .bind(uuid.to_owned())
            .bind(credential_id.to_owned());
        Ok(self.exec(q).await? == 1)
    }

    /// An operator's recovery for a person who lost every second factor: the authenticator app,
    /// recovery codes, passkeys and their open ceremonies go, and every session of the person
    /// ends (they sign in again with the password alone, then set up a new factor), in one
    /// transaction with `audit`.
    pub async fn remove_second_factors(&self, uuid: &str, audit: &AuditEvent) -> Result<()> {
        let by_uuid = |sql: &'static str| query(sql).bind(uuid.to_owned());
        self.write(
            Begin::Write,
            vec![
                by_uuid(
                    "UPDATE users SET totp_secret = NULL, totp_last_step = NULL
                         WHERE uuid = $1",
                ),
                by_uuid("DELETE FROM recovery_codes WHERE uuid = $1"),
                by_uuid("DELETE FROM passkeys WHERE uuid = $1"),
                by_uuid("DELETE FROM passkey_challenges WHERE uuid = $1"),
                by_uuid("DELETE FROM sessions WHERE uuid = $1"),
                insert(audit),
            ],
        )
        .await?;
        Ok(())
    }
}
