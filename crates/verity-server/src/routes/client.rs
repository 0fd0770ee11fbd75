//! Client authentication at the token, policies (and later revocation and introspection)
//! endpoints: RFC 6749 2.3.1 (`client_secret_basic`, `client_secret_post`) and public clients
//! (`none`, bound to PKCE by the grant).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use verity_core::authorize::Params;
use verity_core::client_auth::{ClientAuthError, Presentation, presentation, secret_to_check};
use verity_core::secret::{constant_time_eq, token_hash};
use verity_store::apps::App;

use crate::audit::AuditEvent;
use crate::cors;
use crate::error::ApiError;
use crate::state::AppState;

/// The app that authenticated this request; the rules are `verity_core::client_auth`'s.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<App, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.to_str().ok());
    let (client_id, secret) = match presentation(authorization, params)? {
        Presentation::Assertion => return private_key_jwt(state, headers, params).await,
        Presentation::Secret { client_id, secret } => (client_id, secret),
    };
    if client_id.len() > 256 {
        return Err(ClientAuthError::UnknownClient.into());
    }
    let Some(app) = state.store.find_app(&client_id).await? else {
        return Err(ClientAuthError::UnknownClient.into());
    };
    let Some(secret) = secret_to_check(app.public, secret.as_deref())? else {
        return Ok(app);
    };
    if !secret_matches(state, &app.client_id, secret).await? {
        return Err(ClientAuthError::WrongSecret.into());
    }
    Ok(app)
}

/// Compares against every valid secret of the app (rotation keeps several), in constant time each,
/// without stopping at the first match. The secret that matched has its last use recorded, at
/// most once an hour ([`SECRET_USE_EVERY`]).
async fn secret_matches(state: &AppState, client_id: &str, secret: &str) -> Result<bool, ApiError> {
    let presented = token_hash(secret);
    let stored = state.store.find_app_secret_digests(client_id).await?;
    let matched = stored.iter().fold(None, |found, d| {
        if constant_time_eq(d.secret_hash.as_bytes(), presented.as_bytes()) {
            Some(d)
        } else {
            found
        }
    });
    let Some(secret) = matched else {
        return Ok(false);
    };
    let now = state.now();
    if secret
        .last_used_at
        .is_none_or(|at| at <= now - SECRET_USE_EVERY)
    {
        let touched = state
            .store
            .touch_app_secret(client_id, &secret.id, now, SECRET_USE_EVERY);
        touched.await?;
    }
    Ok(true)
}

/// How often a secret's last use is written at most (seconds).
pub const SECRET_USE_EVERY: i64 = 3600;

/// RFC 7523 2.2 / OIDC Core 9 `private_key_jwt`: a JWT signed with a key of the app's registered
/// `jwks` (or `jwks_uri`), `iss` = `sub` = the client, `aud` the token endpoint or the issuer,
/// short-lived, its `jti` never seen before.
async fn private_key_jwt(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<App, ApiError> {
    use verity_core::client_auth::{JWT_BEARER_ASSERTION, check_assertion_claims};
    use verity_core::jose::{JoseError, Jws};
    if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
        return Err(ApiError::invalid_client(
            "client_assertion_type must be jwt-bearer",
        ));
    }
    let assertion = params
        .get("client_assertion")
        .ok_or_else(|| ApiError::invalid_client("client_assertion is missing"))?;
    let jws = Jws::parse(assertion)
        .map_err(|e| ApiError::invalid_client(format!("client_assertion: {e}")))?;
    let claimed = jws
        .claims
        .get("sub")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let client_id = params.get("client_id").unwrap_or(&claimed).to_owned();
    if client_id.is_empty() || client_id.len() > 256 {
        return Err(ApiError::invalid_client("unknown client"));
    }
    let Some(app) = state.store.find_app(&client_id).await? else {
        return Err(ApiError::invalid_client("unknown client"));
    };
    let verified = match (&app.jwks, &app.jwks_uri) {
        (Some(inline), _) => {
            let set: serde_json::Value = serde_json::from_str(inline)
                .map_err(|_| ApiError::invalid_client("the app's registered jwks is unreadable"))?;
            jws.verify_with_set(&set)
        }
        (None, Some(uri)) => {
            let set = state.client_jwks(&app.client_id, uri, false).await?;
            match jws.verify_with_set(&set) {
                // An unknown kid: the app may have rotated its key; fetch again (rate-limited).
                Err(JoseError::NoKey) => {
                    jws.verify_with_set(&state.client_jwks(&app.client_id, uri, true).await?)
                }
                other => other,
            }
        }
        (None, None) => {
            return Err(ApiError::invalid_client(
                "private_key_jwt is not enabled for this app",
            ));
        }
    };
    verified.map_err(|e| ApiError::invalid_client(format!("client_assertion: {e}")))?;
    let token_endpoint = format!("{}/oauth/token", state.public_url);
    let facts = check_assertion_claims(
        &jws.claims,
        &app.client_id,
        &[&token_endpoint, &state.issuer],
        state.now(),
    )
    .map_err(|e| ApiError::invalid_client(e.to_string()))?;
    if !state
        .store
        .take_jti(&app.client_id, &facts.jti, facts.exp + 120)
        .await?
    {
        state
            .audit(
                AuditEvent::AssertionReplayed,
                None,
                Some(&app.client_id),
                headers,
                serde_json::json!({}),
            )
            .await;
        return Err(ApiError::invalid_client(
            "the client assertion was already used",
        ));
    }
    Ok(app)
}

/// A client's back-channel POST (token, revocation, introspection): its parameters (a form or
/// JSON body, size-limited, none repeated) and the app that authenticated it.
pub struct ClientRequest {
    pub headers: HeaderMap,
    pub app: App,
    pub params: Params,
}

impl FromRequest<AppState> for ClientRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state).await;
        let params = crate::extract::client_request_params(&headers, body)?;
        let app = authenticate(state, &headers, &params).await?;
        if let Some(name) = params.first_repeated() {
            return Err(ApiError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        Ok(ClientRequest {
            headers,
            app,
            params,
        })
    }
}

impl ClientRequest {
    /// `answer`, errors included, readable by the app's own web origins (CORS: the token and
    /// revocation endpoints).
    pub fn readable(&self, answer: Result<Response, ApiError>) -> Response {
        let mut resp = answer.unwrap_or_else(IntoResponse::into_response);
        cors::expose(&mut resp, cors::readable_by(&self.headers, &self.app));
        resp
    }

    /// RFC 7009 2.1 / RFC 7662 2.1: the `token` the request names.
    pub fn token(&self) -> Result<&str, ApiError> {
        crate::extract::required(&self.params, "token")
    }
}
