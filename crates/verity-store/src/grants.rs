//! Authorization codes and the tokens issued from them.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Result, Store, from_json, to_json};

/// An authorization code and everything it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code_hash: String,
    pub client_id: String,
    pub uuid: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub mfa: bool,
    pub eid: Option<String>,
    /// The session that authorized it (back-channel logout).
    pub sid: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What presenting a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakeCode {
    /// First use: the code is now consumed.
    Fresh(Code),
    /// Already used: a replay. The caller revokes the grant (whose id is the code hash).
    Replayed(Code),
    /// No such code.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// An access or refresh token (by digest) and its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token_hash: String,
    pub kind: TokenKind,
    /// The code hash that started the family.
    pub grant_id: String,
    pub client_id: String,
    pub uuid: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub mfa: bool,
    pub eid: Option<String>,
    pub sid: Option<String>,
    /// The refresh token this one replaced.
    pub parent_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn code_from_row(r: &SqliteRow) -> Result<Code> {
    let scopes: String = r.try_get("scopes")?;
    Ok(Code {
        code_hash: r.try_get("code_hash")?,
        client_id: r.try_get("client_id")?,
        uuid: r.try_get("uuid")?,
        redirect_uri: r.try_get("redirect_uri")?,
        scopes: from_json(&scopes)?,
        nonce: r.try_get("nonce")?,
        code_challenge: r.try_get("code_challenge")?,
        auth_time: r.try_get("auth_time")?,
        mfa: r.try_get("mfa")?,
        eid: r.try_get("eid")?,
        sid: r.try_get("sid")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

pub(crate) fn token_from_row(r: &SqliteRow) -> Result<Token> {
    let scopes: String = r.try_get("scopes")?;
    let kind: String = r.try_get("kind")?;
    Ok(Token {
        token_hash: r.try_get("token_hash")?,
        kind: if kind == "refresh" {
            TokenKind::Refresh
        } else {
            TokenKind::Access
        },
        grant_id: r.try_get("grant_id")?,
        client_id: r.try_get("client_id")?,
        uuid: r.try_get("uuid")?,
        scopes: from_json(&scopes)?,
        auth_time: r.try_get("auth_time")?,
        mfa: r.try_get("mfa")?,
        eid: r.try_get("eid")?,
        sid: r.try_get("sid")?,
        parent_hash: r.try_get("parent_hash")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    pub async fn insert_code(&self, c: &Code) -> Result<()> {
        let Store::Sqlite(pool) = self;
        sqlx::query(
            "INSERT INTO codes (code_hash, client_id, uuid, redirect_uri, scopes, nonce, code_challenge,
                auth_time, mfa, eid, sid, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.uuid)
        .bind(&c.redirect_uri)
        .bind(to_json(&c.scopes))
        .bind(&c.nonce)
        .bind(&c.code_challenge)
        .bind(c.auth_time)
        .bind(c.mfa)
        .bind(&c.eid)
        .bind(&c.sid)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Consumes a code: exactly one caller ever gets [`TakeCode::Fresh`] for a given code.
    /// Expiry is the caller's decision (an expired code is still consumed, never reusable).
    pub async fn take_code(&self, code_hash: &str, now: i64) -> Result<TakeCode> {
        let Store::Sqlite(pool) = self;
        let fresh = sqlx::query(
            "UPDATE codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL RETURNING *",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(pool)
        .await?;
        if let Some(row) = fresh {
            return Ok(TakeCode::Fresh(code_from_row(&row)?));
        }
        let used = sqlx::query("UPDATE codes SET replayed_at = ? WHERE code_hash = ? RETURNING *")
            .bind(now)
            .bind(code_hash)
            .fetch_optional(pool)
            .await?;
        Ok(match used {
            Some(row) => TakeCode::Replayed(code_from_row(&row)?),
            None => TakeCode::Unknown,
        })
    }

    /// Whether a code was presented again after its first use (see `take_code`).
    pub async fn find_code_replayed(&self, code_hash: &str) -> Result<bool> {
        let Store::Sqlite(pool) = self;
        let row = sqlx::query("SELECT replayed_at FROM codes WHERE code_hash = ?")
            .bind(code_hash)
            .fetch_optional(pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<i64>, _>("replayed_at")?.is_some(),
            None => false,
        })
    }

    /// Stores the tokens of one issuance in one transaction: committed before the client sees them.
    pub async fn insert_tokens(&self, tokens: &[Token]) -> Result<()> {
        let Store::Sqlite(pool) = self;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        for t in tokens {
            insert_token(&mut tx, t).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Revokes every token of a grant (code replay, refresh-token reuse); returns how many.
    pub async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<u64> {
        let Store::Sqlite(pool) = self;
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(grant_id)
        .execute(pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// A token by digest, whatever its state (the caller checks expiry and revocation).
    pub async fn find_token(&self, token_hash: &str) -> Result<Option<Token>> {
        let Store::Sqlite(pool) = self;
        let row = sqlx::query("SELECT * FROM tokens WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }
}

/// Inserts one token inside a transaction.
pub(crate) async fn insert_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    t: &Token,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO tokens (token_hash, kind, grant_id, client_id, uuid, scopes, auth_time, mfa, eid, sid,
            parent_hash, created_at, expires_at, used_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.token_hash)
    .bind(t.kind.as_str())
    .bind(&t.grant_id)
    .bind(&t.client_id)
    .bind(&t.uuid)
    .bind(to_json(&t.scopes))
    .bind(t.auth_time)
    .bind(t.mfa)
    .bind(&t.eid)
    .bind(&t.sid)
    .bind(&t.parent_hash)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.used_at)
    .bind(t.revoked_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The apps that hold tokens from a session (to notify them at logout).
    pub async fn find_session_clients(&self, sid: &str) -> Result<Vec<String>> {
        let Store::Sqlite(pool) = self;
        let rows =
            sqlx::query("SELECT DISTINCT client_id FROM tokens WHERE sid = ? ORDER BY client_id")
                .bind(sid)
                .fetch_all(pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("client_id")?)).collect()
    }
}
