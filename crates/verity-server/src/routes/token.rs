//! RFC 6749 3.2 / 4.1.3 / OIDC Core 3.1.3: the token endpoint (SPEC section 4).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use verity_core::dpop::Binding;
use verity_core::grant::{self, Code, RefreshingApp, TokenRequest};
use verity_core::identity::UserData;
use verity_core::secret::{is_token_shaped, new_token, token_hash};
use verity_proto::error::ErrorCode;
use verity_proto::token::TokenResponse;
use verity_store::grants::{Issue, Issued, Redeemed, TokenKind};
use verity_store::lifecycle::Rotate;

use crate::audit::AuditEvent;
use crate::cors;
use crate::dpop;
use crate::error::ApiError;
use crate::extract::required;
use crate::issuer::{respond_with, signing_key, token_rows};
use crate::routes::client::ClientRequest;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token).options(cors::preflight_post))
}

/// RFC 6749 3.2: form or (SPEC 4) JSON body; client authentication; the grant. The answer,
/// errors included, is readable by the app's own web origins (CORS).
async fn token(State(state): State<AppState>, req: ClientRequest) -> Response {
    req.readable(grant(&state, &req).await)
}

async fn grant(state: &AppState, req: &ClientRequest) -> Result<Response, ApiError> {
    let grant_type = required(&req.params, "grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        ));
    }
    // RFC 9449 5: checked before anything is consumed, so that a client told to use a nonce can
    // present the same code or refresh token again.
    let proof = dpop::proof(state, &req.headers, "POST", "/oauth/token", None, false).await?;
    let key = proof.as_ref().map(|p| p.jkt.as_str());
    let response = if grant_type == "authorization_code" {
        authorization_code(state, req, key).await?
    } else {
        refresh_token(state, req, key).await?
    };
    let mut resp = axum::Json(response).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    dpop::with_nonce(state, h);
    Ok(resp)
}

/// What the new tokens are bound to (`verity_core::dpop::bind`), or why they cannot be issued.
fn binding(
    req: &ClientRequest,
    key: Option<&str>,
    presented: Option<&str>,
) -> Result<Binding, ApiError> {
    let app = &req.app;
    verity_core::dpop::bind(key, app.dpop_bound_access_tokens, app.public, presented)
        .map_err(|e| ApiError::dpop(&e, false, None))
}

/// RFC 6749 4.1.3 + RFC 7636 4.6: redeem a code. It is taken from the store once (a second
/// presentation is a replay, which revokes what it issued), [`grant::redeem`] decides, and the
/// tokens are stored with their audit row before the answer is signed.
async fn authorization_code(
    state: &AppState,
    req: &ClientRequest,
    key: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let (app, params) = (&req.app, &req.params);
    let now = state.now();
    let bound = binding(req, key, None)?;
    let code = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    if !is_token_shaped(code) {
        return Err(invalid_code());
    }
    let hash = token_hash(code);
    let presented = TokenRequest {
        client_id: &app.client_id,
        public_client: app.public,
        redirect_uri,
        code_verifier: params.get("code_verifier"),
        dpop_jkt: key,
        now,
    };
    if signing_key(state, app.id_token_alg).is_err() {
        // No key signs for the app (a misconfiguration): a code that would be redeemed for an
        // ID token is left unconsumed, for the client to present again once there is one. Any
        // other presentation (a replay, a refusal, a grant without `openid`) goes on below.
        let unused = state.store.find_unused_code(&hash).await?;
        let issuance = unused
            .as_ref()
            .and_then(|c| grant::redeem(c, &presented).ok());
        if issuance.is_some_and(|i| i.has_id_token()) {
            signing_key(state, app.id_token_alg)?;
        }
    }
    // The code is taken, [`grant::redeem`] decides, and the tokens are stored with their audit
    // row, in one step of the store. A refused presentation has consumed the code all the same:
    // it is never redeemable again.
    let redeemed = state
        .store
        .redeem_code(&hash, now, |code, user| {
            match redemption(state, req, &code, user, &presented, &bound, now) {
                Ok((decided, issue)) => (Some(issue), Ok(decided)),
                Err(e) => (None, Err(e)),
            }
        })
        .await?;
    let (decided, stored) = match redeemed {
        Redeemed::Fresh(decided, stored) => (decided?, stored),
        Redeemed::Replayed(code) => return Err(replayed(state, req, &code, now).await?),
        Redeemed::Unknown => return Err(invalid_code()),
    };
    // Presented again since it was taken, the code's tokens are stored revoked (the replay's
    // revocation covers them, RFC 9700 4.5), and the answer goes out as it would have a moment
    // earlier, its tokens dead.
    if stored == Some(Issued::NoCode) {
        return Err(invalid_code());
    }
    let Redemption {
        issuance,
        user,
        access,
        refresh,
        audit,
    } = decided;
    let answer = respond_with(state, app, &issuance, &user, now, (access, refresh), &bound);
    let response = match answer.await {
        Ok(response) => response,
        Err(e) => {
            // Tokens nobody was given: revoke them, so that they are not live while the
            // client's retry is refused as a replay.
            if let Err(revoking) = state.store.revoke_grant(&issuance.grant_id, now).await {
                tracing::error!(error = %revoking, "revoking the tokens of a grant that was not answered");
            }
            return Err(e);
        }
    };
    state.audited(&audit);
    Ok(response)
}

/// What redeeming a code gives the answer: the grant, its account, the new tokens and their
/// audit row.
struct Redemption {
    issuance: grant::Issuance,
    user: UserData,
    access: String,
    refresh: Option<String>,
    audit: verity_store::audit::AuditEvent,
}

/// [`grant::redeem`]'s decision on a code taken from the store: what the answer needs, and what
/// the store keeps.
fn redemption(
    state: &AppState,
    req: &ClientRequest,
    code: &Code,
    user: Option<UserData>,
    presented: &TokenRequest<'_>,
    bound: &Binding,
    now: i64,
) -> Result<(Redemption, Issue), ApiError> {
    let app = &req.app;
    let issuance = grant::redeem(code, presented)?;
    let user = user.ok_or_else(|| ApiError::invalid_grant("the account no longer exists"))?;
    let access = new_token();
    let refresh = app.refresh_tokens.then(new_token);
    let tokens = token_rows(app, &issuance, now, &access, refresh.as_deref(), bound);
    let audit = state.audit_event(
        AuditEvent::TokenIssued,
        Some(&code.uuid),
        Some(&app.client_id),
        &req.headers,
        json!({"grant": "authorization_code"}),
    );
    let issue = Issue {
        tokens,
        audit: audit.clone(),
    };
    let decided = Redemption {
        issuance,
        user,
        access,
        refresh,
        audit,
    };
    Ok((decided, issue))
}

fn invalid_code() -> ApiError {
    ApiError::invalid_grant("the code is invalid")
}

/// A code presented again (RFC 6749 4.1.2 / RFC 9700 4.5): the tokens it produced are revoked,
/// and the answer says the code was used.
async fn replayed(
    state: &AppState,
    req: &ClientRequest,
    code: &Code,
    now: i64,
) -> Result<ApiError, ApiError> {
    let (event, why) = (
        AuditEvent::CodeReplayed,
        "authorization code replayed; its tokens are revoked",
    );
    revoke_replayed(state, req, &code.grant_id, &code.uuid, event, why, now).await?;
    Ok(ApiError::invalid_grant("the code was already used"))
}

/// A single-use credential presented again (RFC 9700 4.5, 4.14): every token of its grant
/// `grant_id` (account `uuid`'s) is revoked, the replay logged (`why`) and audited (`event`).
async fn revoke_replayed(
    state: &AppState,
    req: &ClientRequest,
    grant_id: &str,
    uuid: &str,
    event: AuditEvent,
    why: &str,
    now: i64,
) -> Result<(), ApiError> {
    let revoked = state.store.revoke_grant(grant_id, now).await?;
    tracing::warn!(client_id = %req.app.client_id, revoked, "{why}");
    audit_grant(state, req, uuid, event, json!({"revoked": revoked})).await;
    Ok(())
}

/// RFC 6749 6 / RFC 9700 4.14: refresh with rotation. The presented token is consumed atomically
/// together with the storing of its successors; presenting a used token again revokes the whole
/// family (every token of the grant), the successor included.
async fn refresh_token(
    state: &AppState,
    req: &ClientRequest,
    key: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let (app, params, headers) = (&req.app, &req.params, &req.headers);
    let now = state.now();
    let raw = required(params, "refresh_token")?;
    if !is_token_shaped(raw) {
        return Err(ApiError::invalid_grant("the refresh token is invalid"));
    }
    let hash = token_hash(raw);
    let (current, user) = state
        .store
        .find_token_and_user(&hash)
        .await?
        .filter(|(t, _)| t.kind == TokenKind::Refresh)
        .ok_or_else(|| ApiError::invalid_grant("the refresh token is invalid"))?;
    let refreshing = RefreshingApp {
        client_id: &app.client_id,
        refresh_tokens: app.refresh_tokens,
        policies: &app.policies,
    };
    let issuance = grant::refresh(&current.as_refresh(), &refreshing, params.get("scope"), now)?;
    let bound = binding(req, key, current.dpop_jkt.as_deref())?;
    let user = user.ok_or_else(|| ApiError::invalid_grant("the account no longer exists"))?;
    let access = new_token();
    let refresh = new_token();
    let tokens = token_rows(app, &issuance, now, &access, Some(&refresh), &bound);
    // The answer is made before the rotation commits, so that it can be kept (sealed) with it.
    let answer = respond_with(
        state,
        app,
        &issuance,
        &user,
        now,
        (access, Some(refresh)),
        &bound,
    );
    let response = answer.await?;
    let window = state.settings.refresh_retry_window;
    let sealed = if window > 0 {
        let json = serde_json::to_vec(&response)
            .map_err(|e| ApiError::internal("serializing the token response", e))?;
        Some(
            state
                .master_key
                .encrypt(&json, retry_aad(&hash).as_bytes())
                .map_err(|e| ApiError::internal("sealing the token response", e))?,
        )
    } else {
        None
    };
    let retry = sealed.as_deref().map(|s| (s, now + window));
    let audit = state.audit_event(
        AuditEvent::TokenRefreshed,
        Some(&current.uuid),
        Some(&app.client_id),
        headers,
        json!({}),
    );
    match state
        .store
        .rotate_refresh_token_with_retry(&hash, now, retry, Some(&audit), &tokens)
        .await?
    {
        Rotate::Rotated(_) => state.audited(&audit),
        Rotate::Reused(old) => {
            // The same client again, before using what it was answered: that answer was lost
            // on its way (a node killed, a connection cut). It gets the same answer once more;
            // one successor exists, never two.
            if window > 0
                && let Some(sealed) = state.store.find_refresh_retry(&hash, now).await?
            {
                let again = state
                    .master_key
                    .decrypt(&sealed, retry_aad(&hash).as_bytes())
                    .ok()
                    .and_then(|json| serde_json::from_slice::<TokenResponse>(&json).ok());
                if let Some(again) = again {
                    // Never a token that no longer works (revoked or expired meanwhile).
                    if !answer_still_works(state, &again, now).await? {
                        return Err(ApiError::invalid_grant(
                            "the refresh token was already used, and what it was answered no \
                             longer works",
                        ));
                    }
                    let detail = json!({"answered_again": true});
                    audit_grant(state, req, &old.uuid, AuditEvent::TokenRefreshed, detail).await;
                    return Ok(again);
                }
            }
            let (event, why) = (
                AuditEvent::RefreshReused,
                "refresh token reused; its family is revoked",
            );
            revoke_replayed(state, req, &old.grant_id, &old.uuid, event, why, now).await?;
            return Err(ApiError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        Rotate::Unknown => return Err(ApiError::invalid_grant("the refresh token is invalid")),
    }
    Ok(response)
}

/// Whether every token of an answer given before still works (`grant::may_answer_again`).
async fn answer_still_works(
    state: &AppState,
    answer: &TokenResponse,
    now: i64,
) -> Result<bool, ApiError> {
    let raws = std::iter::once(&answer.access_token).chain(answer.refresh_token.as_ref());
    let mut tokens = Vec::new();
    for raw in raws {
        let found = state.store.find_token(&token_hash(raw)).await?;
        tokens.push(found.map(|t| grant::Liveness {
            revoked_at: t.revoked_at,
            expires_at: t.expires_at,
        }));
    }
    Ok(grant::may_answer_again(&tokens, now))
}

/// Binds a sealed retry answer to the refresh token it answers.
fn retry_aad(token_hash: &str) -> String {
    format!("verity refresh retry {token_hash}")
}

/// Audits an event of the requesting app's grant to account `uuid`.
async fn audit_grant(
    state: &AppState,
    req: &ClientRequest,
    uuid: &str,
    event: AuditEvent,
    detail: serde_json::Value,
) {
    let client_id = Some(req.app.client_id.as_str());
    state
        .audit(event, Some(uuid), client_id, &req.headers, detail)
        .await;
}
