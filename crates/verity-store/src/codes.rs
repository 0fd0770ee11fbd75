//! Authorization codes: issued in a session, and redeemed once for tokens.

use verity_core::identity::UserData;

use crate::Store;
use crate::audit::AuditEvent;
use crate::dialect::{Spelt, code_grant, data_columns, read_then_insert};
use crate::error::{Result, StoreError};
use crate::lite::Begin;
use crate::sessions::{SIGNED_IN, Session, SignedIn, signed_in_from, signed_in_query};
use crate::sql::{Fields, FromRow, Query, insert, query, storable, stored, to_json};
use crate::tokens::{Token, TokenKind};
use crate::users::data_from_row;

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

impl<'a> CodeRequest<'a> {
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

    /// The statement (PostgreSQL, in [`read_then_insert`]) that stores this code for the
    /// session row `s` (its account, authentication and `sid`), when it has an account.
    fn insert_from_session(&self, q: Query<'a>) -> Query<'a> {
        q.push(
            "INSERT INTO codes (code_hash, client_id, uuid, redirect_uri, scopes, nonce, \
             code_challenge, auth_time, mfa, eid, sid, created_at, expires_at) SELECT ",
        )
        .push_list([self.code_hash.into(), self.client_id.into()])
        .push(", s.uuid, ")
        .push_list([
            self.redirect_uri.into(),
            to_json(&self.scopes).into(),
            self.nonce.into(),
            self.code_challenge.into(),
        ])
        .push(", s.auth_time, s.mfa, ")
        .push_bind(self.eid)
        .push(", coalesce(s.sid, ''), ")
        .push_list([self.created_at.into(), self.expires_at.into()])
        .push(" FROM s WHERE s.data_email IS NOT NULL")
    }
}

/// A row of [`CODE_AND_USER`].
impl FromRow for FoundCode {
    fn from_row(r: &impl Fields) -> Result<Self> {
        let code = Code::from_row(r)?;
        let used = r.col::<Option<i64>>("used_at")?.is_some();
        let user = data_from_row(r, &code.uuid)?;
        Ok(FoundCode { code, used, user })
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

stored!(Code => "codes" {
    code_hash, client_id, uuid, redirect_uri, scopes [json], nonce, code_challenge,
    auth_time, mfa, eid, sid, created_at, expires_at,
});

impl Store {
    pub async fn insert_code(&self, c: &Code) -> Result<()> {
        self.exec(insert(c)).await?;
        Ok(())
    }

    /// Deletes a code that was stored but not issued (see [`Store::find_signed_in_with_code`]).
    pub async fn delete_code(&self, code_hash: &str) -> Result<()> {
        let q = query("DELETE FROM codes WHERE code_hash = $1 AND used_at IS NULL");
        self.exec(q.bind(code_hash)).await?;
        Ok(())
    }

    /// Consumes a code: exactly one caller ever gets [`TakeCode::Fresh`] for a given code.
    /// Expiry is the caller's decision (an expired code is still consumed, never reusable).
    pub async fn take_code(&self, code_hash: &str, now: i64) -> Result<TakeCode> {
        if !storable(code_hash) {
            return Ok(TakeCode::Unknown);
        }
        let fresh = query(
            "UPDATE codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL RETURNING *",
        );
        if let Some(code) = self.fetch_opt(fresh.bind(now).bind(code_hash)).await? {
            return Ok(TakeCode::Fresh(code));
        }
        let used = query("UPDATE codes SET replayed_at = $1 WHERE code_hash = $2 RETURNING *");
        Ok(
            match self.fetch_opt(used.bind(now).bind(code_hash)).await? {
                Some(code) => TakeCode::Replayed(code),
                None => TakeCode::Unknown,
            },
        )
    }

    /// A code and its account, read in one statement, without consuming it: what the token
    /// endpoint reads to say why [`Store::redeem_presented`] took nothing.
    pub async fn find_code_and_user(&self, code_hash: &str) -> Result<Option<FoundCode>> {
        if !storable(code_hash) {
            return Ok(None);
        }
        let q = query(self.spelt(&CODE_AND_USER)).bind(code_hash);
        self.fetch_opt(q).await
    }

    /// Redeems a code in one step when the presentation holds: the statement that consumes the
    /// code checks it (the client, the redirect URI, the PKCE challenge, expiry, the account
    /// still there) and stores `issued` and `audit` (its `uuid` is the code's) with it,
    /// atomically: one statement on PostgreSQL (see `dialect::guarded_grant` for why a
    /// conditional update in a statement is safe), one transaction on SQLite.
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
                let now = issued.created_at;
                let mut tokens = vec![(
                    issued.access.0,
                    TokenKind::Access.as_str(),
                    now,
                    issued.access.1,
                )];
                if let Some((hash, expires_at)) = issued.refresh {
                    tokens.push((hash, TokenKind::Refresh.as_str(), now, expires_at));
                }
                let row = code_grant(guard, &tokens, audit)
                    .fetch_optional(pool)
                    .await?;
                row.as_ref().map(found_in).transpose()
            }
            Store::Sqlite(pool, ..) => {
                pool.write(Begin::Write, |tx| {
                    // Nothing taken: nothing is written.
                    if tx.fetch_optional(guard)?.is_none() {
                        return Ok(None);
                    }
                    let read = query(self.spelt(&CODE_AND_USER)).bind(code_hash);
                    let row = tx.fetch_optional(read)?.ok_or_else(|| {
                        StoreError::Corrupt("a code taken is not there to read".into())
                    })?;
                    let (code, user) = found_in(&row)?;
                    for t in issued.rows(&code) {
                        tx.execute(insert(&t))?;
                    }
                    let audit = AuditEvent {
                        uuid: Some(code.uuid.clone()),
                        ..audit.clone()
                    };
                    tx.execute(insert(&audit))?;
                    Ok(Some((code, user)))
                })
                .await
            }
        }
    }

    /// Whether a code was presented again after its first use (see `take_code`).
    pub async fn find_code_replayed(&self, code_hash: &str) -> Result<bool> {
        if !storable(code_hash) {
            return Ok(false);
        }
        let q = query("SELECT replayed_at FROM codes WHERE code_hash = $1");
        let replayed_at: Option<Option<i64>> = self.fetch_opt(q.bind(code_hash)).await?;
        Ok(replayed_at.flatten().is_some())
    }

    /// [`Store::find_signed_in`], and in the same step (one statement on PostgreSQL, one
    /// transaction on SQLite) the code `code` for the session's account when there is one:
    /// what single sign-on's authorization request issues, stored before the caller decides,
    /// so that the usual request costs one round trip instead of two. A caller that then
    /// decides not to issue the code deletes it ([`Store::delete_code`]); its value was never
    /// given to anyone, and a code left behind by a crash in between expires unused.
    pub async fn find_signed_in_with_code(
        &self,
        id_hash: &str,
        now: i64,
        code: &CodeRequest<'_>,
    ) -> Result<Option<SignedIn>> {
        if !storable(id_hash) || !storable(code.client_id) {
            return Ok(None);
        }
        let signed_in = |sql| signed_in_query(sql, id_hash, now, code.client_id);
        match self {
            Store::Postgres(pool, _) => {
                let statement = read_then_insert(signed_in(self.spelt(&SIGNED_IN)), |q| {
                    code.insert_from_session(q)
                });
                let row = statement.fetch_optional(pool).await?;
                signed_in_from(row.as_ref())
            }
            Store::Sqlite(pool, ..) => {
                pool.write(Begin::Write, |tx| {
                    let row = tx.fetch_optional(signed_in(self.spelt(&SIGNED_IN)))?;
                    let Some(found) = signed_in_from(row.as_ref())? else {
                        return Ok(None);
                    };
                    tx.execute(insert(&code.for_session(&found.session)))?;
                    Ok(Some(found))
                })
                .await
            }
        }
    }
}

/// The account's claims data in a row of [`CODE_AND_USER`]'s columns, which a redemption that
/// went through always has (it checked that the account exists).
fn found_in(row: &impl Fields) -> Result<(Code, UserData)> {
    let code = Code::from_row(row)?;
    let user = data_from_row(row, &code.uuid)?.ok_or_else(|| {
        StoreError::Corrupt("a code was redeemed for an account that is missing".into())
    })?;
    Ok((code, user))
}
