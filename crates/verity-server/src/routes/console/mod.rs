//! The developer console at `/developer` (SPEC section 11): organizations, members and
//! invitations, apps with every setting, secrets shown once and rotated, and each app's audit log.
//! Roles: `owner` and `admin` manage members and may delete apps and secrets; a `developer`
//! manages apps otherwise. Nobody sees an organization they do not belong to. Every form carries
//! the session's CSRF token; every change answers 303.
//!
//! Each handler states what it needs as extractors, so the opening every console route shares is
//! written once: [`Person`] (who is signed in; a page sends a signed-out person to sign in),
//! [`Member`] (their membership in the organization the path names, directly or through an app),
//! and [`ConsoleForm`] (a posted form whose CSRF token matches the session).
//!
//! After a change the browser is sent on (303) with `?done=<what>` (or `?invited=<id>`), and the
//! page it lands on says what happened ([`Done`]): fixed words, or words with values read from
//! the store, so a crafted link cannot make a console page say anything else.
//!
//! - [`orgs`]: the home page, organizations, members and invitations.
//! - [`apps`]: registering and editing apps, their secrets and their audit log.

mod apps;
mod orgs;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use verity_core::secret::token_hash;
use verity_store::apps::App;
use verity_store::console::Membership;
use verity_store::users::User;

use crate::admin;
use crate::audit::{AuditEvent, Change, Via};
use crate::error::PageError;
use crate::extract::{query_params, set_cookie};
use crate::pages::Page;
use crate::respond::see_other;
use crate::respond::with_cookie;
use crate::session::{SESSION_COOKIE, csrf_token, session_cookie, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/developer", get(orgs::home))
        .route("/developer/sign-out", post(sign_out))
        .route("/developer/orgs", post(orgs::create_org))
        .route("/developer/orgs/{id}", get(orgs::org_page))
        .route("/developer/orgs/{id}/invitations", post(orgs::invite))
        .route(
            "/developer/orgs/{id}/members/{uuid}/remove",
            post(orgs::remove_member),
        )
        .route("/developer/orgs/{id}/apps/new", get(apps::new_app_page))
        .route("/developer/orgs/{id}/apps", post(apps::create_app))
        .route(
            "/developer/apps/{client_id}",
            get(apps::app_page).post(apps::update_app),
        )
        .route(
            "/developer/apps/{client_id}/secrets",
            post(apps::add_secret),
        )
        .route(
            "/developer/apps/{client_id}/secrets/{id}/delete",
            post(apps::delete_secret),
        )
        .route("/developer/apps/{client_id}/delete", post(apps::delete_app))
        .route("/developer/apps/{client_id}/audit", get(apps::audit_page))
        .route(
            "/developer/invitations/{token}",
            get(orgs::accept_invitation),
        )
}

fn forbidden() -> PageError {
    PageError::forbidden("Your role in this organization does not allow this.")
}

/// Who is signed in, with the session's CSRF token. Extracting it from a signed-out request
/// sends a page view through the sign-in journey (back to the same path) and answers a form
/// post 401.
struct Person {
    user: User,
    csrf: String,
}

impl FromRequestParts<AppState> for Person {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match signed_in(state, &parts.headers).await {
            Ok(Some((session, user))) => Ok(Person {
                user,
                csrf: csrf_token(state, &session),
            }),
            Ok(None) if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(start_login(state, parts.uri.path()).into_response())
            }
            Ok(None) => Err(PageError::signed_out(
                "Your session has ended. Open the console again.",
            )
            .into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The signed-in person's membership in the organization the path names: `{id}`, or the
/// organization of the app `{client_id}` (which comes along). 404 otherwise: other
/// organizations are never revealed.
struct Member {
    /// The request's headers, for the audit trail (client address, request id).
    headers: HeaderMap,
    person: Person,
    membership: Membership,
    /// The app of an app route.
    app: Option<App>,
}

impl Member {
    /// Owners and admins manage members, and may delete apps and secrets.
    fn manages(&self) -> bool {
        manages(&self.membership.role)
    }

    /// The app of an app route.
    fn app(&self) -> Result<&App, PageError> {
        self.app.as_ref().ok_or_else(PageError::not_found)
    }

    /// Audits a change this member made in the console.
    async fn audit(
        &self,
        state: &AppState,
        change: Change,
        client_id: Option<&str>,
        detail: Value,
    ) {
        let event = AuditEvent::Changed(Via::Console, change);
        let uuid = Some(self.person.user.uuid.as_str());
        state
            .audit(event, uuid, client_id, &self.headers, detail)
            .await;
    }

    /// The organization as the pages show it.
    fn org(&self) -> OrgRef<'_> {
        OrgRef {
            id: &self.membership.org_id,
            name: &self.membership.org_name,
        }
    }
}

fn manages(role: &str) -> bool {
    role == "owner" || role == "admin"
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let person = Person::from_request_parts(parts, state).await?;
        let params = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::not_found().into_response())?;
        let found = async {
            let (org_id, app) = match params.get("client_id") {
                Some(client_id) => {
                    let app = admin::find_app(state, client_id)
                        .await
                        .map_err(|_| PageError::not_found())?;
                    (app.org_id.clone(), Some(app))
                }
                None => (params.get("id").cloned().unwrap_or_default(), None),
            };
            if org_id.len() > 64 {
                return Err(PageError::not_found());
            }
            let membership = state
                .store
                .find_membership(&org_id, &person.user.uuid)
                .await?
                .ok_or_else(PageError::not_found)?;
            Ok((membership, app))
        };
        match found.await {
            Ok((membership, app)) => Ok(Member {
                headers: parts.headers.clone(),
                person,
                membership,
                app,
            }),
            Err(e) => Err(PageError::into_response(e)),
        }
    }
}

/// A [`Member`] who manages the organization (an owner or an admin); 403 for a developer.
struct Manager(Member);

impl FromRequestParts<AppState> for Manager {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let member = Member::from_request_parts(parts, state).await?;
        if member.manages() {
            Ok(Manager(member))
        } else {
            Err(forbidden().into_response())
        }
    }
}

/// A posted console form: its raw pairs (repeated names allowed, for check boxes), after its
/// CSRF token was checked against the session (derived from the session id: no lookup).
struct ConsoleForm {
    pairs: Vec<(String, String)>,
}

impl ConsoleForm {
    fn field(&self, name: &str) -> Option<&str> {
        field(&self.pairs, name)
    }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl FromRequest<AppState> for ConsoleForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let session_hash = session_cookie(req.headers()).map(token_hash);
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form is too large."))?;
        let pairs = verity_core::authorize::form_urlencoded_pairs(&body);
        let sent = field(&pairs, "csrf_token").unwrap_or_default();
        crate::session::check_csrf(state, session_hash.as_deref(), sent)?;
        Ok(ConsoleForm { pairs })
    }
}

/// An organization as the pages name it.
#[derive(Debug, Serialize)]
struct OrgRef<'a> {
    id: &'a str,
    name: &'a str,
}

fn render<P: Page>(state: &AppState, status: StatusCode, page: &P) -> Result<Response, PageError> {
    Ok((status, state.pages.show(state.sandbox(), page)?).into_response())
}

/// What the page after a change says happened (`?done=` on the 303's target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Saved,
    Joined,
    MemberRemoved,
    SecretDeleted,
    AppDeleted,
}

impl Done {
    const ALL: [Done; 5] = [
        Done::Saved,
        Done::Joined,
        Done::MemberRemoved,
        Done::SecretDeleted,
        Done::AppDeleted,
    ];

    /// The value of `?done=`.
    fn flag(self) -> &'static str {
        match self {
            Done::Saved => "saved",
            Done::Joined => "joined",
            Done::MemberRemoved => "member-removed",
            Done::SecretDeleted => "secret-deleted",
            Done::AppDeleted => "app-deleted",
        }
    }

    /// What the page says.
    fn words(self) -> &'static str {
        match self {
            Done::Saved => "Saved.",
            Done::Joined => "Invitation accepted: you are now a member of this organization.",
            Done::MemberRemoved => "Member removed.",
            Done::SecretDeleted => "Secret deleted: it no longer works.",
            Done::AppDeleted => "App deleted: its tokens no longer work.",
        }
    }

    /// `path?done=<flag>`: where a change sends the browser.
    fn after(self, path: &str) -> Response {
        see_other(&format!("{path}?done={}", self.flag()))
    }

    /// The words for the query's `done`, if it names a change; anything else says nothing.
    fn said(query: Option<&str>) -> Option<&'static str> {
        let params = query_params(query);
        let flag = params.get("done")?;
        Done::ALL
            .into_iter()
            .find(|d| d.flag() == flag)
            .map(Done::words)
    }
}

/// POST /developer/sign-out: ends the session in this browser (as `/oauth/logout` does: the
/// apps with a back-channel logout URI are told) and sends the person to sign in again, back to
/// the console.
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    _person: Person,
    _form: ConsoleForm,
) -> Result<Response, PageError> {
    if let Some(raw) = session_cookie(&headers) {
        let hash = token_hash(raw);
        if let Some(session) = state.store.find_session(&hash, state.now()).await? {
            state.store.delete_session(&hash).await?;
            let uuid = Some(session.uuid.as_str());
            let detail = serde_json::json!({"from": "console"});
            state
                .audit(AuditEvent::Logout, uuid, None, &headers, detail)
                .await;
            crate::backchannel::notify_logout(&state, &session).await;
        }
    }
    let cleared = set_cookie(SESSION_COOKIE, "", 0, state.secure_cookies);
    Ok(with_cookie(start_login(&state, "/developer")?, &cleared))
}
