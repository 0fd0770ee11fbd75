//! A person changing their password on `/account/password`: the current password (counted like
//! a sign-in's, against the account and the address), the new one twice (NIST SP 800-63B's rules,
//! `verity_core::account`). Every other session of the person ends; this browser's stays.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::json;
use verity_core::account;
use verity_store::sessions::Session;

use crate::audit::AuditEvent;
use crate::auth::password;
use crate::auth::throttle::Attempt;
use crate::error::PageError;
use crate::extract::client_address;
use crate::pages::Page;
use crate::respond::see_other;
use crate::session::{SignedInForm, csrf_token, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/account/password", get(show).post(change))
}

/// The form: current password, new password, the new one again.
#[derive(Debug, Serialize)]
struct PasswordPage<'a> {
    email: &'a str,
    csrf_token: String,
    /// A problem per field (`current_password`, `password`, `password_confirm`), shown beside it.
    fields: BTreeMap<&'static str, &'a str>,
}

impl Page for PasswordPage<'_> {
    const TEMPLATE: &'static str = "account_password.html";
}

/// GET /account/password: the form, or the sign-in journey when nobody is signed in.
async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, "/account/password");
    };
    page(&state, &session, &user.email, BTreeMap::new())
}

/// The page; with problems, 400 and each beside its field.
fn page(
    state: &AppState,
    session: &Session,
    email: &str,
    fields: BTreeMap<&'static str, &str>,
) -> Result<Response, PageError> {
    let status = if fields.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = PasswordPage {
        email,
        csrf_token: csrf_token(state, session),
        fields,
    };
    Ok((status, state.pages.show(state.sandbox(), &page)?).into_response())
}

/// POST /account/password: the new password's problems and the current password's are said
/// beside their fields and nothing changes; when both are right the password is replaced, every
/// other session ends, and the account page says so.
async fn change(State(state): State<AppState>, p: SignedInForm) -> Result<Response, PageError> {
    let (session, user) = (&p.session, &p.user);
    let field = |name| p.form.get(name).unwrap_or_default().to_owned();
    let (current, new, confirm) = (
        field("current_password"),
        field("password"),
        field("password_confirm"),
    );
    let mut fields: BTreeMap<&'static str, &str> = account::new_password_problems(&new, &confirm)
        .into_iter()
        .map(|(f, text)| (f.name(), text))
        .collect();
    if current.is_empty() || current.len() > account::PASSWORD_MAX_BYTES {
        fields.insert("current_password", "Enter your current password.");
        return page(&state, session, &user.email, fields);
    }
    let key = verity_core::throttle::account_key(&user.email);
    let attempt = match Attempt::begin(&state, key, client_address(&p.headers)).await? {
        Ok(attempt) => attempt,
        Err(wait) => {
            let message = format!(
                "Too many wrong attempts. Try again in {}. Your password was not changed.",
                verity_core::throttle::wait_text(wait)
            );
            fields.insert("current_password", &message);
            return page(&state, session, &user.email, fields);
        }
    };
    if !password::verify(&state, Some(user), current).await? {
        fields.insert(
            "current_password",
            "That is not your current password. Your password was not changed.",
        );
        return page(&state, session, &user.email, fields);
    }
    attempt.succeeded(&state).await?;
    if !fields.is_empty() {
        return page(&state, session, &user.email, fields);
    }
    let hash = password::hash(&state, new).await?;
    state.store.update_user_password(&user.uuid, &hash).await?;
    let ended = state
        .store
        .delete_other_sessions(&user.uuid, &session.id_hash)
        .await?;
    let detail = json!({"other_sessions_ended": ended});
    let (event, uuid) = (AuditEvent::PasswordChanged, Some(user.uuid.as_str()));
    state.audit(event, uuid, None, &p.headers, detail).await;
    Ok(see_other("/account?changed=password"))
}
