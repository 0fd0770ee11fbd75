//! The reviewers' console at `/review` (SPEC 12 "Review"): the queue of cases in review, oldest
//! first, with its counts and waiting times; claiming a case (a lock that runs out); the case
//! with its files, shown only to the reviewer who holds it (`no-store`, every view audited);
//! approving (subgroups, and for `identity` what the document says) or rejecting with a reason.
//! Only accounts with the `reviewer` role enter (403 for others); nobody reviews their own case.
//!
//! The handlers only read the request and show the answer; what a reviewer may do is
//! `verity_core::review`'s and the work is [`crate::verification::review`]'s.
//!
//! - this module: the router, who may enter ([`Reviewer`], [`ReviewForm`]), shared wording;
//! - [`queue`]: the queue, taking the next case, the reviewer's own API token;
//! - [`case`]: one case: claiming and releasing it, its files, the decision.

mod case;
mod queue;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use verity_core::evidence::document_types;
use verity_core::identity;
use verity_core::review::{Refusal, Role};
use verity_core::secret::token_hash;
use verity_store::cases::Case;
use verity_store::users::User;

use crate::error::PageError;
use crate::pages::Page;
use crate::session::{check_csrf, csrf_token, session_cookie, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue::queue))
        .route("/review/next", post(queue::claim_next))
        .route("/review/cases/{id}", get(case::case_page))
        .route("/review/cases/{id}/claim", post(case::claim))
        .route("/review/cases/{id}/release", post(case::release))
        .route("/review/cases/{id}/decision", post(case::decide))
        .route("/review/cases/{id}/files/{file}", get(case::file))
        .route("/review/token", post(queue::create_token))
        .route("/review/token/delete", post(queue::delete_token))
}

/// A signed-in account with the `reviewer` role. A signed-out page view goes through the
/// sign-in journey; anyone else gets 403.
struct Reviewer {
    user: User,
    csrf: String,
    headers: HeaderMap,
}

fn not_a_reviewer() -> PageError {
    PageError::forbidden(
        "This page is for the provider's reviewers. Ask an operator for the reviewer role.",
    )
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let found = signed_in(state, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some((session, user)) = found else {
            return Err(if parts.method == Method::GET {
                start_login(state, parts.uri.path()).unwrap_or_else(IntoResponse::into_response)
            } else {
                PageError::signed_out("Your session has ended. Open the review queue again.")
                    .into_response()
            });
        };
        let is_reviewer = state
            .store
            .has_role(&user.uuid, Role::Reviewer)
            .await
            .map_err(|e| PageError::from(e).into_response())?;
        if !is_reviewer {
            return Err(not_a_reviewer().into_response());
        }
        Ok(Reviewer {
            user,
            csrf: csrf_token(state, &session),
            headers: parts.headers.clone(),
        })
    }
}

/// A reviewer's posted form (repeated names kept, for subgroups), after its CSRF check.
struct ReviewForm {
    reviewer: Reviewer,
    pairs: Vec<(String, String)>,
}

impl ReviewForm {
    fn field(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        let named = self.pairs.iter().filter(|(k, _)| k == name);
        named.map(|(_, v)| v.clone()).collect()
    }
}

impl FromRequest<AppState> for ReviewForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let reviewer = Reviewer::from_request_parts(&mut parts, state).await?;
        let session_hash = session_cookie(&parts.headers).map(token_hash);
        let req = Request::from_parts(parts, body);
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form is too large.").into_response())?;
        let pairs = verity_core::authorize::form_urlencoded_pairs(&body);
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map_or("", |(_, v)| v.as_str());
        check_csrf(state, session_hash.as_deref(), sent).map_err(IntoResponse::into_response)?;
        Ok(ReviewForm { reviewer, pairs })
    }
}

fn group_name(grp: &str) -> String {
    identity::group(grp).map_or_else(|| "Identity".to_owned(), |g| g.name.to_owned())
}

fn document_name(c: &Case) -> String {
    let kind = c.document_type.as_deref().unwrap_or_default();
    document_types(&c.grp)
        .iter()
        .find(|(handle, _)| *handle == kind)
        .map_or_else(|| kind.to_owned(), |(_, name)| (*name).to_owned())
}

/// GET `/review`: the queue.
fn refused(refusal: Refusal) -> PageError {
    match refusal {
        Refusal::NotInReview => PageError::conflict(refusal.explanation()),
        _ => PageError::forbidden(refusal.explanation()),
    }
}

fn render<P: Page>(state: &AppState, status: StatusCode, page: &P) -> Result<Response, PageError> {
    Ok((status, state.pages.show(state.sandbox(), page)?).into_response())
}
