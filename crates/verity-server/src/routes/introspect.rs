//! RFC 7662 token introspection (SPEC section 7), client-authenticated. A client learns about its
//! own tokens only: any other token is reported `{"active": false}`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use verity_core::secret::{is_token_shaped, token_hash};
use verity_store::grants::TokenKind;

use crate::error::ApiError;
use crate::routes::client::ClientRequest;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/introspect", post(introspect))
}

/// RFC 7662 2.1-2.2.
async fn introspect(
    State(state): State<AppState>,
    req: ClientRequest,
) -> Result<Response, ApiError> {
    let token = req.token()?;
    let app = &req.app;
    let now = state.now();
    let found = if is_token_shaped(token) {
        state.store.find_token(&token_hash(token)).await?
    } else {
        None
    };
    let body = match found {
        Some(t)
            if t.client_id == app.client_id
                && t.revoked_at.is_none()
                && t.used_at.is_none()
                && now < t.expires_at =>
        {
            let mut body = json!({
                "active": true,
                "scope": t.scopes.join(" "),
                "client_id": t.client_id,
                "sub": t.uuid,
                "aud": t.client_id,
                "iss": state.issuer,
                "exp": t.expires_at,
                "iat": t.created_at,
                "auth_time": t.auth_time,
                "token_type": if t.kind == TokenKind::Access { "access_token" } else { "refresh_token" },
            });
            // RFC 9449 6.2: the key a bound token is confirmed by.
            if let Some(jkt) = &t.dpop_jkt {
                body["cnf"] = json!({"jkt": jkt});
                if t.kind == TokenKind::Access {
                    body["token_type"] = json!("DPoP");
                }
            }
            body
        }
        _ => json!({"active": false}),
    };
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
