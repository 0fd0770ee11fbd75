//! Authorization codes and the tokens issued from them.

use verity_core::identity::UserData;

use std::sync::LazyLock;

use crate::audit::{AUDIT_COLUMNS, AuditEvent, bind_audit, insert_audit_on};
use crate::lite::{LiteRow, LiteTx};
use crate::query::{Query, Spelt, insert_sql, placeholders, spelt};
use crate::sessions::Session;
use crate::users::{data_columns, data_from_row};
use crate::{
    Fields, Result, Store, StoreError, WritePool, dispatch, from_json, query, storable, to_json,
};

/// A code with its account's claims data, in one statement.
static CODE_AND_USER: Spelt = Spelt::new(|| {
    [false, true].map(|pg| {
        format!(
            "SELECT c.*, {} FROM codes c LEFT JOIN users u ON u.uuid = c.uuid
             WHERE c.code_hash = $1",
            data_columns(pg, "c.uuid")
        )
    })
});

/// A token with its account's claims data, in one statement.
static TOKEN_AND_USER: Spelt = Spelt::new(|| {
    [false, true].map(|pg| {
        format!(
            "SELECT t.*, {} FROM tokens t LEFT JOIN users u ON u.uuid = t.uuid
             WHERE t.token_hash = $1",
            data_columns(pg, "t.uuid")
        )
    })
});

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

/// A code as its redemption reads it: whether it was used already, and the account it was
/// issued for (with what claims are built from; `None` once the account is deleted).
#[derive(Debug, Clone)]
pub struct FoundCode {
    pub code: Code,
    pub used: bool,
    pub user: Option<UserData>,
}

/// The authorization request's side of a [`Code`]: what it is bound to but the session (the
/// account, its authentication, `sid`), which [`CodeRequest::for_session`] adds.
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    pub code_hash: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub eid: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl CodeRequest<'_> {
    /// The code, issued in `session`.
    pub fn for_session(&self, session: &Session) -> Code {
        Code {
            code_hash: self.code_hash.to_owned(),
            client_id: self.client_id.to_owned(),
            uuid: session.uuid.clone(),
            redirect_uri: self.redirect_uri.to_owned(),
            scopes: self.scopes.to_vec(),
            nonce: self.nonce.map(str::to_owned),
            code_challenge: self.code_challenge.map(str::to_owned),
            auth_time: session.auth_time,
            mfa: session.mfa,
            eid: self.eid.map(str::to_owned),
            sid: Some(session.sid.clone()),
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }

    /// Binds the values [`code_from_session`] numbered.
    pub(crate) fn bind<'q>(&self, q: Query<'q>) -> Query<'q>
    where
        Self: 'q,
    {
        q.bind(self.code_hash)
            .bind(self.client_id)
            .bind(self.redirect_uri)
            .bind(to_json(&self.scopes))
            .bind(self.nonce)
            .bind(self.code_challenge)
            .bind(self.eid)
            .bind(self.created_at)
            .bind(self.expires_at)
    }
}

/// What a token request presents for a code (RFC 6749 4.1.3, RFC 7636 4.6), for
/// [`Store::redeem_presented`] to check as it consumes the code.
#[derive(Debug, Clone, Copy)]
pub struct CodePresentation<'a> {
    /// The authenticated client.
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// The S256 challenge of the presented verifier; `None` when none was presented, which
    /// matches only a code issued without a challenge.
    pub challenge: Option<&'a str>,
    pub now: i64,
}

/// The tokens one redemption stores, by digest, with their expiry. Their grant (the family's
/// id, the account, scopes, authentication and session) is the code's.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    pub access: (&'a str, i64),
    pub refresh: Option<(&'a str, i64)>,
    pub created_at: i64,
}

impl Issued<'_> {
    /// The rows stored for `code`.
    pub fn rows(&self, code: &Code) -> Vec<Token> {
        let token = |kind: TokenKind, (hash, expires_at): (&str, i64)| Token {
            token_hash: hash.to_owned(),
            kind,
            grant_id: code.code_hash.clone(),
            client_id: code.client_id.clone(),
            uuid: code.uuid.clone(),
            scopes: code.scopes.clone(),
            auth_time: code.auth_time,
            mfa: code.mfa,
            eid: code.eid.clone(),
            sid: code.sid.clone(),
            parent_hash: None,
            created_at: self.created_at,
            expires_at,
            used_at: None,
            revoked_at: None,
        };
        let mut rows = vec![token(TokenKind::Access, self.access)];
        rows.extend(self.refresh.map(|r| token(TokenKind::Refresh, r)));
        rows
    }
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
    pub(crate) fn as_str(self) -> &'static str {
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

fn code_from_row(r: &impl Fields) -> Result<Code> {
    let scopes: String = r.col("scopes")?;
    Ok(Code {
        code_hash: r.col("code_hash")?,
        client_id: r.col("client_id")?,
        uuid: r.col("uuid")?,
        redirect_uri: r.col("redirect_uri")?,
        scopes: from_json(&scopes)?,
        nonce: r.col("nonce")?,
        code_challenge: r.col("code_challenge")?,
        auth_time: r.col("auth_time")?,
        mfa: r.col("mfa")?,
        eid: r.col("eid")?,
        sid: r.col("sid")?,
        created_at: r.col("created_at")?,
        expires_at: r.col("expires_at")?,
    })
}

pub(crate) fn token_from_row(r: &impl Fields) -> Result<Token> {
    let scopes: String = r.col("scopes")?;
    let kind: String = r.col("kind")?;
    Ok(Token {
        token_hash: r.col("token_hash")?,
        kind: if kind == "refresh" {
            TokenKind::Refresh
        } else {
            TokenKind::Access
        },
        grant_id: r.col("grant_id")?,
        client_id: r.col("client_id")?,
        uuid: r.col("uuid")?,
        scopes: from_json(&scopes)?,
        auth_time: r.col("auth_time")?,
        mfa: r.col("mfa")?,
        eid: r.col("eid")?,
        sid: r.col("sid")?,
        parent_hash: r.col("parent_hash")?,
        created_at: r.col("created_at")?,
        expires_at: r.col("expires_at")?,
        used_at: r.col("used_at")?,
        revoked_at: r.col("revoked_at")?,
    })
}

impl Store {
    pub async fn insert_code(&self, c: &Code) -> Result<()> {
        dispatch!(self, pool, {
            insert_code_query(c).execute(pool).await?;
            Ok(())
        })
    }

    /// Deletes a code that was stored but not issued (see [`Store::find_signed_in_with_code`]).
    pub async fn delete_code(&self, code_hash: &str) -> Result<()> {
        dispatch!(self, pool, {
            query("DELETE FROM codes WHERE code_hash = $1 AND used_at IS NULL")
                .bind(code_hash)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Consumes a code: exactly one caller ever gets [`TakeCode::Fresh`] for a given code.
    /// Expiry is the caller's decision (an expired code is still consumed, never reusable).
    pub async fn take_code(&self, code_hash: &str, now: i64) -> Result<TakeCode> {
        if !storable(code_hash) {
            return Ok(TakeCode::Unknown);
        }
        dispatch!(self, pool, {
            let fresh = query(
            "UPDATE codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL RETURNING *",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(pool)
        .await?;
            if let Some(row) = fresh {
                return Ok(TakeCode::Fresh(code_from_row(&row)?));
            }
            let used = query("UPDATE codes SET replayed_at = $1 WHERE code_hash = $2 RETURNING *")
                .bind(now)
                .bind(code_hash)
                .fetch_optional(pool)
                .await?;
            Ok(match used {
                Some(row) => TakeCode::Replayed(code_from_row(&row)?),
                None => TakeCode::Unknown,
            })
        })
    }

    /// A code and its account, read in one statement, without consuming it: what the token
    /// endpoint reads to say why [`Store::redeem_presented`] took nothing.
    pub async fn find_code_and_user(&self, code_hash: &str) -> Result<Option<FoundCode>> {
        if !storable(code_hash) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let Some(row) = query(spelt(&CODE_AND_USER, pool))
                .bind(code_hash)
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            let code = code_from_row(&row)?;
            let used = row.col::<Option<i64>>("used_at")?.is_some();
            let user = data_from_row(&row, &code.uuid)?;
            Ok(Some(FoundCode { code, used, user }))
        })
    }

    /// Redeems a code in one step when the presentation holds: the statement that consumes the
    /// code checks it (the client, the redirect URI, the PKCE challenge, expiry, the account
    /// still there) and stores `issued` and `audit` (its `uuid` is the code's) with it,
    /// atomically: one statement on PostgreSQL (see [`guarded_grant`] for why a conditional
    /// update in a statement is safe), one transaction on SQLite.
    ///
    /// `None`, with nothing written, when anything does not hold: the code is unknown, used,
    /// expired, bound to something else, or its account is gone. The caller then reads the code
    /// to say why ([`Store::find_code_and_user`]). Exactly one presentation of a code ever
    /// stores tokens, and a replay that finds the code used finds its tokens too.
    pub async fn redeem_presented(
        &self,
        code_hash: &str,
        presented: &CodePresentation<'_>,
        issued: &Issued<'_>,
        audit: &AuditEvent,
    ) -> Result<Option<(Code, UserData)>> {
        let texts = [code_hash, presented.client_id, presented.redirect_uri];
        if !texts.into_iter().all(storable) {
            // Not a stored value (a NUL on PostgreSQL): the caller's reading says why.
            return Ok(None);
        }
        let guard = query(
            "UPDATE codes SET used_at = $1
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 AND client_id = $3
               AND redirect_uri = $4 AND code_challenge IS NOT DISTINCT FROM $5
               AND EXISTS (SELECT 1 FROM users WHERE users.uuid = codes.uuid)
             RETURNING *",
        )
        .bind(presented.now)
        .bind(code_hash)
        .bind(presented.client_id)
        .bind(presented.redirect_uri)
        .bind(presented.challenge);
        match self {
            Store::Postgres(pool, _) => {
                let row = code_grant(guard, issued, audit)
                    .fetch_optional(pool)
                    .await?;
                row.as_ref().map(found_in).transpose()
            }
            Store::Sqlite(pool, ..) => {
                let mut tx = pool.begin_write().await?;
                // Nothing taken: the transaction rolls back as it is dropped.
                if guard.fetch_optional(&mut tx).await?.is_none() {
                    return Ok(None);
                }
                let row = query(spelt(&CODE_AND_USER, pool))
                    .bind(code_hash)
                    .fetch_one(&mut tx)
                    .await?;
                let (code, user) = found_in(&row)?;
                for t in issued.rows(&code) {
                    insert_token(&t).execute(&mut tx).await?;
                }
                let audit = AuditEvent {
                    uuid: Some(code.uuid.clone()),
                    ..audit.clone()
                };
                insert_audit_on(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(Some((code, user)))
            }
        }
    }

    /// Whether a code was presented again after its first use (see `take_code`).
    pub async fn find_code_replayed(&self, code_hash: &str) -> Result<bool> {
        if !storable(code_hash) {
            return Ok(false);
        }
        dispatch!(self, pool, {
            let row = query("SELECT replayed_at FROM codes WHERE code_hash = $1")
                .bind(code_hash)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => r.col::<Option<i64>>("replayed_at")?.is_some(),
                None => false,
            })
        })
    }

    /// Stores the tokens of one issuance in one transaction (all or none).
    pub async fn insert_tokens(&self, tokens: &[Token]) -> Result<()> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            for t in tokens {
                insert_token(t).execute(&mut tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Revokes every token of a grant (code replay, refresh-token reuse); returns how many.
    pub async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<u64> {
        dispatch!(self, pool, {
            let done = query(
                "UPDATE tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(grant_id)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    /// A token by digest with its account and what claims are built from (`None` once the
    /// account is deleted), read in one statement.
    pub async fn find_token_and_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Token, Option<UserData>)>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let Some(row) = query(spelt(&TOKEN_AND_USER, pool))
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            let token = token_from_row(&row)?;
            let user = data_from_row(&row, &token.uuid)?;
            Ok(Some((token, user)))
        })
    }

    /// A token by digest, whatever its state (the caller checks expiry and revocation).
    pub async fn find_token(&self, token_hash: &str) -> Result<Option<Token>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let row = query("SELECT * FROM tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(token_from_row).transpose()
        })
    }
}

/// The columns a code is stored with, in the order [`insert_code_query`] binds them.
pub(crate) const CODE_COLUMNS: &str = "code_hash, client_id, uuid, redirect_uri, scopes, nonce, \
     code_challenge, auth_time, mfa, eid, sid, created_at, expires_at";

/// The statement storing one code.
pub(crate) fn insert_code_query(c: &Code) -> Query<'_> {
    static SQL: LazyLock<String> = LazyLock::new(|| insert_sql("codes", CODE_COLUMNS));
    query(SQL.as_str())
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
}

/// PostgreSQL: the values of [`CODE_COLUMNS`] for a code stored from a row `s` of a session
/// (its account, authentication and `sid`) and the placeholders, numbered on from `last`, that
/// [`CodeRequest::bind`] binds.
pub(crate) fn code_from_session(last: &mut usize) -> String {
    let mut next = || {
        *last += 1;
        format!("${last}")
    };
    let (hash, client, redirect, scopes, nonce, challenge) =
        (next(), next(), next(), next(), next(), next());
    let (eid, created, expires) = (next(), next(), next());
    format!(
        "{hash}, {client}, s.uuid, {redirect}, {scopes}, {nonce}, {challenge}, s.auth_time, \
         s.mfa, {eid}, coalesce(s.sid, ''), {created}, {expires}"
    )
}

/// The columns a token is stored with, in the order [`bind_token`] binds them.
const TOKEN_COLUMNS: &str = "token_hash, kind, grant_id, client_id, uuid, scopes, auth_time, mfa, \
     eid, sid, parent_hash, created_at, expires_at, used_at, revoked_at";

/// Binds a token's values, in the order of [`TOKEN_COLUMNS`].
fn bind_token<'q>(q: Query<'q>, t: &'q Token) -> Query<'q> {
    q.bind(&t.token_hash)
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
}

/// The statement storing one token (inside a transaction).
pub(crate) fn insert_token(t: &Token) -> Query<'_> {
    static SQL: LazyLock<String> = LazyLock::new(|| insert_sql("tokens", TOKEN_COLUMNS));
    bind_token(query(SQL.as_str()), t)
}

/// PostgreSQL: a grant's writes as one statement. `guard` is a data-modifying statement (with
/// its arguments bound) that returns a row only when the grant may go on: the code or the
/// refresh token taken. The statement stores `tokens` and `audit` only from that row, runs
/// `also` (further `WITH` items, which may read `guard`), and answers `guard`'s rows.
///
/// A statement is atomic on its own, and a conditional `UPDATE` in it waits for a concurrent
/// one's row lock and checks again, as it does in a transaction: of two presentations one takes
/// the row and the other stores nothing. It is one round trip to the server where the same
/// writes as a transaction (`BEGIN`, the update, each insert, `COMMIT`) took six or seven, each
/// costing both processes a wake-up.
pub(crate) fn guarded_grant<'q>(
    guard: Query<'q>,
    also: &str,
    tokens: &'q [Token],
    audit: Option<&'q AuditEvent>,
) -> Query<'q> {
    let mut last = guard.args().len();
    let mut sql = format!("WITH guard AS ({}){also}", guard.sql());
    if !tokens.is_empty() {
        let rows: Vec<String> = tokens
            .iter()
            .map(|_| format!("({})", placeholders(&mut last, TOKEN_COLUMNS)))
            .collect();
        sql += &format!(
            ", issued AS (INSERT INTO tokens ({TOKEN_COLUMNS}) SELECT v.* FROM guard, \
             (VALUES {}) AS v({TOKEN_COLUMNS}) RETURNING 1)",
            rows.join(", ")
        );
    }
    if audit.is_some() {
        sql += &format!(
            ", audited AS (INSERT INTO audit_events ({AUDIT_COLUMNS}) SELECT {} FROM guard \
             RETURNING 1)",
            placeholders(&mut last, AUDIT_COLUMNS)
        );
    }
    sql += " SELECT * FROM guard";
    let mut q = guard.with_sql(sql);
    for t in tokens {
        q = bind_token(q, t);
    }
    if let Some(e) = audit {
        q = bind_audit(q, e);
    }
    q
}

/// The account's claims data in a row of [`CODE_AND_USER`]'s columns, which a redemption that
/// went through always has (it checked that the account exists).
fn found_in(row: &impl Fields) -> Result<(Code, UserData)> {
    let code = code_from_row(row)?;
    let user = data_from_row(row, &code.uuid)?.ok_or_else(|| {
        StoreError::Corrupt("a code was redeemed for an account that is missing".into())
    })?;
    Ok((code, user))
}

/// PostgreSQL: [`Store::redeem_presented`] as one statement. `guard` consumes the code; the
/// tokens and the audit row take their grant (account, scopes, authentication, session) from
/// the row it returns, and the statement answers that row with the account's claims data.
fn code_grant<'q>(guard: Query<'q>, issued: &'q Issued<'q>, audit: &'q AuditEvent) -> Query<'q> {
    let mut last = guard.args().len();
    let mut rows = Vec::new();
    let values = |last: &mut usize| format!("({})", placeholders(last, "a, b, c, d"));
    rows.push(values(&mut last));
    if issued.refresh.is_some() {
        rows.push(values(&mut last));
    }
    let sql = format!(
        "WITH guard AS ({guard}),
         issued AS (INSERT INTO tokens ({TOKEN_COLUMNS})
           SELECT v.token_hash, v.kind, g.code_hash, g.client_id, g.uuid, g.scopes, g.auth_time,
                  g.mfa, g.eid, g.sid, NULL, v.created_at, v.expires_at, NULL, NULL
           FROM guard g, (VALUES {rows}) AS v(token_hash, kind, created_at, expires_at)
           RETURNING 1),
         audited AS (INSERT INTO audit_events ({AUDIT_COLUMNS})
           SELECT {audit_values} FROM guard g RETURNING 1)
         SELECT g.*, {data} FROM guard g LEFT JOIN users u ON u.uuid = g.uuid",
        guard = guard.sql(),
        rows = rows.join(", "),
        audit_values = {
            let at = placeholders(&mut last, "at, event");
            let rest = placeholders(&mut last, "client_id, address, request_id, detail");
            format!("{at}, g.uuid, {rest}")
        },
        data = data_columns(true, "g.uuid"),
    );
    let now = issued.created_at;
    let mut q = guard
        .with_sql(sql)
        .bind(issued.access.0)
        .bind(TokenKind::Access.as_str())
        .bind(now)
        .bind(issued.access.1);
    if let Some((hash, expires_at)) = issued.refresh {
        q = q
            .bind(hash)
            .bind(TokenKind::Refresh.as_str())
            .bind(now)
            .bind(expires_at);
    }
    q.bind(audit.at)
        .bind(&audit.event)
        .bind(&audit.client_id)
        .bind(&audit.address)
        .bind(&audit.request_id)
        .bind(to_json(&audit.detail))
}

/// SQLite: [`guarded_grant`]'s writes in the open write transaction `tx`: `guard`, then, only
/// when it returned a row, `tokens` and `audit`. The row; `None`, with nothing written, when
/// `guard` took nothing. The caller commits.
pub(crate) async fn guarded_grant_in(
    tx: &mut LiteTx,
    guard: Query<'_>,
    tokens: &[Token],
    audit: Option<&AuditEvent>,
) -> Result<Option<LiteRow>> {
    let Some(row) = guard.fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    for t in tokens {
        insert_token(t).execute(&mut *tx).await?;
    }
    if let Some(e) = audit {
        insert_audit_on(&mut *tx, e).await?;
    }
    Ok(Some(row))
}

impl Store {
    /// The apps that hold tokens from a session (to notify them at logout).
    pub async fn find_session_clients(&self, sid: &str) -> Result<Vec<String>> {
        if !storable(sid) {
            return Ok(Vec::new());
        }
        dispatch!(self, pool, {
            let rows =
                query("SELECT DISTINCT client_id FROM tokens WHERE sid = $1 ORDER BY client_id")
                    .bind(sid)
                    .fetch_all(pool)
                    .await?;
            rows.iter().map(|r| r.col("client_id")).collect()
        })
    }
}
