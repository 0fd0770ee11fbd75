//! OIDC Back-Channel Logout 1.0: when a session ends, every app that holds tokens from it and
//! registered a `backchannel_logout_uri` receives a signed logout token, and the session's tokens
//! are revoked (section 2.7: the OP revokes what the ended session issued).

use std::time::Duration;

use serde_json::json;
use verity_core::secret::new_token;
use verity_store::sessions::Session;

use crate::outbound::{Failed, Purpose};
use crate::state::AppState;

/// How long one notification may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Revokes the session's tokens and notifies the apps; notifications run in the background so the
/// person's logout is not held up by a slow app.
pub async fn notify_logout(state: &AppState, session: &Session) {
    let now = state.now();
    let clients = match state.store.find_session_clients(&session.sid).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "finding the apps of an ended session");
            return;
        }
    };
    if let Err(e) = state.store.revoke_session_tokens(&session.sid, now).await {
        tracing::error!(error = %e, "revoking the tokens of an ended session");
    }
    for client_id in clients {
        let app = match state.store.find_app(&client_id).await {
            Ok(Some(app)) => app,
            _ => continue,
        };
        let Some(uri) = app.backchannel_logout_uri.clone() else {
            continue;
        };
        let claims = json!({
            "iss": state.issuer,
            "aud": app.client_id,
            "iat": now,
            "exp": now + 120,
            "jti": new_token(),
            "sub": session.uuid,
            "sid": session.sid,
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        let token = match crate::issuer::sign(state, app.id_token_alg, "logout+jwt", claims).await {
            Ok(t) => t,
            Err(_) => continue,
        };
        let outbound = state.outbound.clone();
        let client_id = app.client_id.clone();
        tokio::spawn(async move {
            let result = outbound
                .post_form(
                    &client_id,
                    Purpose::BackchannelLogout,
                    &uri,
                    &[("logout_token", &token)],
                    TIMEOUT,
                )
                .await;
            match result {
                Ok(status) if status.is_success() => {
                    tracing::info!(%client_id, "back-channel logout delivered")
                }
                Ok(status) => {
                    tracing::warn!(%client_id, status = status.as_u16(), "back-channel logout refused")
                }
                // Logged with the app's id where it was refused.
                Err(Failed::Refused(_)) => {}
                Err(e) => tracing::warn!(%client_id, error = %e, "back-channel logout failed"),
            }
        });
    }
}
