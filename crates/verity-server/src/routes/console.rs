//! The developer console at `/developer` (SPEC section 11): organizations, members and
//! invitations, apps with every setting, secrets shown once and rotated, and each app's audit log.
//! Roles: `owner` and `admin` manage members and may delete apps and secrets; a `developer`
//! manages apps otherwise. Nobody sees an organization they do not belong to. Every form carries
//! the session's CSRF token; every change answers 303.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use verity_core::secret::{constant_time_eq, is_token_shaped, new_token, token_hash};
use verity_store::apps::App;
use verity_store::console::{Invitation, Membership};
use verity_store::users::User;

use crate::admin::{self, AdminError, AppInput, app_json};
use crate::audit::{AuditEvent, Change, Via};
use crate::error::PageError;
use crate::respond::see_other;
use crate::session::{csrf_token, signed_in, start_login};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/developer", get(home))
        .route("/developer/orgs", post(create_org))
        .route("/developer/orgs/{id}", get(org_page))
        .route("/developer/orgs/{id}/invitations", post(invite))
        .route(
            "/developer/orgs/{id}/members/{uuid}/remove",
            post(remove_member),
        )
        .route("/developer/orgs/{id}/apps/new", get(new_app_page))
        .route("/developer/orgs/{id}/apps", post(create_app))
        .route(
            "/developer/apps/{client_id}",
            get(app_page).post(update_app),
        )
        .route("/developer/apps/{client_id}/secrets", post(add_secret))
        .route(
            "/developer/apps/{client_id}/secrets/{id}/delete",
            post(delete_secret),
        )
        .route("/developer/apps/{client_id}/delete", post(delete_app))
        .route("/developer/apps/{client_id}/audit", get(audit_page))
        .route("/developer/invitations/{token}", get(accept_invitation))
}

const ROLES: [&str; 3] = ["owner", "admin", "developer"];
const INVITATION_TTL: i64 = 7 * 86_400;

fn forbidden() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        "Not allowed",
        "Your role in this organization does not allow this.",
    )
}

fn not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here, or you are not a member of its organization.",
    )
}

fn page_error(e: AdminError) -> PageError {
    match e {
        AdminError::Invalid(_) | AdminError::Conflict(_) => PageError::bad_request(e.to_string()),
        AdminError::NotFound(_) => not_found(),
        AdminError::Store(s) => s.into(),
        AdminError::Internal(i) => PageError::internal("console", i),
    }
}

/// Who is signed in, with the session's CSRF token.
struct Person {
    user: User,
    csrf: String,
}

async fn person(state: &AppState, headers: &HeaderMap) -> Result<Option<Person>, PageError> {
    Ok(signed_in(state, headers).await?.map(|(session, user)| {
        let csrf = csrf_token(state, &session);
        Person { user, csrf }
    }))
}

/// A form post: the person (after the CSRF check) and the raw pairs (repeated names allowed, for
/// check boxes).
async fn form(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Person, Vec<(String, String)>), PageError> {
    let body = body.map_err(|_| PageError::bad_request("The form is too large."))?;
    let pairs = verity_core::authorize::form_urlencoded_pairs(&body);
    let Some(p) = person(state, headers).await? else {
        return Err(PageError::new(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "Your session has ended. Open the console again.",
        ));
    };
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), p.csrf.as_bytes()) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form is no longer valid. Reload the page and try again.",
        ));
    }
    Ok((p, pairs))
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The membership of the person in an organization, or 404 (never reveal other organizations).
async fn member(state: &AppState, org_id: &str, p: &Person) -> Result<Membership, PageError> {
    if org_id.len() > 64 {
        return Err(not_found());
    }
    state
        .store
        .find_membership(org_id, &p.user.uuid)
        .await?
        .ok_or_else(not_found)
}

fn manages(m: &Membership) -> bool {
    m.role == "owner" || m.role == "admin"
}

/// An app and the person's membership in its organization.
async fn app_and_member(
    state: &AppState,
    client_id: &str,
    p: &Person,
) -> Result<(App, Membership), PageError> {
    let app = admin::find_app(state, client_id)
        .await
        .map_err(|_| not_found())?;
    let m = member(state, &app.org_id, p).await?;
    Ok((app, m))
}

fn render(
    state: &AppState,
    name: &str,
    status: StatusCode,
    ctx: Value,
) -> Result<Response, PageError> {
    Ok((status, state.pages.render(name, state.sandbox(), &ctx)?).into_response())
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let Some(p) = person(&state, &headers).await? else {
        return start_login(&state, "/developer");
    };
    let orgs = state.store.find_user_memberships(&p.user.uuid).await?;
    let orgs: Vec<Value> = orgs
        .iter()
        .map(|m| json!({"id": m.org_id, "name": m.org_name, "role": m.role}))
        .collect();
    render(
        &state,
        "console_home.html",
        StatusCode::OK,
        json!({"email": p.user.email, "csrf_token": p.csrf, "orgs": orgs}),
    )
}

async fn create_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, pairs) = form(&state, &headers, body).await?;
    let org = admin::create_organization(
        &state,
        field(&pairs, "name").unwrap_or_default(),
        Some(&p.user.uuid),
    )
    .await
    .map_err(page_error)?;
    state
        .audit(
            AuditEvent::Changed(Via::Console, Change::OrganizationCreated),
            Some(&p.user.uuid),
            None,
            &headers,
            json!({"organization": org.id}),
        )
        .await;
    Ok(see_other(&format!("/developer/orgs/{}", org.id)))
}

async fn org_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let Some(p) = person(&state, &headers).await? else {
        return start_login(&state, &format!("/developer/orgs/{id}"));
    };
    let m = member(&state, &id, &p).await?;
    let apps: Vec<Value> = state
        .store
        .find_org_apps(&id)
        .await?
        .iter()
        .map(app_json)
        .collect();
    let members: Vec<Value> = state
        .store
        .find_org_members(&id)
        .await?
        .iter()
        .map(|x| json!({"uuid": x.uuid, "email": x.email, "role": x.role, "me": x.uuid == p.user.uuid}))
        .collect();
    let invitations: Vec<Value> = state
        .store
        .find_org_invitations(&id)
        .await?
        .iter()
        .map(|i| json!({"email": i.email, "role": i.role}))
        .collect();
    render(
        &state,
        "console_org.html",
        StatusCode::OK,
        json!({"org": {"id": m.org_id, "name": m.org_name}, "role": m.role, "manages": manages(&m), "apps": apps,
               "members": members, "invitations": invitations, "roles": ROLES, "csrf_token": p.csrf}),
    )
}

async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, pairs) = form(&state, &headers, body).await?;
    let m = member(&state, &id, &p).await?;
    if !manages(&m) {
        return Err(forbidden());
    }
    let email = field(&pairs, "email")
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let role = field(&pairs, "role").unwrap_or("developer");
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err(PageError::bad_request(
            "Enter the email address of the person to invite.",
        ));
    }
    if !ROLES.contains(&role) || (role == "owner" && m.role != "owner") {
        return Err(PageError::bad_request(
            "Choose a role you may give: owner (owners only), admin or developer.",
        ));
    }
    let token = new_token();
    let now = state.now();
    state
        .store
        .insert_invitation(&Invitation {
            id: new_token(),
            org_id: id.clone(),
            email: email.clone(),
            role: role.to_owned(),
            token_hash: token_hash(&token),
            invited_by: p.user.uuid.clone(),
            created_at: now,
            expires_at: now + INVITATION_TTL,
            accepted_at: None,
        })
        .await?;
    let link = format!("{}/developer/invitations/{token}", state.public_url);
    let body = format!(
        "{} invited you to join {} on Verity as {role}.\n\nAccept the invitation (valid 7 days):\n{link}\n",
        p.user.email, m.org_name
    );
    crate::outbox::send(
        &state,
        crate::outbox::Mail {
            to: &email,
            subject: &format!("Join {} on Verity", m.org_name),
            body: &body,
        },
    )
    .await;
    state
        .audit(
            AuditEvent::Changed(Via::Console, Change::MemberInvited),
            Some(&p.user.uuid),
            None,
            &headers,
            json!({"organization": id, "role": role}),
        )
        .await;
    Ok(see_other(&format!("/developer/orgs/{id}")))
}

async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(p) = person(&state, &headers).await? else {
        return start_login(&state, &format!("/developer/invitations/{token}"));
    };
    if !is_token_shaped(&token) {
        return Err(not_found());
    }
    match state
        .store
        .take_invitation(
            &token_hash(&token),
            &p.user.uuid,
            &p.user.email,
            state.now(),
        )
        .await?
    {
        Some(inv) => {
            state
                .audit(
                    AuditEvent::Changed(Via::Console, Change::MemberJoined),
                    Some(&p.user.uuid),
                    None,
                    &headers,
                    json!({"organization": inv.org_id, "role": inv.role}),
                )
                .await;
            Ok(see_other(&format!("/developer/orgs/{}", inv.org_id)))
        }
        None => Err(PageError::bad_request(
            "This invitation is not valid for your account: it was used, has expired, or was sent to another email address.",
        )),
    }
}

async fn remove_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, uuid)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, _) = form(&state, &headers, body).await?;
    let m = member(&state, &id, &p).await?;
    if !manages(&m) || uuid == p.user.uuid {
        return Err(forbidden());
    }
    let target = state
        .store
        .find_membership(&id, &uuid)
        .await?
        .ok_or_else(not_found)?;
    if target.role == "owner" && m.role != "owner" {
        return Err(forbidden());
    }
    state.store.delete_membership(&id, &uuid).await?;
    state
        .audit(
            AuditEvent::Changed(Via::Console, Change::MemberRemoved),
            Some(&p.user.uuid),
            None,
            &headers,
            json!({"organization": id, "member": uuid}),
        )
        .await;
    Ok(see_other(&format!("/developer/orgs/{id}")))
}

/// The choices the app form offers.
fn form_choices(state: &AppState) -> Value {
    let policies: Vec<Value> = state
        .policies
        .iter()
        .map(|p| json!({"handle": p.handle, "name": p.name}))
        .collect();
    json!({"all_policies": policies})
}

async fn new_app_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let Some(p) = person(&state, &headers).await? else {
        return start_login(&state, &format!("/developer/orgs/{id}/apps/new"));
    };
    let m = member(&state, &id, &p).await?;
    let defaults = app_json(&App::new("", &id, "", 0));
    let mut ctx = json!({"org": {"id": m.org_id, "name": m.org_name}, "app": defaults, "csrf_token": p.csrf, "new": true});
    ctx["all_policies"] = form_choices(&state)["all_policies"].clone();
    render(&state, "console_app_form.html", StatusCode::OK, ctx)
}

/// The app form's fields as an [`AppInput`] (unchecked boxes are `false`, empty fields `null`).
fn app_input(pairs: &[(String, String)], creating: bool) -> AppInput {
    let text = |n: &str| {
        field(pairs, n)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let optional = |n: &str| Some(Some(text(n)).filter(|v| !v.is_empty()));
    let lines = |n: &str| -> Vec<String> {
        text(n)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let number = |n: &str| text(n).parse::<i64>().ok();
    let checked = |n: &str| {
        pairs
            .iter()
            .any(|(k, v)| k == n && (v == "on" || v == "true"))
    };
    let jwks = match text("jwks") {
        t if t.is_empty() => Some(None),
        t => Some(Some(
            serde_json::from_str::<Value>(&t).unwrap_or(Value::String(t)),
        )),
    };
    AppInput {
        name: Some(text("name")),
        logo_url: optional("logo_url"),
        redirect_uris: Some(lines("redirect_uris")),
        post_logout_redirect_uris: Some(lines("post_logout_redirect_uris")),
        policies: Some(
            pairs
                .iter()
                .filter(|(k, _)| k == "policies")
                .map(|(_, v)| v.clone())
                .collect(),
        ),
        profile: Some(text("profile")),
        // Public or confidential is chosen when the app is created.
        public: creating.then(|| checked("public")),
        refresh_tokens: Some(checked("refresh_tokens")),
        id_token_alg: Some(text("id_token_alg")),
        userinfo_signed_response_alg: optional("userinfo_signed_response_alg"),
        code_ttl: number("code_ttl"),
        access_ttl: number("access_ttl"),
        refresh_ttl: number("refresh_ttl"),
        userinfo_ttl: number("userinfo_ttl"),
        jwks,
        jwks_uri: optional("jwks_uri"),
        backchannel_logout_uri: optional("backchannel_logout_uri"),
    }
}

/// The app form again with the problems listed and the person's input kept.
fn form_again(
    state: &AppState,
    p: &Person,
    m: &Membership,
    app: Value,
    new: bool,
    e: AdminError,
) -> Result<Response, PageError> {
    let problems: Vec<String> = match e {
        AdminError::Invalid(list) => list,
        other => return Err(page_error(other)),
    };
    let mut ctx = json!({"org": {"id": m.org_id, "name": m.org_name}, "app": app, "csrf_token": p.csrf, "new": new, "problems": problems});
    ctx["all_policies"] = form_choices(state)["all_policies"].clone();
    render(state, "console_app_form.html", StatusCode::BAD_REQUEST, ctx)
}

fn echo(pairs: &[(String, String)], base: Value) -> Value {
    let mut v = base;
    for (k, val) in pairs {
        match k.as_str() {
            "policies" => {}
            "redirect_uris" | "post_logout_redirect_uris" => {
                v[k] = Value::Array(
                    val.lines()
                        .map(|l| Value::String(l.trim().to_owned()))
                        .filter(|l| l != "")
                        .collect(),
                );
            }
            "csrf_token" => {}
            _ => v[k] = Value::String(val.clone()),
        }
    }
    v["policies"] = Value::Array(
        pairs
            .iter()
            .filter(|(k, _)| k == "policies")
            .map(|(_, p)| Value::String(p.clone()))
            .collect(),
    );
    v
}

async fn create_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, pairs) = form(&state, &headers, body).await?;
    let m = member(&state, &id, &p).await?;
    match admin::create_app(&state, &id, app_input(&pairs, true)).await {
        Ok((app, secret)) => {
            state
                .audit(
                    AuditEvent::Changed(Via::Console, Change::AppCreated),
                    Some(&p.user.uuid),
                    Some(&app.client_id),
                    &headers,
                    json!({}),
                )
                .await;
            render(
                &state,
                "console_credentials.html",
                StatusCode::OK,
                json!({"app": app_json(&app), "client_secret": secret, "created": true}),
            )
        }
        Err(e) => form_again(
            &state,
            &p,
            &m,
            echo(&pairs, app_json(&App::new("", &id, "", 0))),
            true,
            e,
        ),
    }
}

async fn app_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, PageError> {
    let Some(p) = person(&state, &headers).await? else {
        return start_login(&state, &format!("/developer/apps/{client_id}"));
    };
    let (app, m) = app_and_member(&state, &client_id, &p).await?;
    let secrets: Vec<Value> = state
        .store
        .find_app_secrets(&client_id)
        .await?
        .iter()
        .map(|s| json!({"id": s.id, "created_at": s.created_at}))
        .collect();
    let mut ctx = json!({"org": {"id": m.org_id, "name": m.org_name}, "app": app_json(&app), "csrf_token": p.csrf,
                         "new": false, "secrets": secrets, "manages": manages(&m)});
    ctx["all_policies"] = form_choices(&state)["all_policies"].clone();
    render(&state, "console_app_form.html", StatusCode::OK, ctx)
}

async fn update_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, pairs) = form(&state, &headers, body).await?;
    let (app, m) = app_and_member(&state, &client_id, &p).await?;
    match admin::update_app(&state, &client_id, app_input(&pairs, false)).await {
        Ok(updated) => {
            // Who changed what: the names of the settings that differ.
            let (before, after) = (app_json(&app), app_json(&updated));
            let changed: Vec<&String> = after
                .as_object()
                .map(|a| {
                    a.keys()
                        .filter(|k| {
                            *k != "updated_at" && before.get(k.as_str()) != a.get(k.as_str())
                        })
                        .collect()
                })
                .unwrap_or_default();
            state
                .audit(
                    AuditEvent::Changed(Via::Console, Change::AppUpdated),
                    Some(&p.user.uuid),
                    Some(&client_id),
                    &headers,
                    json!({"fields": changed}),
                )
                .await;
            Ok(see_other(&format!("/developer/apps/{client_id}")))
        }
        Err(e) => form_again(&state, &p, &m, echo(&pairs, app_json(&app)), false, e),
    }
}

async fn add_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, _) = form(&state, &headers, body).await?;
    let (app, _) = app_and_member(&state, &client_id, &p).await?;
    let (id, secret) = admin::add_secret(&state, &client_id)
        .await
        .map_err(page_error)?;
    state
        .audit(
            AuditEvent::Changed(Via::Console, Change::SecretCreated),
            Some(&p.user.uuid),
            Some(&client_id),
            &headers,
            json!({"secret_id": id}),
        )
        .await;
    render(
        &state,
        "console_credentials.html",
        StatusCode::OK,
        json!({"app": app_json(&app), "client_secret": secret, "created": false}),
    )
}

async fn delete_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((client_id, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, _) = form(&state, &headers, body).await?;
    let (_, m) = app_and_member(&state, &client_id, &p).await?;
    if !manages(&m) {
        return Err(forbidden());
    }
    admin::delete_secret(&state, &client_id, &id)
        .await
        .map_err(page_error)?;
    state
        .audit(
            AuditEvent::Changed(Via::Console, Change::SecretDeleted),
            Some(&p.user.uuid),
            Some(&client_id),
            &headers,
            json!({"secret_id": id}),
        )
        .await;
    Ok(see_other(&format!("/developer/apps/{client_id}")))
}

async fn delete_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (p, _) = form(&state, &headers, body).await?;
    let (app, m) = app_and_member(&state, &client_id, &p).await?;
    if !manages(&m) {
        return Err(forbidden());
    }
    admin::delete_app(&state, &client_id)
        .await
        .map_err(page_error)?;
    state
        .audit(
            AuditEvent::Changed(Via::Console, Change::AppDeleted),
            Some(&p.user.uuid),
            Some(&client_id),
            &headers,
            json!({}),
        )
        .await;
    Ok(see_other(&format!("/developer/orgs/{}", app.org_id)))
}

async fn audit_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, PageError> {
    let Some(p) = person(&state, &headers).await? else {
        return start_login(&state, &format!("/developer/apps/{client_id}/audit"));
    };
    let (app, m) = app_and_member(&state, &client_id, &p).await?;
    let events: Vec<Value> = state
        .store
        .find_audit(Some(&client_id), None, 200)
        .await?
        .into_iter()
        .map(|e| json!({"at": e.at, "event": e.event, "uuid": e.uuid, "address": e.address, "request_id": e.request_id, "detail": e.detail.to_string()}))
        .collect();
    render(
        &state,
        "console_audit.html",
        StatusCode::OK,
        json!({"org": {"id": m.org_id, "name": m.org_name}, "app": app_json(&app), "events": events}),
    )
}
