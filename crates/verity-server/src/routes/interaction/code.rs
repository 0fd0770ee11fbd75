//! The end of the journey: the authorization code (RFC 6749 4.1.2), stored as a digest and sent
//! back to the app's registered redirect URI.

use axum::response::Response;
use verity_core::authorize::AuthorizeRequest;
use verity_core::grant;
use verity_core::identity::released_handles;
use verity_core::secret::{new_token, token_hash};
use verity_store::apps::App;
use verity_store::releases::Release;
use verity_store::sessions::{Interaction, Session};

use super::Entry;
use super::loaded::expired_page;
use crate::error::PageError;
use crate::respond::{After, redirect_to_client};
use crate::state::AppState;

/// The redirect that gives the client its code.
fn issued(
    state: &AppState,
    app: &App,
    req: &AuthorizeRequest,
    code: &str,
    after: After,
) -> Response {
    tracing::info!(client_id = %app.client_id, "authorization code issued");
    redirect_to_client(
        &req.redirect_uri,
        req.response_mode,
        &[("code", code)],
        req.state.as_deref(),
        state,
        after,
    )
}

/// Ends the interaction and issues its code (remembering the consent given on the way).
pub(super) async fn issue(
    state: &AppState,
    ix: &Interaction,
    app: &App,
    req: &AuthorizeRequest,
    session: &Session,
    entry: Entry<'_>,
) -> Result<Response, PageError> {
    let now = state.now();
    // The interaction is single use: a double submit or a second tab cannot mint a second code.
    // (A fresh one was never stored: this request is its only use.)
    if !entry.fresh && !state.store.take_interaction(&ix.id).await? {
        return Err(expired_page());
    }
    if ix.consented {
        state
            .store
            .insert_consent(&session.uuid, &app.client_id, &req.scope.canonical(), now)
            .await?;
    }
    let code = new_token();
    let stored = grant::issue(req, session.sign_in(), token_hash(&code), now, app.code_ttl);
    // What the app receives is recorded with the code, in the same write (SPEC 14).
    let policies = state.policies_for(req.scope.iter());
    let release = Release {
        at: now,
        uuid: session.uuid.clone(),
        client_id: app.client_id.to_string(),
        policies: policies.iter().map(|p| p.handle.clone()).collect(),
        handles: released_handles(&policies),
    };
    state
        .store
        .insert_code_with_release(&stored, &release)
        .await?;
    Ok(issued(state, app, req, &code, entry.after))
}
