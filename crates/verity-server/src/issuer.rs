//! Minting and signing what Verity issues: the token response of a grant (from a code or a
//! refresh token), the ID token, and every other JWT a route signs (userinfo answers, logout
//! tokens). Signing runs off the async threads with the active key of the app's algorithm.

use std::sync::Arc;

use verity_core::claims::{self, Authentication, Issue};
use verity_core::dpop::Binding;
use verity_core::grant::Issuance;
use verity_core::identity::UserData;
use verity_core::keys::{Alg, SigningKey, at_hash};
use verity_core::secret::token_hash;
use verity_proto::token::TokenResponse;
use verity_store::apps::App;
use verity_store::grants::{Token, TokenKind};

use crate::assurance::add_verified_claims;
use crate::error::ApiError;
use crate::state::AppState;

/// The rows of an issuance's tokens: an access token, and a refresh token when `refresh` is
/// given (the successor of the one it rotates, if any).
pub fn token_rows(
    app: &App,
    g: &Issuance,
    now: i64,
    access: &str,
    refresh: Option<&str>,
    bound: &Binding,
) -> Vec<Token> {
    let token = |kind: TokenKind, raw: &str, ttl: i64| Token {
        token_hash: token_hash(raw),
        kind,
        grant_id: g.grant_id.clone(),
        client_id: app.client_id.clone(),
        uuid: g.uuid.clone(),
        scopes: g.scopes.clone(),
        auth_time: g.auth_time,
        mfa: g.mfa,
        passkey: g.passkey,
        eid: g.eid.clone(),
        sid: g.sid.clone(),
        parent_hash: match kind {
            TokenKind::Refresh => g.parent.clone(),
            TokenKind::Access => None,
        },
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
        revoked_at: None,
        claims: g.claims.clone(),
        dpop_jkt: match kind {
            TokenKind::Access => bound.access.clone(),
            TokenKind::Refresh => bound.refresh.clone(),
        },
    };
    let mut rows = vec![token(TokenKind::Access, access, app.access_ttl)];
    rows.extend(refresh.map(|r| token(TokenKind::Refresh, r, app.refresh_ttl)));
    rows
}

/// The token response, with an ID token when `openid` was granted.
pub async fn respond_with(
    state: &AppState,
    app: &App,
    g: &Issuance,
    user: &UserData,
    now: i64,
    (access, refresh): (String, Option<String>),
    bound: &Binding,
) -> Result<TokenResponse, ApiError> {
    let id_token = if g.has_id_token() {
        Some(id_token(state, app, g, user, &access, now).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        // RFC 9449 5: a DPoP-bound access token's type.
        token_type: if bound.access.is_some() {
            "DPoP".into()
        } else {
            "bearer".into()
        },
        expires_in: app.access_ttl,
        scope: g.scopes.join(" "),
        refresh_expires_in: refresh.as_ref().map(|_| app.refresh_ttl),
        refresh_token: refresh,
        id_token,
        access_token: access,
    })
}

/// Signs a claim set with the app's algorithm, off the async threads (an RS256 signature is
/// about 0.2 ms of CPU).
pub async fn sign(
    state: &AppState,
    alg: Alg,
    typ: &'static str,
    claims: serde_json::Value,
) -> Result<String, ApiError> {
    let key = signing_key(state, alg)?;
    tokio::task::spawn_blocking(move || key.sign_jwt(typ, &claims))
        .await
        .map_err(|e| ApiError::internal("signing task", e))?
        .map_err(|e| ApiError::internal("signing", e))
}

/// The active key for an app's signing algorithm.
pub fn signing_key(state: &AppState, alg: Alg) -> Result<Arc<SigningKey>, ApiError> {
    state
        .signing_key(alg)
        .ok_or_else(|| ApiError::internal("signing", format!("no active {} key", alg.as_str())))
}

/// OIDC Core 2 / SPEC 5: the ID token.
async fn id_token(
    state: &AppState,
    app: &App,
    g: &Issuance,
    user: &UserData,
    access: &str,
    now: i64,
) -> Result<String, ApiError> {
    let auth = g.auth();
    let policies = state.policies_for(g.scopes.iter().map(String::as_str));
    let mut attributes = claims::attribute_claims(&policies, app.profile, user, auth);
    let asked = g.claims.as_ref().map(|c| c.id_token.as_slice());
    add_verified_claims(state, app.profile, asked, &policies, user, &mut attributes).await?;
    let claims = claims::id_token(
        &Issue {
            issuer: &state.issuer,
            client_id: &app.client_id,
            now,
            ttl: app.access_ttl,
        },
        user,
        &Authentication {
            auth_time: g.auth_time,
            nonce: g.nonce.as_deref(),
            at_hash: Some(at_hash(access)),
            auth,
            sid: g.sid.as_deref(),
        },
        attributes,
    );
    sign(state, app.id_token_alg, "JWT", claims).await
}
