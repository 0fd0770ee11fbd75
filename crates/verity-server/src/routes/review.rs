//! The reviewers' console at `/review` (SPEC 12 "Review"): the queue of cases in review, oldest
//! first, with its counts and waiting times; claiming a case (a lock that runs out); the case
//! with its files, shown only to the reviewer who holds it (`no-store`, every view audited);
//! approving (subgroups, and for `identity` what the document says) or rejecting with a reason.
//! Only accounts with the `reviewer` role enter (403 for others); nobody reviews their own case.
//!
//! The handlers only read the request and show the answer; what a reviewer may do is
//! `verity_core::review`'s and the work is [`crate::verification::review`]'s.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use verity_core::clock::{date_words, duration_words};
use verity_core::evidence::document_types;
use verity_core::identity;
use verity_core::review::{IDENTITY_FIELDS, Refusal, Role};
use verity_core::secret::token_hash;
use verity_core::verification::{IDENTITY, RejectReason};
use verity_store::cases::{Case, Evidence};
use verity_store::users::User;

use crate::error::{AdminError, PageError};
use crate::extract::query_params;
use crate::pages::Page;
use crate::respond::see_other;
use crate::session::{check_csrf, csrf_token, session_cookie, signed_in, start_login};
use crate::state::AppState;
use crate::verification::review::{self, held_by};
use crate::verification::{Decision, Opened};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue))
        .route("/review/next", post(claim_next))
        .route("/review/cases/{id}", get(case_page))
        .route("/review/cases/{id}/claim", post(claim))
        .route("/review/cases/{id}/release", post(release))
        .route("/review/cases/{id}/decision", post(decide))
        .route("/review/cases/{id}/files/{file}", get(file))
        .route("/review/token", post(create_token))
        .route("/review/token/delete", post(delete_token))
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

#[derive(Debug, Serialize)]
struct QueuePage {
    csrf_token: String,
    reviewer: String,
    rows: Vec<QueueRow>,
    in_review: usize,
    open: usize,
    mine: usize,
    /// How long the oldest case has waited, in words.
    oldest_wait: Option<String>,
    /// What just happened (a decision, an empty queue), in words.
    notice: Option<String>,
    /// When the reviewer's own admin-API token was created, if they have one.
    token_created: Option<String>,
    /// A token just created, shown this once.
    new_token: Option<String>,
    /// The admin API's address, for the token's example.
    api: String,
}

impl Page for QueuePage {
    const TEMPLATE: &'static str = "review_queue.html";
}

#[derive(Debug, Serialize)]
struct QueueRow {
    id: String,
    group: String,
    document: String,
    files: usize,
    submitted: String,
    waiting: String,
    /// "You", "Another reviewer until ...", or nothing.
    holder: Option<String>,
    own: bool,
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
async fn queue(
    State(state): State<AppState>,
    r: Reviewer,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = query_params(query.as_deref());
    let notice = match params.get("done") {
        Some("approved") => Some("Approved. The person has been told."),
        Some("rejected") => Some("Rejected. The person has been told why."),
        Some("released") => Some("The case is back in the queue."),
        Some("empty") => Some("No case is waiting for you."),
        Some("token_deleted") => Some("Your API token is deleted."),
        _ => None,
    };
    show_queue(&state, r, notice.map(str::to_owned), None).await
}

async fn show_queue(
    state: &AppState,
    r: Reviewer,
    notice: Option<String>,
    new_token: Option<String>,
) -> Result<Response, PageError> {
    let q = review::queue(state, &r.user.uuid).await?;
    let now = state.now();
    let mut rows = Vec::with_capacity(q.cases.len());
    for c in &q.cases {
        let files = state.store.find_case_evidence(&c.id).await?.len();
        let holder = if held_by(c, &r.user.uuid, now) {
            Some("You".to_owned())
        } else {
            c.claimed_until
                .filter(|until| *until > now)
                .map(|until| format!("Another reviewer, for {}", duration_words(until - now)))
        };
        rows.push(QueueRow {
            id: c.id.clone(),
            group: group_name(&c.grp),
            document: document_name(c),
            files,
            submitted: date_words(c.created_at),
            waiting: duration_words(now - c.created_at),
            holder,
            own: c.uuid == r.user.uuid,
        });
    }
    let token_created = state
        .store
        .find_role_token_created(&r.user.uuid, Role::Reviewer)
        .await?
        .map(date_words);
    let page = QueuePage {
        csrf_token: r.csrf,
        reviewer: r.user.email,
        in_review: rows.len(),
        rows,
        open: q.open,
        mine: q.mine,
        oldest_wait: q.oldest.map(|t| duration_words(now - t)),
        notice,
        token_created,
        new_token,
        api: format!("{}/api/admin/v1", state.public_url),
    };
    render(state, StatusCode::OK, &page)
}

/// POST `/review/token`: a new admin-API token for this reviewer (replacing theirs), shown once.
async fn create_token(State(state): State<AppState>, f: ReviewForm) -> Result<Response, PageError> {
    let r = f.reviewer;
    let token = review::create_token(&state, &r.user.uuid, &r.headers).await?;
    let notice = "Your API token is below. Copy it now: it is not shown again.".to_owned();
    show_queue(&state, r, Some(notice), Some(token)).await
}

/// POST `/review/token/delete`.
async fn delete_token(State(state): State<AppState>, f: ReviewForm) -> Result<Response, PageError> {
    let r = &f.reviewer;
    review::delete_token(&state, &r.user.uuid, &r.headers).await?;
    Ok(see_other("/review?done=token_deleted"))
}

/// POST `/review/next`: claim the oldest case this reviewer may take.
async fn claim_next(State(state): State<AppState>, f: ReviewForm) -> Result<Response, PageError> {
    let r = &f.reviewer;
    Ok(
        match review::claim_next(&state, &r.user.uuid, &r.headers).await? {
            Some(c) => see_other(&format!("/review/cases/{}", c.id)),
            None => see_other("/review?done=empty"),
        },
    )
}

/// POST `/review/cases/{id}/claim`.
async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    let r = &f.reviewer;
    match review::claim(&state, &id, &r.user.uuid, &r.headers).await? {
        Ok(_) => Ok(see_other(&format!("/review/cases/{id}"))),
        Err(refusal) => Err(refused(refusal)),
    }
}

/// POST `/review/cases/{id}/release`: back to the queue.
async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    review::release(&state, &id, &f.reviewer.user.uuid).await?;
    Ok(see_other("/review?done=released"))
}

fn refused(refusal: Refusal) -> PageError {
    match refusal {
        Refusal::NotInReview => PageError::conflict(refusal.explanation()),
        _ => PageError::forbidden(refusal.explanation()),
    }
}

#[derive(Debug, Serialize)]
struct CasePage {
    csrf_token: String,
    id: String,
    group: String,
    document: String,
    submitted: String,
    waiting: String,
    /// Whether this reviewer holds the case (and sees its files and the decision form).
    working: bool,
    /// Why not, in words.
    refusal: Option<&'static str>,
    /// Whether a claim would take it.
    claimable: bool,
    held_for: Option<String>,
    files: Vec<FileRow>,
    subgroups: Vec<&'static str>,
    identity: bool,
    fields: Vec<FieldRow>,
    reasons: Vec<ReasonRow>,
    errors: Vec<String>,
}

impl Page for CasePage {
    const TEMPLATE: &'static str = "review_case.html";
}

#[derive(Debug, Serialize)]
struct FileRow {
    url: String,
    kind: String,
    image: bool,
    size: String,
    purged: bool,
}

#[derive(Debug, Serialize)]
struct FieldRow {
    name: &'static str,
    label: &'static str,
    value: String,
}

#[derive(Debug, Serialize)]
struct ReasonRow {
    code: String,
    explanation: &'static str,
}

fn size_words(bytes: i64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn file_row(case_id: &str, e: &Evidence) -> FileRow {
    FileRow {
        url: format!("/review/cases/{case_id}/files/{}", e.id),
        kind: if e.kind == "selfie" {
            "Photo of the person".into()
        } else {
            match e.content_type.as_str() {
                "application/pdf" => "Document (PDF)".into(),
                _ => "Document (image)".into(),
            }
        },
        image: e.content_type.starts_with("image/"),
        size: size_words(e.size),
        purged: e.purged_at.is_some(),
    }
}

async fn show_case(
    state: &AppState,
    r: &Reviewer,
    id: &str,
    entered: Option<&ReviewForm>,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let (case, may, files) = review::case_for(state, id, &r.user.uuid).await?;
    let now = state.now();
    let working = may.is_ok();
    let claimable =
        !working && verity_core::review::may_claim(&review::hold(&case), &r.user.uuid, now).is_ok();
    let value = |name: &str| entered.map_or_else(String::new, |f| f.field(name).to_owned());
    let page = CasePage {
        csrf_token: r.csrf.clone(),
        id: case.id.clone(),
        group: group_name(&case.grp),
        document: document_name(&case),
        submitted: date_words(case.created_at),
        waiting: duration_words(now - case.created_at),
        working,
        refusal: may.err().filter(|_| !claimable).map(Refusal::explanation),
        claimable,
        held_for: case
            .claimed_until
            .filter(|_| working)
            .map(|until| duration_words(until - now)),
        // The files (even their list) only for the reviewer who holds the case.
        files: if working {
            files.iter().map(|e| file_row(&case.id, e)).collect()
        } else {
            Vec::new()
        },
        subgroups: identity::group(&case.grp).map_or(Vec::new(), |g| g.subgroups.to_vec()),
        identity: case.grp == IDENTITY,
        fields: IDENTITY_FIELDS
            .iter()
            .map(|(name, label)| FieldRow {
                name,
                label,
                value: value(name),
            })
            .collect(),
        reasons: RejectReason::ALL
            .iter()
            .map(|reason| ReasonRow {
                code: reason.as_str().to_owned(),
                explanation: reason.explanation(),
            })
            .collect(),
        errors: errors.clone(),
    };
    let status = if !errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else if working || claimable {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    render(state, status, &page)
}

/// GET `/review/cases/{id}`: the case; its files and the decision only for its holder.
async fn case_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    r: Reviewer,
) -> Result<Response, PageError> {
    show_case(&state, &r, &id, None, Vec::new()).await
}

/// POST `/review/cases/{id}/decision`: approve or reject.
async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    let decision = f.field("decision").to_owned();
    let reason = match (decision.as_str(), f.field("reason")) {
        ("reject", "") => {
            let problem = "Choose why the documents are not accepted.".to_owned();
            return show_case(&state, &f.reviewer, &id, Some(&f), vec![problem]).await;
        }
        ("reject", code) => Some(RejectReason::parse(code).ok_or_else(|| {
            PageError::bad_request("That reason is not one of the reasons offered.")
        })?),
        _ => None,
    };
    let attributes = IDENTITY_FIELDS
        .iter()
        .map(|(name, _)| ((*name).to_owned(), f.field(name).to_owned()))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let d = Decision {
        decision: decision.clone(),
        subgroups: f.all("subgroup"),
        reason,
        attributes: if decision == "approve" {
            attributes
        } else {
            Default::default()
        },
    };
    let r = &f.reviewer;
    match review::decide_as(&state, &id, &d, &r.user, &r.headers).await {
        Ok(Ok(_)) if decision == "approve" => Ok(see_other("/review?done=approved")),
        Ok(Ok(_)) => Ok(see_other("/review?done=rejected")),
        Ok(Err(refusal)) => Err(refused(refusal)),
        Err(AdminError::Invalid(problems)) => {
            show_case(&state, &f.reviewer, &id, Some(&f), problems).await
        }
        Err(e) => Err(e.into()),
    }
}

/// GET `/review/cases/{id}/files/{file}`: one file, to the reviewer holding the case only,
/// never stored by the browser, each view audited.
async fn file(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    r: Reviewer,
) -> Result<Response, PageError> {
    let opened = review::open_evidence(&state, &id, &file, &r.user.uuid, &r.headers).await?;
    let Opened {
        content_type,
        bytes,
    } = opened.map_err(refused)?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    let ct = HeaderValue::from_str(&content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, private"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(resp)
}

fn render<P: Page>(state: &AppState, status: StatusCode, page: &P) -> Result<Response, PageError> {
    Ok((status, state.pages.show(state.sandbox(), page)?).into_response())
}
