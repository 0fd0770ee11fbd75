//! SPEC 12 in the journey: `/oauth/interaction/{id}/verify/{group}`, the methods of one missing
//! group. Today the emailed code (`method=email_domain` with `email`, then `code`); after the
//! right code the journey goes on to consent.

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use verity_core::evidence;
use verity_core::identity;
use verity_core::verification::{CaseState, IDENTITY};

use super::{Journey, Posted, current_session, load, next, render};
use crate::error::PageError;
use crate::pages::Page;
use crate::state::AppState;
use crate::verification::{self, CodeEntered, Upload};

#[derive(Debug, Serialize)]
struct GroupPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    /// The handle, for the forms' URL.
    group: &'a str,
    group_name: &'a str,
    /// The accepted domains, when the group is verified by email.
    domains: Option<String>,
    /// The address a code went to (the code step).
    address: Option<String>,
    /// The address typed, shown again beside its error.
    email: &'a str,
    email_error: Option<String>,
    code_error: Option<String>,
    /// Documents were uploaded: the case is in review.
    in_review: bool,
    /// The kinds of document the upload offers: (handle, label).
    document_types: &'static [(&'static str, &'static str)],
    /// `identity`: the upload also takes a selfie.
    selfie: bool,
    upload_error: Option<String>,
    /// Days the documents are kept after the decision.
    retention_days: i64,
}

impl Page for GroupPage<'_> {
    const TEMPLATE: &'static str = "verify_group.html";
}

/// What the page shows besides its step.
#[derive(Default)]
struct Shown<'a> {
    email: &'a str,
    email_error: Option<String>,
    code_error: Option<String>,
    upload_error: Option<String>,
}

/// GET: the methods of `group`, or the code step when a code was sent.
pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, group)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let l = load(&state, &headers, &id, None).await?;
    page(&state, &headers, &l, &group, Shown::default()).await
}

/// POST: send a code (`method=email_domain`, `email`) or enter one (`code`).
pub(super) async fn submit(
    State(state): State<AppState>,
    Path((_, group)): Path<(String, String)>,
    p: Posted,
) -> Result<Response, PageError> {
    let (headers, l, form) = (p.headers, p.l, p.form);
    let Some(session) = current_session(&state, &headers, &l.ix).await? else {
        return Ok(next(&l.ix.id));
    };
    if !missing(&state, &l.request, &session.uuid, &group).await? {
        return Ok(next(&l.ix.id));
    }
    if let Some(code) = form.get("code") {
        let entered = verification::enter_code(&state, &session.uuid, &group, code, &headers);
        let code_error = match entered.await.map_err(PageError::from)? {
            CodeEntered::Verified => return Ok(next(&l.ix.id)),
            CodeEntered::Wrong(left) => format!(
                "That code is not right. You can try {left} more time{}.",
                if left == 1 { "" } else { "s" }
            ),
            CodeEntered::Expired | CodeEntered::NoCase => {
                let shown = Shown {
                    email_error: Some("That code has run out. Send a new one.".into()),
                    ..Shown::default()
                };
                return page(&state, &headers, &l, &group, shown).await;
            }
        };
        let shown = Shown {
            code_error: Some(code_error),
            ..Shown::default()
        };
        return page(&state, &headers, &l, &group, shown).await;
    }
    match (form.get("method"), form.get("email")) {
        (Some("email_domain"), Some(email)) => {
            let sent =
                verification::send_email_code(&state, &session.uuid, &group, email, &headers);
            match sent.await.map_err(PageError::from)? {
                Ok(_) => Ok(super::respond_again(&l.ix.id, &group)),
                Err(refusal) => {
                    let shown = Shown {
                        email,
                        email_error: Some(refusal.message()),
                        ..Shown::default()
                    };
                    page(&state, &headers, &l, &group, shown).await
                }
            }
        }
        _ => {
            let shown = Shown {
                email_error: Some("Enter your email address.".into()),
                ..Shown::default()
            };
            page(&state, &headers, &l, &group, shown).await
        }
    }
}

/// POST `/oauth/interaction/{id}/verify/{group}/upload` (multipart: `csrf_token`,
/// `document_type`, `file` repeated, and for `identity` `selfie`): the documents go to review.
pub(super) async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, group)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let mut multipart =
        multipart.map_err(|_| PageError::bad_request("The upload must be a form with files."))?;
    let mut fields = UploadFields::default();
    while let Some(field) = multipart.next_field().await.map_err(upload_failed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let content = field.bytes().await.map_err(upload_failed)?;
        fields.take(&name, content.to_vec());
    }
    let l = load(&state, &headers, &id, Some(&fields.csrf_token)).await?;
    let Some(session) = current_session(&state, &headers, &l.ix).await? else {
        return Ok(next(&l.ix.id));
    };
    if !missing(&state, &l.request, &session.uuid, &group).await? {
        return Ok(next(&l.ix.id));
    }
    let sent = Upload {
        document_type: fields.document_type,
        files: fields.files,
        selfie: fields.selfie,
    };
    let submitted = verification::submit_documents(&state, &session.uuid, &group, sent, &headers);
    match submitted.await.map_err(PageError::from)? {
        Ok(_) => Ok(super::respond_again(&l.ix.id, &group)),
        Err(refusal) => {
            let shown = Shown {
                upload_error: Some(refusal.message()),
                ..Shown::default()
            };
            page(&state, &headers, &l, &group, shown).await
        }
    }
}

/// The parts of an upload; a file input left empty sends an empty part, which is no file.
#[derive(Default)]
struct UploadFields {
    csrf_token: String,
    document_type: String,
    files: Vec<Vec<u8>>,
    selfie: Option<Vec<u8>>,
}

impl UploadFields {
    fn take(&mut self, name: &str, content: Vec<u8>) {
        let text = || String::from_utf8_lossy(&content).trim().to_owned();
        match name {
            "csrf_token" => self.csrf_token = text(),
            "document_type" => self.document_type = text(),
            "file" if !content.is_empty() => self.files.push(content),
            "selfie" if !content.is_empty() => self.selfie = Some(content),
            _ => {}
        }
    }
}

/// A multipart body that ended early, broke its format, or outgrew the limit.
fn upload_failed(e: MultipartError) -> PageError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PageError::too_large("The upload is too large: at most 5 files of 10 MB each.")
    } else {
        PageError::bad_request("The upload did not arrive whole. Try again.")
    }
}

/// Whether account `uuid` still lacks `group` for the request's policies.
async fn missing(
    state: &AppState,
    request: &verity_core::authorize::AuthorizeRequest,
    uuid: &str,
    group: &str,
) -> Result<bool, PageError> {
    let missing = super::verify::missing_groups(state, request, uuid).await?;
    Ok(missing.is_some_and(|groups| groups.iter().any(|g| g == group)))
}

/// The page for `group`, as its case stands, with `shown`'s messages.
async fn page(
    state: &AppState,
    headers: &HeaderMap,
    l: &super::Loaded,
    group: &str,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let Some(session) = current_session(state, headers, &l.ix).await? else {
        return Ok(next(&l.ix.id));
    };
    if !missing(state, &l.request, &session.uuid, group).await? {
        return Ok(next(&l.ix.id));
    }
    let open = state.store.find_open_case(&session.uuid, group).await?;
    let in_review = open
        .as_ref()
        .is_some_and(|c| c.state == CaseState::InReview);
    let address = open
        .filter(|c| c.state == CaseState::PendingCode)
        .and_then(|c| c.address)
        .filter(|_| shown.email_error.is_none() && shown.upload_error.is_none());
    let error =
        shown.email_error.is_some() || shown.code_error.is_some() || shown.upload_error.is_some();
    let page = GroupPage {
        journey: Journey {
            interaction_id: &l.ix.id,
            csrf_token: &l.ix.csrf_token,
            app_name: &l.app.name,
            logo_url: l.app.logo_url.as_deref(),
            error: None,
        },
        group,
        group_name: identity::group(group).map_or(group, |g| g.name),
        domains: verification::accepted_domains(state, group),
        address,
        email: shown.email,
        email_error: shown.email_error,
        code_error: shown.code_error,
        in_review,
        document_types: evidence::document_types(group),
        selfie: group == IDENTITY,
        upload_error: shown.upload_error,
        retention_days: state.settings.evidence_retention_days,
    };
    render(state, &page, error, StatusCode::BAD_REQUEST)
}
