//! Single-use links mailed to a person (`verity_core::email_link`): a password reset and the
//! confirmation of the sign-in email. Kept by digest; each is taken once, atomically, together
//! with what using it does (a new password and the end of every session and token; a confirmed
//! email), so that a link used in two tabs at once works in exactly one.

use verity_core::email_link::Purpose;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::lite::Begin;
use crate::sql::{Fields, FromRow, query, storable};

/// A mailed link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    /// SHA-256 (hex) of the link's token; the token itself is only in the mail.
    pub token_hash: String,
    pub purpose: Purpose,
    pub uuid: String,
    /// The address mailed: a confirmation link confirms only that address.
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl FromRow for EmailToken {
    fn from_row(r: &impl Fields) -> Result<Self> {
        let purpose: String = r.col("purpose")?;
        Ok(EmailToken {
            token_hash: r.col("token_hash")?,
            purpose: Purpose::parse(&purpose)
                .ok_or_else(|| StoreError::Corrupt(format!("email token purpose {purpose:?}")))?,
            uuid: r.col("uuid")?,
            email: r.col("email")?,
            created_at: r.col("created_at")?,
            expires_at: r.col("expires_at")?,
            used_at: r.col("used_at")?,
        })
    }
}

/// The person whose link was taken.
struct TakenBy {
    uuid: String,
    email: String,
}

impl FromRow for TakenBy {
    fn from_row(r: &impl Fields) -> Result<Self> {
        Ok(TakenBy {
            uuid: r.col("uuid")?,
            email: r.col("email")?,
        })
    }
}

/// Takes the unused, live link `$2` of purpose `$3` at `$1`: a row only for the one caller that
/// used it.
const TAKE: &str = "UPDATE email_tokens SET used_at = $1
    WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
    RETURNING uuid, email";

impl Store {
    /// Stores a new link. A new reset link replaces the person's earlier ones (they stop
    /// working: only the newest mail's link does), in the same transaction.
    pub async fn insert_email_token(&self, t: &EmailToken) -> Result<()> {
        let mut statements = Vec::new();
        if t.purpose == Purpose::Reset {
            let q = query(
                "UPDATE email_tokens SET used_at = $1
                 WHERE uuid = $2 AND purpose = $3 AND used_at IS NULL",
            );
            statements.push(q.bind(t.created_at).bind(&t.uuid).bind(t.purpose.as_str()));
        }
        let insert = query(
            "INSERT INTO email_tokens
               (token_hash, purpose, uuid, email, created_at, expires_at, used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        );
        statements.push(
            insert
                .bind(&t.token_hash)
                .bind(t.purpose.as_str())
                .bind(&t.uuid)
                .bind(&t.email)
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.used_at),
        );
        self.write(Begin::Write, statements).await?;
        Ok(())
    }

    /// A link by digest, used or not (the page says which: `verity_core::email_link::usable`).
    pub async fn find_email_token(&self, token_hash: &str) -> Result<Option<EmailToken>> {
        let q = query("SELECT * FROM email_tokens WHERE token_hash = $1");
        self.fetch_opt_by(q, token_hash).await
    }

    /// Uses reset link `token_hash` at `now`, in ONE transaction: the link is taken (unused,
    /// live, a reset link: otherwise nothing changes and the answer is `None`), the account's
    /// password becomes `password_hash`, its email counts as confirmed (the link reached it),
    /// and everything the old password may have opened ends: every session, every access and
    /// refresh token (revoked), every authorization code not yet redeemed (marked used, so a
    /// late redemption is refused as a replay and revokes its grant), every sign-in in
    /// progress, and every other reset link. The account's uuid when it was taken.
    pub async fn take_reset_token(
        &self,
        token_hash: &str,
        now: i64,
        password_hash: &str,
    ) -> Result<Option<String>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        let read = query(TAKE)
            .bind(now)
            .bind(token_hash)
            .bind(Purpose::Reset.as_str());
        let password_hash = password_hash.to_owned();
        self.write_after(Vec::new(), read, move |taken: Option<TakenBy>| {
            let Some(TakenBy { uuid, .. }) = taken else {
                return Ok((Vec::new(), None));
            };
            let by = |sql: &'static str| query(sql).bind(now).bind(uuid.clone());
            let statements = vec![
                query(
                    "UPDATE users SET password_hash = $1,
                       email_confirmed_at = COALESCE(email_confirmed_at, $2) WHERE uuid = $3",
                )
                .bind(password_hash)
                .bind(now)
                .bind(uuid.clone()),
                query("DELETE FROM sessions WHERE uuid = $1").bind(uuid.clone()),
                query("DELETE FROM interactions WHERE uuid = $1").bind(uuid.clone()),
                by("UPDATE tokens SET revoked_at = $1 WHERE uuid = $2 AND revoked_at IS NULL"),
                by("UPDATE codes SET used_at = $1 WHERE uuid = $2 AND used_at IS NULL"),
                by("UPDATE email_tokens SET used_at = $1
                    WHERE uuid = $2 AND purpose = 'reset' AND used_at IS NULL"),
            ];
            Ok((statements, Some(uuid)))
        })
        .await
    }

    /// Uses confirmation link `token_hash` at `now`: the link is taken (unused, live, a
    /// confirmation link) and the account's sign-in email is confirmed, if it is still the
    /// address mailed and not confirmed already, in one transaction. The account's uuid when
    /// the link was taken.
    pub async fn take_confirm_token(&self, token_hash: &str, now: i64) -> Result<Option<String>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        let read = query(TAKE)
            .bind(now)
            .bind(token_hash)
            .bind(Purpose::Confirm.as_str());
        self.write_after(Vec::new(), read, move |taken: Option<TakenBy>| {
            let Some(TakenBy { uuid, email }) = taken else {
                return Ok((Vec::new(), None));
            };
            let confirm = query(
                "UPDATE users SET email_confirmed_at = $1
                 WHERE uuid = $2 AND email = $3 AND email_confirmed_at IS NULL",
            );
            let statements = vec![confirm.bind(now).bind(uuid.clone()).bind(email)];
            Ok((statements, Some(uuid)))
        })
        .await
    }
}
