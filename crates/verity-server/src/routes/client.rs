//! Client authentication at the token, policies (and later revocation and introspection)
//! endpoints: RFC 6749 2.3.1 (`client_secret_basic`, `client_secret_post`) and public clients
//! (`none`, bound to PKCE by the grant).

use axum::http::{HeaderMap, header};
use verity_core::authorize::Params;
use verity_core::client_auth::parse_basic;
use verity_core::secret::{constant_time_eq, token_hash};
use verity_store::apps::App;

use crate::error::ApiError;
use crate::state::AppState;

/// The app that authenticated this request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<App, ApiError> {
    for name in ["client_id", "client_secret", "client_assertion"] {
        if params.is_repeated(name) {
            return Err(ApiError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
    }
    let basic = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Err(_)) => {
            return Err(ApiError::invalid_client(
                "the Authorization header is not readable",
            ));
        }
        Some(Ok(value)) => match parse_basic(value) {
            None => None,
            Some(Err(why)) => return Err(ApiError::invalid_client(why)),
            Some(Ok(c)) => Some(c),
        },
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    if params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some() {
        return Err(ApiError::invalid_client(
            "private_key_jwt is not enabled for this app",
        ));
    }
    if basic.is_some() && body_secret.is_some() {
        return Err(ApiError::invalid_request(
            "use one client authentication method, not several",
        ));
    }
    let (client_id, secret) = match &basic {
        Some(c) => {
            if body_id.is_some_and(|id| id != c.client_id) {
                return Err(ApiError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            (
                c.client_id.as_str(),
                Some(c.client_secret.as_str()).filter(|s| !s.is_empty()),
            )
        }
        None => match body_id {
            Some(id) => (id, body_secret),
            None => {
                return Err(ApiError::invalid_client(
                    "client authentication is required",
                ));
            }
        },
    };
    if client_id.len() > 256 {
        return Err(ApiError::invalid_client("unknown client"));
    }
    let Some(app) = state.store.find_app(client_id).await? else {
        return Err(ApiError::invalid_client("unknown client"));
    };
    if app.public {
        if secret.is_some() {
            return Err(ApiError::invalid_client(
                "a public app has no client secret",
            ));
        }
        return Ok(app);
    }
    let Some(secret) = secret else {
        return Err(ApiError::invalid_client(
            "this app must authenticate with its client secret",
        ));
    };
    if !secret_matches(state, &app.client_id, secret).await? {
        return Err(ApiError::invalid_client("client authentication failed"));
    }
    Ok(app)
}

/// Compares against every valid secret of the app (rotation keeps several), in constant time each,
/// without stopping at the first match.
async fn secret_matches(state: &AppState, client_id: &str, secret: &str) -> Result<bool, ApiError> {
    let presented = token_hash(secret);
    let stored = state.store.find_app_secret_hashes(client_id).await?;
    Ok(stored.iter().fold(false, |found, h| {
        constant_time_eq(h.as_bytes(), presented.as_bytes()) | found
    }))
}
