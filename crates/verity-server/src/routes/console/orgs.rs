//! The console's home page, organizations, their members and invitations. Organizations created
//! per account (`VERITY_LIMIT_ORGS`) and invitations sent per organization
//! (`VERITY_LIMIT_INVITATIONS`) are limited: over a limit the page shows its form again, the
//! input kept, with when to try again (429).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};
use verity_core::account::{normalize_email, valid_email};
use verity_core::limits::Kind;
use verity_core::secret::{is_token_shaped, new_token, token_hash};
use verity_store::console::Invitation;

use super::{ConsoleForm, Done, Manager, Member, OrgRef, Person, forbidden, render};
use crate::admin::{self, app_json};
use crate::audit::{AuditEvent, Change, Via};
use crate::error::PageError;
use crate::extract::query_params;
use crate::limits;
use crate::pages::Page;
use crate::respond::see_other;
use crate::state::AppState;

const ROLES: [&str; 3] = ["owner", "admin", "developer"];
const INVITATION_TTL: i64 = 7 * 86_400;

#[derive(Debug, Serialize)]
struct HomePage<'a> {
    email: &'a str,
    csrf_token: &'a str,
    orgs: Vec<OrgRow<'a>>,
    /// The new organization's name as typed, shown again beside its error.
    name: &'a str,
    error: Option<String>,
    /// What the last change did (see [`Done`]).
    notice: Option<&'a str>,
}

impl Page for HomePage<'_> {
    const TEMPLATE: &'static str = "console_home.html";
}

#[derive(Debug, Serialize)]
struct OrgRow<'a> {
    id: &'a str,
    name: &'a str,
    role: &'a str,
}

#[derive(Debug, Serialize)]
struct OrgPage<'a> {
    org: OrgRef<'a>,
    role: &'a str,
    manages: bool,
    /// The apps as the admin API shows them.
    apps: Vec<Value>,
    members: Vec<MemberRow<'a>>,
    invitations: Vec<InvitationRow<'a>>,
    roles: [&'static str; 3],
    csrf_token: &'a str,
    /// The invitation form as the person filled it in, shown again beside its error.
    invite: Option<InviteShown<'a>>,
    /// What the last change did: fixed words, or the invitation just sent as stored.
    notice: Option<String>,
}

impl Page for OrgPage<'_> {
    const TEMPLATE: &'static str = "console_org.html";
}

#[derive(Debug, Serialize)]
struct MemberRow<'a> {
    uuid: &'a str,
    email: &'a str,
    role: &'a str,
    /// The person looking at the page (who cannot remove themselves).
    me: bool,
}

/// An invitation form refused, shown again.
#[derive(Debug, Serialize)]
struct InviteShown<'a> {
    email: &'a str,
    role: &'a str,
    error: String,
}

#[derive(Debug, Serialize)]
struct InvitationRow<'a> {
    email: &'a str,
    role: &'a str,
}

/// GET /developer: the person's organizations.
pub(super) async fn home(
    State(state): State<AppState>,
    person: Person,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let notice = Done::said(query.as_deref());
    home_page(&state, &person, "", None, notice).await
}

/// The home page, with the new-organization form as typed and its error, if any.
async fn home_page(
    state: &AppState,
    person: &Person,
    name: &str,
    error: Option<String>,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let memberships = state.store.find_user_memberships(&person.user.uuid).await?;
    let orgs = memberships
        .iter()
        .map(|m| OrgRow {
            id: &m.org_id,
            name: &m.org_name,
            role: &m.role,
        })
        .collect();
    let page = HomePage {
        email: &person.user.email,
        csrf_token: &person.csrf,
        orgs,
        name,
        error,
        notice,
    };
    render(state, StatusCode::OK, &page)
}

/// POST /developer/orgs: a new organization, owned by its creator.
pub(super) async fn create_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    person: Person,
    form: ConsoleForm,
) -> Result<Response, PageError> {
    let name = form.field("name").unwrap_or_default();
    let uuid = person.user.uuid.as_str();
    let taken = limits::take(&state, Kind::Org, uuid, &headers, Some(uuid), None);
    if let Err(refused) = taken.await? {
        let page = home_page(&state, &person, name, Some(refused.message()), None).await?;
        return Ok(refused.answer(page));
    }
    let org = match admin::create_organization(&state, name, Some(uuid)).await {
        Ok(org) => org,
        Err(e) => {
            limits::give_back(&state, Kind::Org, uuid).await?;
            return Err(e.into());
        }
    };
    let event = AuditEvent::Changed(Via::Console, Change::OrganizationCreated);
    let detail = json!({"organization": org.id});
    let uuid = Some(person.user.uuid.as_str());
    state.audit(event, uuid, None, &headers, detail).await;
    // The new organization's page, headed by its name, is the confirmation.
    Ok(see_other(&format!("/developer/orgs/{}", org.id)))
}

/// GET /developer/orgs/{id}: its apps, members and pending invitations.
pub(super) async fn org_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    member: Member,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    show_org(&state, &id, &member, None, query.as_deref()).await
}

/// The organization's page, with the invitation form as typed and its error, if any.
async fn show_org(
    state: &AppState,
    id: &str,
    member: &Member,
    invite: Option<InviteShown<'_>>,
    query: Option<&str>,
) -> Result<Response, PageError> {
    let apps = state.store.find_org_apps(id).await?;
    let members = state.store.find_org_members(id).await?;
    let invitations = state.store.find_org_invitations(id).await?;
    // `?invited=<id>` names an invitation of this organization; the words come from its row.
    let invited = query_params(query)
        .get("invited")
        .and_then(|sent| invitations.iter().find(|i| i.id == sent))
        .map(|i| format!("Invitation sent to {} as {}.", i.email, i.role));
    let notice = invited.or_else(|| Done::said(query).map(str::to_owned));
    let me = &member.person.user.uuid;
    let page = OrgPage {
        org: member.org(),
        role: &member.membership.role,
        manages: member.manages(),
        apps: apps.iter().map(app_json).collect(),
        members: members
            .iter()
            .map(|x| MemberRow {
                uuid: &x.uuid,
                email: &x.email,
                role: &x.role,
                me: &x.uuid == me,
            })
            .collect(),
        invitations: invitations
            .iter()
            .map(|i| InvitationRow {
                email: &i.email,
                role: &i.role,
            })
            .collect(),
        roles: ROLES,
        csrf_token: &member.person.csrf,
        invite,
        notice,
    };
    render(state, StatusCode::OK, &page)
}

/// POST /developer/orgs/{id}/invitations: an invitation mailed to `email` with `role`.
pub(super) async fn invite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Manager(member): Manager,
    form: ConsoleForm,
) -> Result<Response, PageError> {
    let email = normalize_email(form.field("email").unwrap_or_default());
    let role = form.field("role").unwrap_or("developer");
    if !valid_email(&email) {
        return Err(PageError::bad_request(
            "Enter the email address of the person to invite.",
        ));
    }
    if !ROLES.contains(&role) || (role == "owner" && member.membership.role != "owner") {
        return Err(PageError::bad_request(
            "Choose a role you may give: owner (owners only), admin or developer.",
        ));
    }
    let (user, org_name) = (&member.person.user, &member.membership.org_name);
    let uuid = Some(user.uuid.as_str());
    let taken = limits::take(&state, Kind::Invitation, &id, &member.headers, uuid, None);
    if let Err(refused) = taken.await? {
        let error = refused.message();
        let shown = InviteShown {
            email: &email,
            role,
            error,
        };
        let page = show_org(&state, &id, &member, Some(shown), None).await?;
        return Ok(refused.answer(page));
    }
    let token = new_token();
    let invitation_id = new_token();
    let now = state.now();
    state
        .store
        .insert_invitation(&Invitation {
            id: invitation_id.clone(),
            org_id: id.clone(),
            email: email.clone(),
            role: role.to_owned(),
            token_hash: token_hash(&token),
            invited_by: user.uuid.clone(),
            created_at: now,
            expires_at: now + INVITATION_TTL,
            accepted_at: None,
        })
        .await?;
    let link = format!("{}/developer/invitations/{token}", state.public_url);
    let body = format!(
        "{} invited you to join {org_name} on Verity as {role}.\n\nAccept the invitation (valid 7 days):\n{link}\n",
        user.email
    );
    let subject = format!("Join {org_name} on Verity");
    let mail = crate::outbox::Mail {
        to: &email,
        subject: &subject,
        body: &body,
    };
    crate::outbox::send(&state, mail).await;
    let detail = json!({"organization": id, "role": role});
    member
        .audit(&state, Change::MemberInvited, None, detail)
        .await;
    Ok(see_other(&format!(
        "/developer/orgs/{id}?invited={invitation_id}"
    )))
}

/// GET /developer/invitations/{token}: joins the organization, when the invitation was sent to
/// the signed-in person's email and is unused and unexpired.
pub(super) async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    person: Person,
) -> Result<Response, PageError> {
    if !is_token_shaped(&token) {
        return Err(PageError::not_found());
    }
    let user = &person.user;
    let taken = state
        .store
        .take_invitation(&token_hash(&token), &user.uuid, &user.email, state.now())
        .await?;
    let Some(inv) = taken else {
        return Err(PageError::bad_request(
            "This invitation is not valid for your account: it was used, has expired, or was sent to another email address.",
        ));
    };
    let event = AuditEvent::Changed(Via::Console, Change::MemberJoined);
    let detail = json!({"organization": inv.org_id, "role": inv.role});
    let uuid = Some(user.uuid.as_str());
    state.audit(event, uuid, None, &headers, detail).await;
    Ok(Done::Joined.after(&format!("/developer/orgs/{}", inv.org_id)))
}

/// POST /developer/orgs/{id}/members/{uuid}/remove: owners and admins remove others (only an
/// owner removes an owner; nobody removes themselves).
pub(super) async fn remove_member(
    State(state): State<AppState>,
    Path((id, uuid)): Path<(String, String)>,
    Manager(member): Manager,
    _form: ConsoleForm,
) -> Result<Response, PageError> {
    let me = &member.person.user.uuid;
    if &uuid == me {
        return Err(forbidden());
    }
    let target = state
        .store
        .find_membership(&id, &uuid)
        .await?
        .ok_or_else(PageError::not_found)?;
    if target.role == "owner" && member.membership.role != "owner" {
        return Err(forbidden());
    }
    state.store.delete_membership(&id, &uuid).await?;
    let detail = json!({"organization": id, "member": uuid});
    member
        .audit(&state, Change::MemberRemoved, None, detail)
        .await;
    Ok(Done::MemberRemoved.after(&format!("/developer/orgs/{id}")))
}
