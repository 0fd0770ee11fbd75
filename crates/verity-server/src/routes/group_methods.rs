//! The page of one group's methods (SPEC 12): an address at an accepted domain and then its
//! code, or documents for a reviewer. Shared by the sign-in journey
//! (`/oauth/interaction/{id}/verify/{group}`, which goes on to the app afterwards) and the
//! account (`/account/verifications/{group}`, outside any app); each route only says where the
//! page stands and where it goes next.

use axum::extract::Multipart;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use verity_core::evidence;
use verity_core::identity;
use verity_core::verification::{CaseState, IDENTITY};

use crate::error::PageError;
use crate::pages::Page;
use crate::state::AppState;
use crate::verification::{self, CodeEntered, Upload};

/// The largest upload body: SPEC 12's five files of 10 MiB, and the form's other fields.
pub const UPLOAD_LIMIT: usize =
    verity_core::evidence::MAX_FILES * verity_core::evidence::MAX_FILE_BYTES + 64 * 1024;

/// Where the page is shown.
pub enum At<'a> {
    /// In an app's sign-in journey.
    Journey {
        interaction_id: &'a str,
        app_name: &'a str,
        logo_url: Option<&'a str>,
    },
    /// On the person's account, outside any app.
    Account,
}

#[derive(Debug, Serialize)]
struct GroupPage<'a> {
    /// In a journey: its id and the app (the in-review step offers to go on without the group).
    interaction_id: Option<&'a str>,
    app_name: Option<&'a str>,
    logo_url: Option<&'a str>,
    csrf_token: &'a str,
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
    /// The error is that the sign-in email is not confirmed (a link to resend it is shown).
    confirm_email: bool,
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
pub struct Shown<'a> {
    pub email: &'a str,
    pub email_error: Option<String>,
    pub code_error: Option<String>,
    pub upload_error: Option<String>,
    /// The sign-in email must be confirmed first: the page links to the account page's resend.
    pub confirm_email: bool,
    /// Sent too soon or too often: answered 429 with this `Retry-After`.
    pub retry_after: Option<i64>,
}

impl Shown<'_> {
    pub fn any_error(&self) -> bool {
        self.email_error.is_some() || self.code_error.is_some() || self.upload_error.is_some()
    }
}

/// The page of `group` for account `uuid`, as its case stands, with `shown`'s messages (400
/// when it shows an error).
pub async fn show(
    state: &AppState,
    at: At<'_>,
    csrf_token: &str,
    uuid: &str,
    group: &str,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let open = state.store.find_open_case(uuid, group).await?;
    let in_review = open
        .as_ref()
        .is_some_and(|c| c.state == CaseState::InReview);
    let address = open
        .filter(|c| c.state == CaseState::PendingCode)
        .and_then(|c| c.address)
        .filter(|_| shown.email_error.is_none() && shown.upload_error.is_none());
    let error = shown.any_error();
    let (interaction_id, app_name, logo_url) = match at {
        At::Journey {
            interaction_id,
            app_name,
            logo_url,
        } => (Some(interaction_id), Some(app_name), logo_url),
        At::Account => (None, None, None),
    };
    let page = GroupPage {
        interaction_id,
        app_name,
        logo_url,
        csrf_token,
        group,
        group_name: identity::group(group).map_or(group, |g| g.name),
        domains: verification::accepted_domains(state, group),
        address,
        email: shown.email,
        email_error: shown.email_error,
        confirm_email: shown.confirm_email,
        code_error: shown.code_error,
        in_review,
        document_types: evidence::document_types(group),
        selfie: group == IDENTITY,
        upload_error: shown.upload_error,
        retention_days: state.settings.evidence_retention_days,
    };
    let status = if error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let resp = (status, state.pages.show(state.sandbox(), &page)?).into_response();
    Ok(match shown.retry_after {
        Some(seconds) => crate::respond::retry_later(resp, seconds),
        None => resp,
    })
}

/// What happened to a posted `method=email_domain` + `email` or `code`: the group is verified
/// (`None`), a code was sent (`Some` without messages), or the page says why not.
pub async fn email_step<'f>(
    state: &AppState,
    uuid: &str,
    group: &str,
    form: &'f verity_core::authorize::Params,
    headers: &axum::http::HeaderMap,
) -> Result<Option<Shown<'f>>, PageError> {
    if let Some(code) = form.get("code") {
        let entered = verification::enter_code(state, uuid, group, code, headers);
        let shown = match entered.await? {
            CodeEntered::Verified => return Ok(None),
            CodeEntered::Wrong(left) => Shown {
                code_error: Some(format!(
                    "That code is not right. You can try {left} more time{}.",
                    if left == 1 { "" } else { "s" }
                )),
                ..Shown::default()
            },
            CodeEntered::Expired | CodeEntered::NoCase => Shown {
                email_error: Some("That code has run out. Send a new one.".into()),
                ..Shown::default()
            },
        };
        return Ok(Some(shown));
    }
    let shown = match (form.get("method"), form.get("email")) {
        (Some("email_domain"), Some(email)) => {
            let sent = verification::send_email_code(state, uuid, group, email, headers);
            match sent.await? {
                Ok(_) => Shown::default(),
                Err(refusal) => Shown {
                    email,
                    email_error: Some(refusal.message()),
                    confirm_email: refusal == verification::EmailRefusal::SignInEmailUnconfirmed,
                    retry_after: refusal.retry_after(),
                    ..Shown::default()
                },
            }
        }
        _ => Shown {
            email_error: Some("Enter your email address.".into()),
            ..Shown::default()
        },
    };
    Ok(Some(shown))
}

/// The parts of an upload; a file input left empty sends an empty part, which is no file.
pub struct UploadFields {
    pub csrf_token: String,
    document_type: String,
    files: Vec<Vec<u8>>,
    selfie: Option<Vec<u8>>,
    /// The upload's slot, held until its files are sealed and stored.
    _slot: tokio::sync::OwnedSemaphorePermit,
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

    /// Reads a multipart body (`csrf_token`, `document_type`, `file` repeated, `selfie`); a
    /// body that is not multipart, broke off or outgrew the limit gets a page.
    /// At most `max_concurrent_uploads` are read at once (each may hold 50 MiB): over that,
    /// 503 before the body is read.
    pub async fn read(
        state: &AppState,
        multipart: Result<Multipart, MultipartRejection>,
    ) -> Result<UploadFields, PageError> {
        let Some(slot) = state.upload_permit() else {
            return Err(PageError::busy(
                "Many documents are being uploaded right now. Try again in a minute.",
            ));
        };
        let mut multipart = multipart
            .map_err(|_| PageError::bad_request("The upload must be a form with files."))?;
        let mut fields = UploadFields {
            csrf_token: String::new(),
            document_type: String::new(),
            files: Vec::new(),
            selfie: None,
            _slot: slot,
        };
        while let Some(field) = multipart.next_field().await.map_err(upload_failed)? {
            let name = field.name().unwrap_or_default().to_owned();
            let content = field.bytes().await.map_err(upload_failed)?;
            fields.take(&name, content.to_vec());
        }
        Ok(fields)
    }

    /// Sends the documents to review: `None` when the case is in review, or the page's message.
    pub async fn submit(
        self,
        state: &AppState,
        uuid: &str,
        group: &str,
        headers: &axum::http::HeaderMap,
    ) -> Result<Option<Shown<'static>>, PageError> {
        let sent = Upload {
            document_type: self.document_type,
            files: self.files,
            selfie: self.selfie,
        };
        let submitted = verification::submit_documents(state, uuid, group, sent, headers);
        Ok(match submitted.await? {
            Ok(_) => None,
            Err(refusal) => Some(Shown {
                upload_error: Some(refusal.message()),
                ..Shown::default()
            }),
        })
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
