//! Access and refresh tokens (by digest), each bound to the grant its code started.

use verity_core::assurance::ClaimsRequest;
use verity_core::authn::KeyUse;
use verity_core::grant::RefreshGrant;
use verity_core::identity::UserData;
use verity_core::values::ClientId;

use crate::Store;
use crate::audit::AuditEvent;
use crate::dialect::{Spelt, row_with_user};
use crate::error::Result;
use crate::lite::{Begin, LiteRow, LiteTx};
use crate::sql::{Fields, FromRow, Query, insert, query, stored};
use crate::users::data_from_row;

/// A token with its account's claims data, in one statement.
static TOKEN_AND_USER: Spelt = Spelt::new(|| row_with_user("tokens", "token_hash"));

/// Stored by name: a row of another kind is corrupt, never taken for an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// An access or refresh token (by digest) and its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token_hash: String,
    pub kind: TokenKind,
    /// The code hash that started the family.
    pub grant_id: String,
    pub client_id: ClientId,
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
    /// What the grant's authorization request asked of identity assurance.
    pub claims: Option<ClaimsRequest>,
    /// RFC 9449: the thumbprint of the DPoP key the token is bound to (`cnf.jkt`); `None` for a
    /// bearer token.
    pub dpop_jkt: Option<String>,
    /// The passkey the sign-in used, if one.
    pub passkey: Option<KeyUse>,
}

stored!(Token => "tokens" {
    token_hash, kind [text], grant_id, client_id [text], uuid, scopes [json], auth_time, mfa,
    eid, sid, parent_hash, created_at, expires_at, used_at, revoked_at, claims [json], dpop_jkt,
    passkey [text],
});

impl Token {
    /// How the sign-in behind it authenticated (its `amr`, `acr`, `credential_aal`).
    pub fn auth(&self) -> verity_core::authn::AuthFacts {
        verity_core::authn::AuthFacts {
            mfa: self.mfa,
            passkey: self.passkey,
        }
    }

    /// What its redemption as a refresh token must match (`verity_core::grant::refresh`).
    pub fn as_refresh(&self) -> RefreshGrant<'_> {
        RefreshGrant {
            token_hash: &self.token_hash,
            grant_id: &self.grant_id,
            client_id: &self.client_id,
            uuid: &self.uuid,
            scopes: &self.scopes,
            auth_time: self.auth_time,
            mfa: self.mfa,
            passkey: self.passkey,
            eid: self.eid.as_deref(),
            sid: self.sid.as_deref(),
            claims: self.claims.as_ref(),
            expires_at: self.expires_at,
        }
    }
}

/// A row of [`TOKEN_AND_USER`].
struct TokenAndUser(Token, Option<UserData>);

impl FromRow for TokenAndUser {
    fn from_row(r: &impl Fields) -> Result<Self> {
        let token = Token::from_row(r)?;
        let user = data_from_row(r, &token.uuid)?;
        Ok(TokenAndUser(token, user))
    }
}

impl Store {
    /// Stores the tokens of one issuance in one transaction (all or none).
    pub async fn insert_tokens(&self, tokens: &[Token]) -> Result<()> {
        self.write(Begin::Write, tokens.iter().map(insert).collect())
            .await?;
        Ok(())
    }

    /// Revokes every token of a grant (code replay, refresh-token reuse); returns how many.
    pub async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<u64> {
        let q =
            query("UPDATE tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL");
        self.exec(q.bind(now).bind(grant_id)).await
    }

    /// A token by digest with its account and what claims are built from (`None` once the
    /// account is deleted), read in one statement.
    pub async fn find_token_and_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Token, Option<UserData>)>> {
        let q = query(self.spelt(&TOKEN_AND_USER));
        let found: Option<TokenAndUser> = self.fetch_opt_by(q, token_hash).await?;
        Ok(found.map(|TokenAndUser(token, user)| (token, user)))
    }

    /// A token by digest, whatever its state (the caller checks expiry and revocation).
    pub async fn find_token(&self, token_hash: &str) -> Result<Option<Token>> {
        let q = query("SELECT * FROM tokens WHERE token_hash = $1");
        self.fetch_opt_by(q, token_hash).await
    }

    /// The apps that hold tokens from a session (to notify them at logout).
    pub async fn find_session_clients(&self, sid: &str) -> Result<Vec<String>> {
        let q = query("SELECT DISTINCT client_id FROM tokens WHERE sid = $1 ORDER BY client_id");
        self.fetch_all_by(q, sid).await
    }
}

/// SQLite: [`crate::dialect::guarded_grant`]'s writes in the open write transaction `tx`:
/// `guard`, then, only when it returned a row, `tokens` and `audit`. The row; `None`, with
/// nothing written, when `guard` took nothing.
pub(crate) fn guarded_grant_in(
    tx: &mut LiteTx<'_>,
    guard: Query<'_>,
    tokens: &[Token],
    audit: Option<&AuditEvent>,
) -> Result<Option<LiteRow>> {
    let Some(row) = tx.fetch_optional(guard)? else {
        return Ok(None);
    };
    for t in tokens {
        tx.execute(insert(t))?;
    }
    if let Some(e) = audit {
        tx.execute(insert(e))?;
    }
    Ok(Some(row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::guarded_grant;

    #[test]
    fn guarded_grant_numbers_its_rows_after_the_guard() {
        let token = Token {
            token_hash: "t".into(),
            kind: TokenKind::Access,
            grant_id: "g".into(),
            client_id: "c".into(),
            uuid: "u".into(),
            scopes: vec![],
            auth_time: 0,
            mfa: false,
            eid: None,
            sid: None,
            parent_hash: None,
            created_at: 0,
            expires_at: 0,
            used_at: None,
            revoked_at: None,
            claims: None,
            dpop_jkt: None,
            passkey: None,
        };
        let audit = AuditEvent {
            at: 0,
            event: "e".into(),
            uuid: None,
            client_id: None,
            address: None,
            request_id: None,
            detail: serde_json::Value::Null,
        };
        let tokens = [token];
        let guard = query("UPDATE x SET a = $1 RETURNING *").bind(1);
        let q = guarded_grant(guard, "", &tokens, Some(&audit));
        let columns = "token_hash, kind, grant_id, client_id, uuid, scopes, auth_time, mfa, eid, \
                       sid, parent_hash, created_at, expires_at, used_at, revoked_at, claims, \
                       dpop_jkt, passkey";
        let values: Vec<String> = (2..=19).map(|n| format!("${n}")).collect();
        let audited: Vec<String> = (20..=26).map(|n| format!("${n}")).collect();
        let expected = format!(
            "WITH guard AS (UPDATE x SET a = $1 RETURNING *), issued AS (INSERT INTO tokens \
             ({columns}) SELECT v.* FROM guard, (VALUES ({})) AS v({columns}) RETURNING 1), \
             audited AS (INSERT INTO audit_events (at, event, uuid, client_id, address, \
             request_id, detail) SELECT {} FROM guard RETURNING 1) SELECT * FROM guard",
            values.join(", "),
            audited.join(", ")
        );
        assert_eq!(q.sql(), expected);
        assert_eq!(q.args().len(), 26);
    }
}
