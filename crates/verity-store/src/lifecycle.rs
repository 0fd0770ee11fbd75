//! The later life of grants: refresh-token rotation with reuse detection, revocation, client
//! assertion replay protection, and the purge of expired rows.

use crate::Store;
use crate::audit::AuditEvent;
use crate::dialect::{FORGET_PREDECESSOR_RETRY, guarded_grant};
use crate::error::Result;
use crate::lite::{Begin, LitePool};
use crate::sql::{FromRow, Query, query, storable};
use crate::tokens::{Token, TokenKind, guarded_grant_in};

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotate {
    /// It was live: it is now used, and the new tokens are stored (one transaction).
    Rotated(Token),
    /// It was already used (or its family revoked): a replay. The caller revokes the family.
    Reused(Token),
    /// No such refresh token.
    Unknown,
}

/// Rows removed by one purge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub codes: u64,
    pub tokens: u64,
    pub sessions: u64,
    pub interactions: u64,
    pub jtis: u64,
    pub auth_failures: u64,
    /// Limit counters whose window is over.
    pub rate_limits: u64,
    /// Pushed authorization requests never used.
    pub pushed_requests: u64,
    /// WebAuthn ceremonies never finished.
    pub passkey_challenges: u64,
    /// Mailed reset and confirmation links past their lifetime.
    pub email_tokens: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.codes
            + self.tokens
            + self.sessions
            + self.interactions
            + self.jtis
            + self.auth_failures
            + self.rate_limits
            + self.pushed_requests
            + self.passkey_challenges
            + self.email_tokens
    }
}

impl Store {
    /// Consumes a live refresh token and stores its `successors` atomically with it, so that of
    /// two concurrent presentations exactly one rotates (and stores its successors; the other's
    /// are never stored), and a crash loses neither the old token's state nor the new ones. The
    /// caller builds the successors from the token as it read it: what they take from it (the
    /// grant, client, account, scopes, times of sign-in) never changes after it is stored.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
        successors: &[Token],
    ) -> Result<Rotate> {
        self.rotate_refresh_token_with_retry(token_hash, now, None, None, successors)
            .await
    }

    /// [`Store::rotate_refresh_token`], keeping `retry` (the sealed answer, and until when it
    /// may be given again) on the old token (see [`Store::find_refresh_retry`]), and writing
    /// `audit` atomically with the rotation when the token rotates.
    pub async fn rotate_refresh_token_with_retry(
        &self,
        token_hash: &str,
        now: i64,
        retry: Option<(&[u8], i64)>,
        audit: Option<&AuditEvent>,
        successors: &[Token],
    ) -> Result<Rotate> {
        if !storable(token_hash) {
            return Ok(Rotate::Unknown);
        }
        let take = query(
            "UPDATE tokens SET used_at = $1, retry_response = $3, retry_until = $4
             WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL
             RETURNING *",
        )
        .bind(now)
        .bind(token_hash)
        .bind(retry.map(|(r, _)| r))
        .bind(retry.map(|(_, until)| until));
        let rotated = match self {
            Store::Postgres(..) => {
                let grant = guarded_grant(take, FORGET_PREDECESSOR_RETRY, successors, audit);
                self.fetch_opt(grant).await?
            }
            Store::Sqlite(pool, ..) => rotate_on_sqlite(pool, take, successors, audit).await?,
        };
        Ok(match rotated {
            Some(old) => Rotate::Rotated(old),
            None => match self.find_token(token_hash).await? {
                Some(t) if t.kind == TokenKind::Refresh => Rotate::Reused(t),
                _ => Rotate::Unknown,
            },
        })
    }

    /// The sealed answer of a used refresh token's rotation, if it may be given again: before
    /// `retry_until`, with the family not revoked and the successor refresh token never used.
    pub async fn find_refresh_retry(&self, token_hash: &str, now: i64) -> Result<Option<Vec<u8>>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        let q = query(
            "SELECT p.retry_response FROM tokens p
             JOIN tokens c ON c.parent_hash = p.token_hash AND c.kind = 'refresh'
             WHERE p.token_hash = $1 AND p.retry_until > $2 AND p.revoked_at IS NULL
               AND c.used_at IS NULL AND c.revoked_at IS NULL",
        );
        let retry: Option<Option<Vec<u8>>> = self.fetch_opt(q.bind(token_hash).bind(now)).await?;
        Ok(retry.flatten())
    }

    /// RFC 7009: revokes one token; for a refresh token, the whole grant (RFC 7009 2.1 "SHOULD").
    /// Only the client the token was issued to may revoke it. Returns whether anything changed.
    pub async fn revoke_token(&self, token_hash: &str, client_id: &str, now: i64) -> Result<bool> {
        if !storable(token_hash) || !storable(client_id) {
            return Ok(false);
        }
        let Some(t) = self.find_token(token_hash).await? else {
            return Ok(false);
        };
        if t.client_id != client_id {
            return Ok(false);
        }
        if t.kind == TokenKind::Refresh {
            return Ok(self.revoke_grant(&t.grant_id, now).await? > 0);
        }
        let q =
            query("UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL");
        Ok(self.exec(q.bind(now).bind(token_hash)).await? == 1)
    }

    /// Revokes every token descended from a session (logout). Returns how many.
    pub async fn revoke_session_tokens(&self, sid: &str, now: i64) -> Result<u64> {
        let q = query("UPDATE tokens SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL");
        self.exec(q.bind(now).bind(sid)).await
    }

    /// RFC 7523 3: records a client assertion's `jti`; false when it was seen before (a replay).
    pub async fn take_jti(&self, client_id: &str, jti: &str, expires_at: i64) -> Result<bool> {
        if !storable(client_id) || !storable(jti) {
            return Ok(false);
        }
        let q = query(
            "INSERT INTO used_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        );
        Ok(self
            .exec(q.bind(client_id).bind(jti).bind(expires_at))
            .await?
            == 1)
    }

    /// Deletes what has expired: one step, called by a periodic task and directly by tests.
    /// Tokens are kept `grace` seconds past expiry so that a late replay is still recognised
    /// (and answered as a replay rather than as an unknown token). One statement at a time,
    /// each on its own.
    pub async fn purge_expired(&self, now: i64, grace: i64) -> Result<Purged> {
        let cutoff = now - grace;
        let before = |sql: &'static str, at: i64| self.exec(query(sql).bind(at));
        let codes = before("DELETE FROM codes WHERE expires_at < $1", cutoff).await?;
        let tokens = before("DELETE FROM tokens WHERE expires_at < $1", cutoff).await?;
        before(
            "UPDATE tokens SET retry_response = NULL, retry_until = NULL WHERE retry_until < $1",
            now,
        )
        .await?;
        let sessions = before("DELETE FROM sessions WHERE expires_at < $1", now).await?;
        let interactions = before("DELETE FROM interactions WHERE expires_at < $1", now).await?;
        let jtis = before("DELETE FROM used_jtis WHERE expires_at < $1", now).await?;
        let failures =
            query("DELETE FROM auth_failures WHERE window_start < $1 AND locked_until < $2");
        let auth_failures = self.exec(failures.bind(cutoff).bind(now)).await?;
        let rate_limits = before("DELETE FROM rate_limits WHERE window_end <= $1", now).await?;
        let pushed_requests =
            before("DELETE FROM pushed_requests WHERE expires_at < $1", now).await?;
        let passkey_challenges =
            before("DELETE FROM passkey_challenges WHERE expires_at < $1", now).await?;
        // Kept through the grace too, so a late click is still told "expired", not "unknown".
        let email_tokens = before("DELETE FROM email_tokens WHERE expires_at < $1", cutoff).await?;
        Ok(Purged {
            codes,
            tokens,
            sessions,
            interactions,
            jtis,
            auth_failures,
            rate_limits,
            pushed_requests,
            passkey_challenges,
            email_tokens,
        })
    }

    /// How many live tokens a grant has (for tests and introspection of families).
    pub async fn count_live_tokens(&self, grant_id: &str, now: i64) -> Result<i64> {
        if !storable(grant_id) {
            return Ok(0);
        }
        let q = query(
            "SELECT COUNT(*) AS n FROM tokens
             WHERE grant_id = $1 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $2",
        );
        let count: Option<i64> = self.fetch_opt(q.bind(grant_id).bind(now)).await?;
        Ok(count.unwrap_or(0))
    }
}

/// SQLite's rotation, in one write transaction: [`guarded_grant_in`] with `take` (the old
/// token's conditional update), the successors and the audit row, and the predecessor's retry
/// answer cleared. `None`, with nothing written, when `take` took nothing.
async fn rotate_on_sqlite(
    pool: &LitePool,
    take: Query<'_>,
    successors: &[Token],
    audit: Option<&AuditEvent>,
) -> Result<Option<Token>> {
    pool.write(Begin::Write, |tx| {
        let Some(row) = guarded_grant_in(tx, take, successors, audit)? else {
            return Ok(None);
        };
        let old = Token::from_row(&row)?;
        // The old token's predecessor no longer needs its retry answer.
        if let Some(parent) = &old.parent_hash {
            let forget = query(
                "UPDATE tokens SET retry_response = NULL, retry_until = NULL
                 WHERE token_hash = $1 AND retry_response IS NOT NULL",
            );
            tx.execute(forget.bind(parent))?;
        }
        Ok(Some(old))
    })
    .await
}
