//! OIDC Core 5.3 userinfo and ID.me's `attributes.json` (SPEC section 7), bearer-authenticated
//! (RFC 6750 2.1 header or 2.3 query parameter).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use verity_core::claims::{self, Issue};
use verity_core::client_auth::parse_authorization;
use verity_core::dpop::{Scheme, check_presentation};
use verity_core::identity::{self, Family, UserData};
use verity_core::keys::Alg;
use verity_core::secret::{is_token_shaped, token_hash};
use verity_store::apps::App;
use verity_store::grants::{Token, TokenKind};

use crate::assurance::add_verified_claims;
use crate::cors;
use crate::dpop;
use crate::error::ApiError;
use crate::extract::query_params;
use crate::issuer::sign;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/public/v3/userinfo",
            get(userinfo).post(userinfo).options(preflight),
        )
        .route(
            "/api/public/v3/userinfo.json",
            get(userinfo).post(userinfo).options(preflight),
        )
        .route(
            "/api/public/v3/attributes.json",
            get(attributes).options(preflight),
        )
}

async fn preflight(headers: HeaderMap) -> Response {
    cors::preflight(&headers, "GET, POST")
}

/// The answer, errors after the token was read included, readable by the token's app's web
/// origins (CORS); an answer to an unreadable token names no origin.
fn readable(answer: Result<Response, ApiError>, origin: Option<HeaderValue>) -> Response {
    let mut resp = answer.unwrap_or_else(IntoResponse::into_response);
    cors::expose(&mut resp, origin);
    resp
}

/// A valid access token with its app and user.
struct Bearer {
    token: Token,
    app: App,
    user: UserData,
}

/// RFC 6750 2.1 / 2.3: the token from the header or the `access_token` query parameter (one, not
/// both), checked against the store: unknown, expired, revoked and refresh tokens are refused.
async fn bearer(
    state: &AppState,
    headers: &HeaderMap,
    (method, uri): (&Method, &Uri),
    query: Option<&str>,
) -> Result<Bearer, ApiError> {
    let from_header = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => parse_authorization(v),
        Some(Err(_)) => {
            return Err(ApiError::invalid_token(
                "the Authorization header is not readable",
            ));
        }
    };
    let params = query_params(query);
    if params.is_repeated("access_token") {
        return Err(ApiError::invalid_request("access_token is repeated"));
    }
    let (scheme, raw) = match (from_header, params.get("access_token")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "send the access token in one place only",
            ));
        }
        (Some((scheme, t)), None) => (scheme, t.to_owned()),
        (None, Some(t)) => (Scheme::Bearer, t.to_owned()),
        (None, None) => return Err(ApiError::bearer_missing()),
    };
    if !is_token_shaped(&raw) {
        return Err(ApiError::invalid_token("the access token is invalid"));
    }
    let now = state.now();
    let (token, user) = state
        .store
        .find_token_and_user(&token_hash(&raw))
        .await?
        .filter(|(t, _)| {
            t.kind == TokenKind::Access && t.revoked_at.is_none() && now < t.expires_at
        })
        .ok_or_else(|| {
            ApiError::invalid_token("the access token is invalid, expired or revoked")
        })?;
    let app = state
        .store
        .find_app(&token.client_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid_token("the access token is invalid, expired or revoked")
        })?;
    let user = user.ok_or_else(|| ApiError::invalid_token("the account no longer exists"))?;
    // RFC 9449 7.1: a bound token only with the DPoP scheme and a proof by its key.
    let bound = token.dpop_jkt.as_deref();
    let proof = match (scheme, bound) {
        (Scheme::Dpop, Some(_)) => {
            let path = uri.path();
            dpop::proof(state, headers, method.as_str(), path, Some(&raw), true).await?
        }
        _ => None,
    };
    check_presentation(scheme, bound, proof.as_ref())
        .map_err(|e| ApiError::dpop(&e, true, dpop::current_nonce(state)))?;
    Ok(Bearer { token, app, user })
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// OIDC Core 5.3.2 / SPEC 7: `idme` answers a JSON string holding the signed JWT; `oidc` answers
/// `application/jwt` when the app registered `userinfo_signed_response_alg`, else a JSON object.
async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match bearer(&state, &headers, (&method, &uri), query.as_deref()).await {
        Ok(b) => {
            let origin = cors::readable_by(&headers, &b.app);
            readable(answer_userinfo(&state, b).await, origin)
        }
        Err(e) => readable(Err(e), None),
    }
}

async fn answer_userinfo(state: &AppState, bearer: Bearer) -> Result<Response, ApiError> {
    let Bearer { token, app, user } = bearer;
    let auth = token.auth();
    let policies = state.policies_for(token.scopes.iter().map(String::as_str));
    let mut attributes = claims::attribute_claims(&policies, app.profile, &user, auth);
    let asked = token.claims.as_ref().map(|c| c.userinfo.as_slice());
    add_verified_claims(state, app.profile, asked, &policies, &user, &mut attributes).await?;
    let issue = Issue {
        issuer: &state.issuer,
        client_id: &app.client_id,
        now: state.now(),
        ttl: app.userinfo_ttl,
    };
    let resp = match (app.profile, app.userinfo_signed_response_alg) {
        (Family::Oidc, None) => {
            axum::Json(claims::userinfo_object(&user, attributes)).into_response()
        }
        (Family::Oidc, Some(alg)) => {
            let jwt = signed_userinfo(state, &token, alg, || {
                claims::userinfo_jwt(&issue, &user, attributes)
            })
            .await?;
            ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response()
        }
        (Family::Idme, alg) => {
            let alg = alg.unwrap_or(app.id_token_alg);
            let jwt = signed_userinfo(state, &token, alg, || {
                claims::userinfo_jwt(&issue, &user, attributes)
            })
            .await?;
            axum::Json(serde_json::Value::String(jwt)).into_response()
        }
    };
    Ok(no_store(resp))
}

/// The signed userinfo of one access token is signed once and answered again until the token
/// expires (at most `access_ttl`, so a change to the user shows within that), instead of an RSA
/// signature per call. The token is checked (expiry, revocation) before this on every call.
async fn signed_userinfo(
    state: &AppState,
    token: &verity_store::grants::Token,
    alg: Alg,
    claims: impl FnOnce() -> serde_json::Value,
) -> Result<String, ApiError> {
    let now = state.now();
    if let Some(jwt) = state
        .userinfo_cache
        .get(&token.token_hash, alg.as_str(), now)
    {
        return Ok(jwt);
    }
    let jwt = sign(state, alg, "JWT", claims()).await?;
    state.userinfo_cache.put(
        &token.token_hash,
        alg.as_str(),
        token.expires_at,
        now,
        jwt.clone(),
    );
    Ok(jwt)
}

/// SPEC 7: `{"attributes": [...], "status": [...]}` for the granted policies.
async fn attributes(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Bearer { token, user, app } =
        match bearer(&state, &headers, (&method, &uri), query.as_deref()).await {
            Ok(b) => b,
            Err(e) => return readable(Err(e), None),
        };
    let policies = state.policies_for(token.scopes.iter().map(String::as_str));
    let body = identity::attributes_response(&policies, &user, token.auth());
    let origin = cors::readable_by(&headers, &app);
    readable(Ok(no_store(axum::Json(body).into_response())), origin)
}
