//! The interaction a request names, checked against the browser that started it (and a form's
//! CSRF token), and the session in this browser that may continue it.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use verity_core::authorize::{AuthorizeRequest, Params};
use verity_core::secret::{constant_time_eq, token_hash};
use verity_store::apps::App;
use verity_store::sessions::{Interaction, Session, SignedIn};

use crate::error::PageError;
use crate::extract::{BodyKind, body_params};
use crate::session::{browser_cookie, session_cookie};
use crate::state::AppState;

pub(super) fn expired_page() -> PageError {
    PageError::bad_request(
        "This sign-in request has expired, was already completed, or was started in another browser. \
         Return to the app and start again.",
    )
}

/// The interaction, its app and request, checked against the browser (and, for a POST, the
/// form's CSRF token).
pub(super) struct Loaded {
    pub(super) ix: Interaction,
    pub(super) app: App,
    pub(super) request: AuthorizeRequest,
}

pub(super) async fn load(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    csrf: Option<&str>,
) -> Result<Loaded, PageError> {
    if !verity_core::secret::is_token_shaped(id) {
        return Err(expired_page());
    }
    let ix = state
        .store
        .find_interaction(id, state.now())
        .await?
        .ok_or_else(expired_page)?;
    let browser_ok = browser_cookie(headers)
        .is_some_and(|b| constant_time_eq(token_hash(b).as_bytes(), ix.browser_hash.as_bytes()));
    if !browser_ok {
        return Err(expired_page());
    }
    if let Some(sent) = csrf
        && !constant_time_eq(sent.as_bytes(), ix.csrf_token.as_bytes())
    {
        return Err(PageError::form_expired(
            "This form is no longer valid (its security token does not match). Go back, reload the page and try again.",
        ));
    }
    let app = state
        .store
        .find_app(&ix.client_id)
        .await?
        .ok_or_else(expired_page)?;
    let request: AuthorizeRequest = serde_json::from_str(&ix.request)
        .map_err(|e| PageError::internal("reading an interaction", e))?;
    Ok(Loaded { ix, app, request })
}

/// A form post to an interaction: the request's headers, the interaction (checked against the
/// browser and the form's CSRF token) and the form's fields.
pub(super) struct Posted {
    pub(super) headers: HeaderMap,
    pub(super) l: Loaded,
    pub(super) form: Params,
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        // The interaction's id, also under a route with more parameters (`.../verify/{group}`).
        let Path(path) = Path::<std::collections::HashMap<String, String>>::from_request_parts(
            &mut parts, state,
        )
        .await
        .map_err(|_| expired_page())?;
        let id = path.get("id").cloned().unwrap_or_default();
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| PageError::too_large("The form is too large."))?;
        let form = body_params(BodyKind::Form, &body).map_err(PageError::bad_request)?;
        let csrf = form.get("csrf_token").unwrap_or_default();
        let l = load(state, &headers, &id, Some(csrf)).await?;
        Ok(Posted { headers, l, form })
    }
}

/// The live session in this browser, if it belongs to the interaction's user (when one is set).
pub(super) async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    ix: &Interaction,
) -> Result<Option<Session>, PageError> {
    let Some(raw) = session_cookie(headers) else {
        return Ok(None);
    };
    let session = state
        .store
        .find_session(&token_hash(raw), state.now())
        .await?;
    Ok(session.filter(|s| fits(ix, &s.uuid)))
}

/// Whether a session of account `uuid` may continue the interaction: it is the account that
/// signed in here, or none did yet.
fn fits(ix: &Interaction, uuid: &str) -> bool {
    ix.uuid.as_deref().is_none_or(|u| u == uuid)
}

/// The session in this browser with its account and consents, if it may continue `ix`.
pub(super) async fn read_signed_in(
    state: &AppState,
    headers: &HeaderMap,
    ix: &Interaction,
    app: &App,
) -> Result<Option<SignedIn>, PageError> {
    let Some(raw) = session_cookie(headers) else {
        return Ok(None);
    };
    let found = state
        .store
        .find_signed_in(&token_hash(raw), state.now(), &app.client_id)
        .await?;
    Ok(found.filter(|s| fits(ix, &s.session.uuid)))
}
