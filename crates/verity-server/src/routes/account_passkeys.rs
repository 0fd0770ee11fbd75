//! A person's passkeys on `/account/passkeys` (SPEC 13): the list (name, when added, when last
//! used), adding one (named; the WebAuthn ceremony through `/static/passkey.js`, its challenge
//! bound to this session; the first one of an account without an authenticator app comes with
//! recovery codes) and removing one. Each change is audited and listed in the person's
//! activity.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use verity_core::authn::{KeyUse, passkey_name_problem};
use verity_store::sessions::Session;
use verity_store::users::User;

use crate::audit::AuditEvent;
use crate::error::PageError;
use crate::pages::{Moment, Page};
use crate::passkey::{self, Refusal};
use crate::respond::see_other;
use crate::session::{SignedInForm, csrf_token, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/passkeys", get(show).post(add))
        .route("/account/passkeys/options", post(options))
        .route("/account/passkeys/{id}/remove", post(remove))
}

#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    name: String,
    added: Moment,
    last_used: Option<Moment>,
    /// `Security key or device` (hardware-bound) or `Synced passkey`.
    kind: &'static str,
}

#[derive(Debug, Serialize)]
struct PasskeysPage<'a> {
    email: &'a str,
    csrf_token: String,
    passkeys: Vec<Listed>,
    /// What just changed (`added`, `removed`), said at the top.
    done: Option<&'a str>,
    /// The name typed, shown again with a problem.
    name: &'a str,
    /// Problems beside `name` or `passkey`.
    fields: BTreeMap<&'static str, &'a str>,
    /// WebAuthn works here (the public URL names a domain).
    available: bool,
}

impl Page for PasskeysPage<'_> {
    const TEMPLATE: &'static str = "account_passkeys.html";
}

#[derive(Debug, Deserialize)]
struct Shown {
    done: Option<String>,
}

/// GET /account/passkeys.
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, "/account/passkeys");
    };
    let done = match shown.done.as_deref() {
        Some("added") => Some("added"),
        Some("removed") => Some("removed"),
        _ => None,
    };
    page(&state, &session, &user, done, "", BTreeMap::new()).await
}

async fn page(
    state: &AppState,
    session: &Session,
    user: &User,
    done: Option<&str>,
    name: &str,
    fields: BTreeMap<&'static str, &str>,
) -> Result<Response, PageError> {
    let status = if fields.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let passkeys = state
        .store
        .find_passkeys(&user.uuid)
        .await?
        .into_iter()
        .map(|p| Listed {
            id: p.credential_id,
            name: p.name,
            added: Moment::day(p.created_at),
            last_used: p.last_used_at.map(Moment::at),
            kind: if p.hardware {
                "Security key or device-bound passkey"
            } else {
                "Synced passkey"
            },
        })
        .collect();
    let page = PasskeysPage {
        email: &user.email,
        csrf_token: csrf_token(state, session),
        passkeys,
        done,
        name,
        fields,
        available: passkey::relying_party(state).is_some(),
    };
    Ok((status, state.pages.show(state.sandbox(), &page)?).into_response())
}

/// POST /account/passkeys/options: the options of `navigator.credentials.create` (JSON), the
/// ceremony bound to this session.
async fn options(State(state): State<AppState>, p: SignedInForm) -> Result<Response, PageError> {
    let options =
        passkey::begin_registration(&state, &p.session.id_hash, &p.user.uuid, &p.user.email)
            .await?;
    Ok(Json(options).into_response())
}

/// POST /account/passkeys: the browser's answer, with the passkey's name. Verified, the passkey
/// is the person's; refused, the page says why beside the field and nothing is stored.
async fn add(State(state): State<AppState>, p: SignedInForm) -> Result<Response, PageError> {
    let name = p.form.get("name").unwrap_or_default().trim().to_owned();
    let credential = p.form.get("credential").unwrap_or_default();
    let mut fields = BTreeMap::new();
    if let Some(problem) = passkey_name_problem(&name) {
        fields.insert("name", problem);
        let shown = if name.chars().count() > 200 {
            ""
        } else {
            &name
        };
        return page(&state, &p.session, &p.user, None, shown, fields).await;
    }
    let binding = &p.session.id_hash;
    let outcome =
        passkey::finish_registration(&state, binding, &p.user.uuid, &name, credential).await?;
    let uuid = Some(p.user.uuid.as_str());
    match outcome {
        Ok(added) => {
            // The ceremony verified the person on the authenticator: this session has shown a
            // second factor (else adding a passkey would sign the person out of this page).
            if !p.session.mfa {
                let key = KeyUse {
                    hardware: added.hardware,
                    with_password: true,
                };
                state
                    .store
                    .update_session_mfa(&p.session.id_hash, Some(key))
                    .await?;
            }
            let detail = json!({"name": added.name, "hardware": added.hardware});
            state
                .audit(AuditEvent::PasskeyAdded, uuid, None, &p.headers, detail)
                .await;
            // A first passkey as the only second factor: recovery codes, shown once, so that
            // losing the device does not lose the account (an authenticator app made them
            // already otherwise).
            let first = state.store.find_passkeys(&p.user.uuid).await?.len() == 1;
            if first && p.user.totp_secret.is_none() {
                let codes = crate::routes::account::issue_recovery_codes(&state, &p.user).await?;
                let detail = json!({"method": "passkey"});
                state
                    .audit(AuditEvent::MfaRecoveryCodes, uuid, None, &p.headers, detail)
                    .await;
                return crate::routes::account::recovery_codes_page(&state, &codes, true);
            }
            Ok(see_other("/account/passkeys?done=added"))
        }
        Err(refusal) => {
            let detail = json!({"reason": refusal.reason(), "ceremony": "register"});
            state
                .audit(AuditEvent::PasskeyRefused, uuid, None, &p.headers, detail)
                .await;
            let message = match refusal {
                Refusal::Unknown | Refusal::NotRegistered | Refusal::Cloned => {
                    Refusal::Invalid.message()
                }
                other => other.message(),
            };
            fields.insert("passkey", message);
            page(&state, &p.session, &p.user, None, &name, fields).await
        }
    }
}

/// POST /account/passkeys/{id}/remove.
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    let found = state.store.find_passkey(&id).await?;
    let Some(found) = found.filter(|f| f.uuid == p.user.uuid) else {
        return Err(PageError::not_found());
    };
    state.store.delete_passkey(&p.user.uuid, &id).await?;
    let detail = json!({"name": found.name});
    let uuid = Some(p.user.uuid.as_str());
    state
        .audit(AuditEvent::PasskeyRemoved, uuid, None, &p.headers, detail)
        .await;
    Ok(see_other("/account/passkeys?done=removed"))
}
