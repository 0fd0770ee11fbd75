//! RFC 6749 3.2 / 4.1.3 / OIDC Core 3.1.3: the token endpoint (SPEC section 4).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use verity_core::claims::{self, Authentication, Issue};
use verity_core::identity::{AuthFacts, Family};
use verity_core::keys::{Alg, at_hash};
use verity_core::secret::{is_token_shaped, new_token, token_hash};
use verity_core::{authorize::Params, pkce};
use verity_proto::error::ErrorCode;
use verity_proto::token::TokenResponse;
use verity_store::apps::App;
use verity_store::grants::{Code, TakeCode, Token, TokenKind};

use crate::error::ApiError;
use crate::extract::{body_kind, body_params};
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
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidRequest,
            "the request body is too large",
        )
    })?;
    let kind = body_kind(&headers).ok_or_else(|| {
        ApiError::invalid_request(
            "the body must be application/x-www-form-urlencoded or application/json",
        )
    })?;
    let params = body_params(kind, &body).map_err(ApiError::invalid_request)?;
    if params.too_many() {
        return Err(ApiError::invalid_request("too many parameters"));
    }
    if let Some(name) = params.oversized() {
        return Err(ApiError::invalid_request(format!(
            "parameter {name} is too long"
        )));
    }
    let app = authenticate(&state, &headers, &params).await?;
    if let Some(name) = params.first_repeated() {
        return Err(ApiError::invalid_request(format!(
            "parameter {name} is repeated"
        )));
    }
    let response = match params.get("grant_type") {
        None => return Err(ApiError::invalid_request("grant_type is missing")),
        Some("authorization_code") => authorization_code(&state, &app, &params).await?,
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
async fn authorization_code(
    state: &AppState,
    app: &App,
    params: &Params,
) -> Result<TokenResponse, ApiError> {
    let now = state.now();
    let code = params
        .get("code")
        .ok_or_else(|| ApiError::invalid_request("code is missing"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| ApiError::invalid_request("redirect_uri is missing"))?;
    if !is_token_shaped(code) {
        return Err(ApiError::invalid_grant("the code is invalid"));
    }
    let code = match state.store.take_code(&token_hash(code), now).await? {
        TakeCode::Fresh(c) => c,
        TakeCode::Replayed(c) => {
            // RFC 6749 4.1.2 / RFC 9700 4.5: a replayed code revokes what it produced.
            let revoked = state.store.revoke_grant(&c.code_hash, now).await?;
            tracing::warn!(client_id = %app.client_id, revoked, "authorization code replayed; its tokens are revoked");
            return Err(ApiError::invalid_grant("the code was already used"));
        }
        TakeCode::Unknown => return Err(ApiError::invalid_grant("the code is invalid")),
    };
    if code.client_id != app.client_id {
        return Err(ApiError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(ApiError::invalid_grant("the code has expired"));
    }
    if code.redirect_uri != redirect_uri {
        return Err(ApiError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(challenge, verifier) => {}
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (Some(_), None) => return Err(ApiError::invalid_grant("code_verifier is missing")),
        // RFC 9700 2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(ApiError::invalid_grant(
                "the authorization request had no code_challenge",
            ));
        }
        (None, None) if app.public => {
            return Err(ApiError::invalid_grant("public apps must use PKCE"));
        }
        (None, None) => {}
    }
    issue(state, app, &code, now).await
}

/// Stores the tokens (committed before the answer) and signs the ID token.
async fn issue(
    state: &AppState,
    app: &App,
    code: &Code,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    let access = new_token();
    let refresh = app.refresh_tokens.then(new_token);
    let token = |kind: TokenKind, raw: &str, ttl: i64| Token {
        token_hash: token_hash(raw),
        kind,
        grant_id: code.code_hash.clone(),
        client_id: app.client_id.clone(),
        uuid: code.uuid.clone(),
        scopes: code.scopes.clone(),
        auth_time: code.auth_time,
        mfa: code.mfa,
        eid: code.eid.clone(),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
        revoked_at: None,
    };
    let mut rows = vec![token(TokenKind::Access, &access, app.access_ttl)];
    if let Some(r) = &refresh {
        rows.push(token(TokenKind::Refresh, r, app.refresh_ttl));
    }
    let id_token = if code.scopes.iter().any(|s| s == "openid") {
        Some(id_token(state, app, code, &access, now).await?)
    } else {
        None
    };
    state.store.insert_tokens(&rows).await?;
    tracing::info!(client_id = %app.client_id, grant = "authorization_code", "tokens issued");
    Ok(TokenResponse {
        access_token: access,
        token_type: "bearer".into(),
        expires_in: app.access_ttl,
        scope: code.scopes.join(" "),
        refresh_expires_in: refresh.as_ref().map(|_| app.refresh_ttl),
        refresh_token: refresh,
        id_token,
    })
}

pub fn family(app: &App) -> Family {
    if app.profile == "oidc" {
        Family::Oidc
    } else {
        Family::Idme
    }
}

/// Signs a claim set with the app's algorithm, off the async threads.
pub async fn sign(
    state: &AppState,
    alg: &str,
    typ: &'static str,
    claims: serde_json::Value,
) -> Result<String, ApiError> {
    let alg = Alg::parse(alg).map_err(|e| ApiError::internal("app signing algorithm", e))?;
    let key = state
        .signing_key(alg)
        .ok_or_else(|| ApiError::internal("signing", format!("no active {} key", alg.as_str())))?;
    tokio::task::spawn_blocking(move || key.sign_jwt(typ, &claims))
        .await
        .map_err(|e| ApiError::internal("signing task", e))?
        .map_err(|e| ApiError::internal("signing", e))
}

/// OIDC Core 2 / SPEC 5: the ID token.
async fn id_token(
    state: &AppState,
    app: &App,
    code: &Code,
    access: &str,
    now: i64,
) -> Result<String, ApiError> {
    let user = state
        .store
        .find_user_data(&code.uuid)
        .await?
        .ok_or_else(|| ApiError::invalid_grant("the account no longer exists"))?;
    let auth = AuthFacts { mfa: code.mfa };
    let policies = state.policies_for(code.scopes.iter().map(String::as_str));
    let attributes = claims::attribute_claims(&policies, family(app), &user, auth);
    let claims = claims::id_token(
        &Issue {
            issuer: &state.issuer,
            client_id: &app.client_id,
            now,
            ttl: app.access_ttl,
        },
        &user,
        &Authentication {
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
            at_hash: Some(at_hash(access)),
            auth,
        },
        attributes,
    );
    sign(state, &app.id_token_alg, "JWT", claims).await
}
