//! RFC 6749 3.2 / 4.1.3 / OIDC Core 3.1.3: the token endpoint (SPEC section 4).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use verity_core::authorize::Params;
use verity_core::claims::{self, Authentication, Issue};
use verity_core::grant::{
    CodeBinding, GrantError, Presented, challenge_to_match, check_code, refresh_scopes,
};
use verity_core::identity::{AuthFacts, Family, UserData};
use verity_core::keys::{Alg, SigningKey, at_hash};
use verity_core::secret::{is_token_shaped, new_token, token_hash};
use verity_proto::error::ErrorCode;
use verity_proto::token::TokenResponse;
use verity_store::apps::App;
use verity_store::grants::{Code, CodePresentation, Issued, TakeCode, Token, TokenKind};
use verity_store::lifecycle::Rotate;

use crate::error::ApiError;
use crate::extract::client_request_params;
use crate::routes::client::authenticate;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
}

/// RFC 6749 3.2: form or (SPEC 4) JSON body; client authentication; the grant.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let params = client_request_params(&headers, body)?;
    let app = authenticate(&state, &headers, &params).await?;
    if let Some(name) = params.first_repeated() {
        return Err(ApiError::invalid_request(format!(
            "parameter {name} is repeated"
        )));
    }
    let response = match params.get("grant_type") {
        None => return Err(ApiError::invalid_request("grant_type is missing")),
        Some("authorization_code") => authorization_code(&state, &app, &params, &headers).await?,
        Some("refresh_token") => refresh_token(&state, &app, &params, &headers).await?,
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::UnsupportedGrantType,
                "this grant type is not supported",
            ));
        }
    };
    let mut resp = axum::Json(response).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// RFC 6749 4.1.3 + RFC 7636 4.6: redeem a code.
///
/// The usual presentation is checked by the statement that consumes the code and stores its
/// tokens ([`verity_store::Store::redeem_presented`]: one round trip on PostgreSQL), and the ID
/// token is signed after it. When that takes nothing (or is not tried), the code is read to say
/// why, and a refused presentation consumes it (a replay revokes its tokens).
async fn authorization_code(
    state: &AppState,
    app: &App,
    params: &Params,
    headers: &HeaderMap,
) -> Result<TokenResponse, ApiError> {
    let now = state.now();
    let code = params
        .get("code")
        .ok_or_else(|| ApiError::invalid_request("code is missing"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| ApiError::invalid_request("redirect_uri is missing"))?;
    if !is_token_shaped(code) {
        return Err(invalid_code());
    }
    let hash = token_hash(code);
    let presented = Presented {
        client_id: &app.client_id,
        public_client: app.public,
        redirect_uri,
        code_verifier: params.get("code_verifier"),
        now,
    };
    // Tried only with a key to sign the ID token with: without one, the code is left unconsumed.
    let can_sign = signing_key(state, &app.id_token_alg).is_ok();
    if let (true, Some(challenge)) = (can_sign, challenge_to_match(&presented)) {
        let redeemed = redeem(state, app, headers, &hash, &presented, challenge.as_deref());
        if let Some(response) = redeemed.await? {
            return Ok(response);
        }
    }
    let Some(found) = state.store.find_code_and_user(&hash).await? else {
        return Err(invalid_code());
    };
    if found.used {
        return Err(spend(state, app, &hash, now, headers, invalid_code()).await?);
    }
    let code = found.code;
    let binding = CodeBinding {
        client_id: &code.client_id,
        redirect_uri: &code.redirect_uri,
        code_challenge: code.code_challenge.as_deref(),
        expires_at: code.expires_at,
    };
    if let Err(e) = check_code(&binding, &presented) {
        // A failed presentation still consumes the code: it is never redeemable afterwards.
        return Err(spend(state, app, &hash, now, headers, grant_error(e)).await?);
    }
    if found.user.is_none() {
        return Err(ApiError::invalid_grant("the account no longer exists"));
    }
    // Every check holds: no key signs for the app (an error, the code unconsumed, when it
    // needs an ID token), or the code changed since the one-step write.
    if code.scopes.iter().any(|s| s == "openid") {
        signing_key(state, &app.id_token_alg)?;
    }
    let redeemed = redeem(
        state,
        app,
        headers,
        &hash,
        &presented,
        binding.code_challenge,
    );
    match redeemed.await? {
        Some(response) => Ok(response),
        // Another presentation consumed the code since it was read.
        None => Err(spend(state, app, &hash, now, headers, invalid_code()).await?),
    }
}

/// [`verity_store::Store::redeem_presented`] with `challenge` (what the verifier hashes to,
/// [`challenge_to_match`]), then the answer. `None`, with nothing written, when the code is
/// not one `presented` redeems. The ID token is signed after the commit: should signing fail,
/// the tokens nobody was given are revoked, and the client starts a new authorization.
async fn redeem(
    state: &AppState,
    app: &App,
    headers: &HeaderMap,
    hash: &str,
    presented: &Presented<'_>,
    challenge: Option<&str>,
) -> Result<Option<TokenResponse>, ApiError> {
    let now = presented.now;
    let access = new_token();
    let refresh = app.refresh_tokens.then(new_token);
    let access_hash = token_hash(&access);
    let refresh_hash = refresh.as_deref().map(token_hash);
    let issued = Issued {
        access: (&access_hash, now + app.access_ttl),
        refresh: refresh_hash.as_deref().map(|h| (h, now + app.refresh_ttl)),
        created_at: now,
    };
    let at_store = CodePresentation {
        client_id: presented.client_id,
        redirect_uri: presented.redirect_uri,
        challenge,
        now,
    };
    let mut audit = state.audit_event(
        "token.issued",
        None,
        Some(&app.client_id),
        headers,
        json!({"grant": "authorization_code"}),
    );
    let Some((code, user)) = state
        .store
        .redeem_presented(hash, &at_store, &issued, &audit)
        .await?
    else {
        return Ok(None);
    };
    audit.uuid = Some(code.uuid.clone());
    let grant = Grant::from_code(&code);
    let response = match respond_with(state, app, &grant, &user, now, access, refresh).await {
        Ok(response) => response,
        Err(e) => {
            // Tokens nobody was given: revoke them, so that they are not live while the
            // client's retry is refused as a replay.
            if let Err(revoking) = state.store.revoke_grant(hash, now).await {
                tracing::error!(error = %revoking, "revoking the tokens of a grant that was not answered");
            }
            return Err(e);
        }
    };
    state.audited(&audit);
    Ok(Some(response))
}

fn invalid_code() -> ApiError {
    ApiError::invalid_grant("the code is invalid")
}

/// Spends a code that is refused, and answers `refusal` if this was its first use. If it was
/// used already, this is a replay (RFC 6749 4.1.2 / RFC 9700 4.5): it is marked, the tokens the
/// code produced are revoked, and the answer says the code was used.
async fn spend(
    state: &AppState,
    app: &App,
    code_hash: &str,
    now: i64,
    headers: &HeaderMap,
    refusal: ApiError,
) -> Result<ApiError, ApiError> {
    let TakeCode::Replayed(code) = state.store.take_code(code_hash, now).await? else {
        return Ok(refusal);
    };
    let revoked = state.store.revoke_grant(code_hash, now).await?;
    tracing::warn!(client_id = %app.client_id, revoked, "authorization code replayed; its tokens are revoked");
    state
        .audit(
            "code.replayed",
            Some(&code.uuid),
            Some(&app.client_id),
            headers,
            json!({"revoked": revoked}),
        )
        .await;
    Ok(ApiError::invalid_grant("the code was already used"))
}

/// RFC 6749 6 / RFC 9700 4.14: refresh with rotation. The presented token is consumed atomically
/// together with the storing of its successors; presenting a used token again revokes the whole
/// family (every token of the grant), the successor included.
async fn refresh_token(
    state: &AppState,
    app: &App,
    params: &Params,
    headers: &HeaderMap,
) -> Result<TokenResponse, ApiError> {
    let now = state.now();
    let raw = params
        .get("refresh_token")
        .ok_or_else(|| ApiError::invalid_request("refresh_token is missing"))?;
    if !is_token_shaped(raw) {
        return Err(ApiError::invalid_grant("the refresh token is invalid"));
    }
    let hash = token_hash(raw);
    let (current, user) = state
        .store
        .find_token_and_user(&hash)
        .await?
        .filter(|(t, _)| t.kind == TokenKind::Refresh)
        .ok_or_else(|| ApiError::invalid_grant("the refresh token is invalid"))?;
    if current.client_id != app.client_id {
        return Err(ApiError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if now >= current.expires_at {
        return Err(ApiError::invalid_grant("the refresh token has expired"));
    }
    if !app.refresh_tokens {
        return Err(ApiError::invalid_grant(
            "refresh tokens are turned off for this app",
        ));
    }
    let scopes =
        refresh_scopes(&current.scopes, &app.policies, params.get("scope")).map_err(grant_error)?;
    let user = user.ok_or_else(|| ApiError::invalid_grant("the account no longer exists"))?;
    let access = new_token();
    let refresh = new_token();
    let grant = Grant::from_token(&current, &scopes);
    let tokens = token_rows(app, &grant, now, &access, &refresh);
    // The answer is made before the rotation commits, so that it can be kept (sealed) with it.
    let response = respond_with(state, app, &grant, &user, now, access, Some(refresh)).await?;
    let window = state.settings.refresh_retry_window;
    let sealed = if window > 0 {
        let json = serde_json::to_vec(&response)
            .map_err(|e| ApiError::internal("serializing the token response", e))?;
        Some(
            state
                .master_key
                .encrypt(&json, retry_aad(&hash).as_bytes())
                .map_err(|e| ApiError::internal("sealing the token response", e))?,
        )
    } else {
        None
    };
    let retry = sealed.as_deref().map(|s| (s, now + window));
    let audit = state.audit_event(
        "token.refreshed",
        Some(&current.uuid),
        Some(&app.client_id),
        headers,
        json!({}),
    );
    match state
        .store
        .rotate_refresh_token_with_retry(&hash, now, retry, Some(&audit), &tokens)
        .await?
    {
        Rotate::Rotated(_) => state.audited(&audit),
        Rotate::Reused(old) => {
            // The same client again, before using what it was answered: that answer was lost
            // on its way (a node killed, a connection cut). It gets the same answer once more;
            // one successor exists, never two.
            if window > 0
                && let Some(sealed) = state.store.find_refresh_retry(&hash, now).await?
            {
                let again = state
                    .master_key
                    .decrypt(&sealed, retry_aad(&hash).as_bytes())
                    .ok()
                    .and_then(|json| serde_json::from_slice::<TokenResponse>(&json).ok());
                if let Some(again) = again {
                    state
                        .audit(
                            "token.refreshed",
                            Some(&old.uuid),
                            Some(&app.client_id),
                            headers,
                            json!({"answered_again": true}),
                        )
                        .await;
                    return Ok(again);
                }
            }
            let revoked = state.store.revoke_grant(&old.grant_id, now).await?;
            tracing::warn!(client_id = %app.client_id, revoked, "refresh token reused; its family is revoked");
            state
                .audit(
                    "refresh.reused",
                    Some(&old.uuid),
                    Some(&app.client_id),
                    headers,
                    json!({"revoked": revoked}),
                )
                .await;
            return Err(ApiError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        Rotate::Unknown => return Err(ApiError::invalid_grant("the refresh token is invalid")),
    }
    Ok(response)
}

/// Binds a sealed retry answer to the refresh token it answers.
fn retry_aad(token_hash: &str) -> String {
    format!("verity refresh retry {token_hash}")
}

/// What tokens are issued for, whether from a code or a refresh token.
struct Grant<'a> {
    grant_id: &'a str,
    uuid: &'a str,
    scopes: &'a [String],
    auth_time: i64,
    mfa: bool,
    eid: Option<&'a str>,
    sid: Option<&'a str>,
    nonce: Option<&'a str>,
    parent: Option<&'a str>,
}

impl<'a> Grant<'a> {
    fn from_code(code: &'a Code) -> Self {
        Grant {
            grant_id: &code.code_hash,
            uuid: &code.uuid,
            scopes: &code.scopes,
            auth_time: code.auth_time,
            mfa: code.mfa,
            eid: code.eid.as_deref(),
            sid: code.sid.as_deref(),
            nonce: code.nonce.as_deref(),
            parent: None,
        }
    }

    fn from_token(t: &'a Token, scopes: &'a [String]) -> Self {
        Grant {
            grant_id: &t.grant_id,
            uuid: &t.uuid,
            scopes,
            auth_time: t.auth_time,
            mfa: t.mfa,
            eid: t.eid.as_deref(),
            sid: t.sid.as_deref(),
            // OIDC Core 12.2: a refreshed ID token carries no nonce.
            nonce: None,
            parent: Some(&t.token_hash),
        }
    }
}

/// The rows of a refresh grant's successors: an access token and the next refresh token.
fn token_rows(app: &App, g: &Grant<'_>, now: i64, access: &str, refresh: &str) -> Vec<Token> {
    let token = |kind: TokenKind, raw: &str, ttl: i64| Token {
        token_hash: token_hash(raw),
        kind,
        grant_id: g.grant_id.to_owned(),
        client_id: app.client_id.clone(),
        uuid: g.uuid.to_owned(),
        scopes: g.scopes.to_vec(),
        auth_time: g.auth_time,
        mfa: g.mfa,
        eid: g.eid.map(str::to_owned),
        sid: g.sid.map(str::to_owned),
        parent_hash: if kind == TokenKind::Refresh {
            g.parent.map(str::to_owned)
        } else {
            None
        },
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
        revoked_at: None,
    };
    vec![
        token(TokenKind::Access, access, app.access_ttl),
        token(TokenKind::Refresh, refresh, app.refresh_ttl),
    ]
}

/// The token response, with an ID token when `openid` was granted.
async fn respond_with(
    state: &AppState,
    app: &App,
    g: &Grant<'_>,
    user: &UserData,
    now: i64,
    access: String,
    refresh: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let id_token = if g.scopes.iter().any(|s| s == "openid") {
        Some(id_token(state, app, g, user, &access, now).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        token_type: "bearer".into(),
        expires_in: app.access_ttl,
        scope: g.scopes.join(" "),
        refresh_expires_in: refresh.as_ref().map(|_| app.refresh_ttl),
        refresh_token: refresh,
        id_token,
        access_token: access,
    })
}

pub fn family(app: &App) -> Family {
    if app.profile == "oidc" {
        Family::Oidc
    } else {
        Family::Idme
    }
}

/// Signs a claim set with the app's algorithm, off the async threads (an RS256 signature is
/// about 0.2 ms of CPU).
pub async fn sign(
    state: &AppState,
    alg: &str,
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
fn signing_key(state: &AppState, alg: &str) -> Result<Arc<SigningKey>, ApiError> {
    let alg = Alg::parse(alg).map_err(|e| ApiError::internal("app signing algorithm", e))?;
    state
        .signing_key(alg)
        .ok_or_else(|| ApiError::internal("signing", format!("no active {} key", alg.as_str())))
}

/// OIDC Core 2 / SPEC 5: the ID token.
async fn id_token(
    state: &AppState,
    app: &App,
    g: &Grant<'_>,
    user: &UserData,
    access: &str,
    now: i64,
) -> Result<String, ApiError> {
    let auth = AuthFacts { mfa: g.mfa };
    let policies = state.policies_for(g.scopes.iter().map(String::as_str));
    let attributes = claims::attribute_claims(&policies, family(app), user, auth);
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
            nonce: g.nonce,
            at_hash: Some(at_hash(access)),
            auth,
            sid: g.sid,
        },
        attributes,
    );
    sign(state, &app.id_token_alg, "JWT", claims).await
}

fn grant_error(e: GrantError) -> ApiError {
    ApiError::bad_request(e.code(), e.to_string())
}
