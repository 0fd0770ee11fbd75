//! RFC 9101 request objects and RFC 9126 pushed requests: the parameters an authorization
//! request really carries. `verity_core::jar` decides; this module fetches what it needs (the
//! app's keys, the pushed request) and keeps a request object single use.

use serde_json::Value;
use verity_core::authorize::Params;
use verity_core::jar::{self, JarError};
use verity_proto::error::ErrorCode;
use verity_store::apps::App;

use crate::state::AppState;

/// Why a request object or a pushed request is refused: the RFC's code and what to say.
#[derive(Debug)]
pub enum Refusal {
    Refused(ErrorCode, String),
    /// The store failed: not the request's fault.
    Failed(verity_store::StoreError),
}

impl From<(ErrorCode, &'static str)> for Refusal {
    fn from((code, description): (ErrorCode, &'static str)) -> Self {
        Refusal::Refused(code, description.to_owned())
    }
}

impl From<verity_store::StoreError> for Refusal {
    fn from(e: verity_store::StoreError) -> Self {
        Refusal::Failed(e)
    }
}

fn invalid_object(description: impl Into<String>) -> Refusal {
    Refusal::Refused(ErrorCode::InvalidRequestObject, description.into())
}

/// The app's JWK Set for what it signs: its registered `jwks`, or the one at its `jwks_uri`
/// (cached; `refetch` asks again, for a key the app has just rotated in).
async fn app_keys(state: &AppState, app: &App, refetch: bool) -> Result<Option<Value>, Refusal> {
    match (&app.jwks, &app.jwks_uri) {
        (Some(inline), _) => serde_json::from_str(inline)
            .map(Some)
            .map_err(|_| invalid_object("the app's registered jwks is unreadable")),
        (None, Some(uri)) => match state.client_jwks(&app.client_id, uri, refetch).await {
            Ok(set) => Ok(Some(set)),
            Err(_) => Err(invalid_object("the app's jwks_uri could not be read")),
        },
        (None, None) => Ok(None),
    }
}

/// Verifies a request object of `app` and answers its parameters; its `jti` is recorded so that
/// it is used once, on any node.
pub async fn verify(state: &AppState, app: &App, object: &str) -> Result<Params, Refusal> {
    let expect = jar::Expect {
        client_id: &app.client_id,
        issuer: &state.issuer,
        now: state.now(),
    };
    let keys = app_keys(state, app, false).await?;
    let verified = match jar::verify(object, keys.as_ref(), &expect) {
        // Maybe a key the app has just rotated in: its jwks_uri is read again (rate-limited).
        Err(JarError::Signature) if app.jwks.is_none() && app.jwks_uri.is_some() => {
            let keys = app_keys(state, app, true).await?;
            jar::verify(object, keys.as_ref(), &expect)
        }
        other => other,
    };
    let object = verified.map_err(|e| invalid_object(e.to_string()))?;
    let namespace = format!("jar:{}", app.client_id);
    let until = object.exp + jar::SKEW;
    if !state.store.take_jti(&namespace, &object.jti, until).await? {
        return Err(invalid_object("the request object was already used"));
    }
    Ok(object.params)
}

/// The parameters of the authorization request `params` names when they are not its own
/// (`None`): those of its request object, or those pushed earlier under its `request_uri`
/// (taken, so used once).
pub async fn resolve(
    state: &AppState,
    app: &App,
    params: &Params,
) -> Result<Option<Params>, Refusal> {
    let demands = jar::Demands {
        pushed: app.require_pushed_authorization_requests,
        signed: app.require_signed_request_object,
    };
    match jar::source(params, demands)? {
        jar::Source::Plain => Ok(None),
        jar::Source::Object(object) => verify(state, app, object).await.map(Some),
        jar::Source::Pushed(hash) => {
            let Some(pushed) = state.store.take_pushed_request(&hash).await? else {
                return Err(Refusal::Refused(
                    ErrorCode::InvalidRequestUri,
                    "the request_uri is unknown or was already used".into(),
                ));
            };
            let now = state.now();
            let params = jar::pushed_params(
                &pushed.client_id,
                pushed.params,
                pushed.expires_at,
                &app.client_id,
                now,
            )?;
            Ok(Some(params))
        }
    }
}
