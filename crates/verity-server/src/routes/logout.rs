//! Logout (SPEC section 7): ID.me's `GET /oauth/logout?client_id=&redirect_uri=` and OIDC
//! RP-Initiated Logout 1.0 (`id_token_hint`, `post_logout_redirect_uri`, `state`). The session ends;
//! apps with a `backchannel_logout_uri` are told (OIDC Back-Channel Logout 1.0). The browser is
//! redirected only to a URI registered for the app, character for character; otherwise a page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use verity_core::logout::{self, AfterLogout, Registered};
use verity_core::secret::token_hash;

use crate::audit::AuditEvent;
use crate::error::PageError;
use crate::extract::{BodyKind, body_kind, body_params, query_params, set_cookie};
use crate::pages::Page;
use crate::session::{SESSION_COOKIE, session_cookie};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/logout", get(logout_get).post(logout_post))
}

async fn logout_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    logout(&state, &headers, &query_params(query.as_deref())).await
}

async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let body = body.map_err(|_| PageError::bad_request("The request body is too large."))?;
    if body_kind(&headers) != Some(BodyKind::Form) {
        return Err(PageError::bad_request(
            "The logout request must be a form post.",
        ));
    }
    let params = body_params(BodyKind::Form, &body).map_err(PageError::bad_request)?;
    logout(&state, &headers, &params).await
}

/// OIDC RP-Initiated Logout 1.0 section 2-3.
async fn logout(
    state: &AppState,
    headers: &HeaderMap,
    params: &verity_core::authorize::Params,
) -> Result<Response, PageError> {
    // The app: from client_id, or from the (signature-checked, possibly expired) id_token_hint.
    let hinted = match params.get("id_token_hint") {
        None => None,
        Some(hint) => {
            let jwks: serde_json::Value = serde_json::from_slice(&state.jwks_json())
                .map_err(|e| PageError::internal("reading our JWKS", e))?;
            logout::hinted_client(hint, &jwks, &state.issuer)?
        }
    };
    let client_id =
        logout::client_of(params.get("client_id"), hinted.as_deref())?.map(str::to_owned);
    let target = params
        .get("post_logout_redirect_uri")
        .or_else(|| params.get("redirect_uri"));
    let app = match &client_id {
        Some(id) if id.len() <= 256 => state.store.find_app(id).await?,
        _ => None,
    };

    // End the session in this browser, whatever happens to the redirect.
    let mut ended = None;
    if let Some(raw) = session_cookie(headers) {
        let hash = token_hash(raw);
        if let Some(s) = state.store.find_session(&hash, state.now()).await? {
            state.store.delete_session(&hash).await?;
            ended = Some(s);
        }
    }
    if let Some(s) = &ended {
        state
            .audit(
                AuditEvent::Logout,
                Some(&s.uuid),
                client_id.as_deref(),
                headers,
                serde_json::json!({}),
            )
            .await;
        crate::backchannel::notify_logout(state, s).await;
    }

    let registered = app.as_ref().map(|a| Registered {
        post_logout_redirect_uris: &a.post_logout_redirect_uris,
        redirect_uris: &a.redirect_uris,
    });
    let resp = match logout::after_logout(registered, target, params.get("state")) {
        AfterLogout::Redirect(location) => match HeaderValue::from_str(&location) {
            Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
            Err(_) => signed_out_page(state, false)?,
        },
        AfterLogout::Page { unregistered } => signed_out_page(state, unregistered)?,
    };
    Ok(crate::respond::with_cookie(
        resp,
        &set_cookie(SESSION_COOKIE, "", 0, state.secure_cookies),
    ))
}

fn signed_out_page(state: &AppState, unregistered: bool) -> Result<Response, PageError> {
    let page = SignedOutPage { unregistered };
    Ok(state.pages.show(state.sandbox(), &page)?.into_response())
}

/// The page after a logout that does not go back to an app.
#[derive(Debug, serde::Serialize)]
struct SignedOutPage {
    /// A redirect was asked for that is not registered for the app.
    unregistered: bool,
}

impl Page for SignedOutPage {
    const TEMPLATE: &'static str = "signed_out.html";
}
