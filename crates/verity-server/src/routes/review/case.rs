//! One case at `/review/cases/{id}`: claiming and giving it back, its files (to the holder
//! only, never stored by the browser, each view audited), and the decision.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use verity_core::clock::duration_words;
use verity_core::identity;
use verity_core::review::{IDENTITY_FIELDS, Refusal};
use verity_core::verification::{IDENTITY, RejectReason};
use verity_store::cases::Evidence;

use super::{ReviewForm, Reviewer, document_name, group_name, refused, render};
use crate::error::{AdminError, PageError};
use crate::pages::Moment;
use crate::pages::Page;
use crate::respond::see_other;
use crate::state::AppState;
use crate::verification::review;
use crate::verification::{Decision, Opened};

/// POST `/review/cases/{id}/claim`.
pub(super) async fn claim(
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
pub(super) async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    if !review::release(&state, &id, &f.reviewer.user.uuid).await? {
        return Err(PageError::forbidden(
            "You do not hold this case, so it is not yours to give back.",
        ));
    }
    Ok(see_other("/review?done=released"))
}

#[derive(Debug, Serialize)]
struct CasePage {
    csrf_token: String,
    id: String,
    group: String,
    document: String,
    submitted: Moment,
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
        submitted: Moment::at(case.created_at),
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
pub(super) async fn case_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    r: Reviewer,
) -> Result<Response, PageError> {
    show_case(&state, &r, &id, None, Vec::new()).await
}

/// POST `/review/cases/{id}/decision`: approve or reject.
pub(super) async fn decide(
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
pub(super) async fn file(
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
