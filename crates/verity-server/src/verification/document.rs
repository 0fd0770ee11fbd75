//! SPEC 12's `document` method: a person uploads 1 to 5 files of a document type (and for
//! `identity` a selfie); they are sealed at rest and the case waits for a reviewer.

use axum::http::HeaderMap;
use serde_json::json;
use verity_core::evidence::{self, EvidenceKeys, UploadError};
use verity_core::secret::new_token;
use verity_core::verification::{CaseState, IDENTITY, Method};
use verity_store::cases::{Case, Evidence};

use super::withdraw;
use crate::audit::AuditEvent;
use crate::error::AdminError;
use crate::state::AppState;

/// What a person sent: the document type, the files, and for `identity` the selfie.
pub struct Upload {
    pub document_type: String,
    pub files: Vec<Vec<u8>>,
    pub selfie: Option<Vec<u8>>,
}

/// Why an upload is refused, in words for the person (shown beside the upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRefusal {
    DocumentType,
    File(UploadError),
    SelfieNeeded,
    AlreadyInReview,
}

impl UploadRefusal {
    pub fn message(&self) -> String {
        match self {
            UploadRefusal::DocumentType => "Choose the kind of document.".into(),
            UploadRefusal::File(e) => e.to_string(),
            UploadRefusal::SelfieNeeded => "Add a photo of your face (PNG or JPEG).".into(),
            UploadRefusal::AlreadyInReview => {
                "Your documents for this are already in review.".into()
            }
        }
    }
}

/// Takes account `uuid`'s documents for `group`: a case in review with its sealed files. An
/// open code case for the group is withdrawn first (the person chose documents instead).
pub async fn submit_documents(
    state: &AppState,
    uuid: &str,
    group: &str,
    upload: Upload,
    headers: &HeaderMap,
) -> Result<Result<Case, UploadRefusal>, AdminError> {
    let types = evidence::document_types(group);
    if !types
        .iter()
        .any(|(handle, _)| *handle == upload.document_type)
    {
        return Ok(Err(UploadRefusal::DocumentType));
    }
    if let Err(e) = evidence::check_count(upload.files.len()) {
        return Ok(Err(UploadRefusal::File(e)));
    }
    let mut checked = Vec::with_capacity(upload.files.len() + 1);
    for content in &upload.files {
        match evidence::check_file(content) {
            Ok(kind) => checked.push(("document", kind, content)),
            Err(e) => return Ok(Err(UploadRefusal::File(e))),
        }
    }
    match (&upload.selfie, group == IDENTITY) {
        (Some(selfie), true) => match evidence::check_file(selfie) {
            Ok(evidence::ContentType::Pdf) => return Ok(Err(UploadRefusal::SelfieNeeded)),
            Ok(kind) => checked.push(("selfie", kind, selfie)),
            Err(e) => return Ok(Err(UploadRefusal::File(e))),
        },
        (None, true) => return Ok(Err(UploadRefusal::SelfieNeeded)),
        (_, false) => {}
    }
    match state.store.find_open_case(uuid, group).await? {
        Some(open) if open.state == CaseState::InReview => {
            return Ok(Err(UploadRefusal::AlreadyInReview));
        }
        Some(open) => {
            withdraw(state, uuid, &open.id, headers).await?;
        }
        None => {}
    }
    let now = state.now();
    let case = Case {
        document_type: Some(upload.document_type.clone()),
        ..Case::new(&new_token(), uuid, group, Method::Document, now)
    };
    let kinds: Vec<_> = checked.iter().map(|(kind, t, _)| (*kind, *t)).collect();
    // The files in the order checked: the documents, then an identity case's selfie.
    let contents: Vec<Vec<u8>> = upload
        .files
        .into_iter()
        .chain(upload.selfie.filter(|_| group == IDENTITY))
        .collect();
    // Sealing up to 50 MiB is CPU work: off the async threads.
    let keys = EvidenceKeys::new(&state.master_key, state.master_key.previous());
    let case_id = case.id.clone();
    let sealed = tokio::task::spawn_blocking(move || {
        contents
            .iter()
            .map(|content| {
                let id = new_token();
                let sealed = keys.seal(content, &case_id, &id)?;
                Ok((id, content.len(), sealed))
            })
            .collect::<Result<Vec<_>, evidence::SealError>>()
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    let files: Vec<Evidence> = sealed
        .into_iter()
        .zip(kinds)
        .map(|((id, size, sealed), (kind, content_type))| Evidence {
            id,
            case_id: case.id.clone(),
            kind: kind.to_owned(),
            content_type: content_type.mime().to_owned(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            key_id: sealed.key_id,
            sealed: Some(sealed.bytes),
            created_at: now,
            purged_at: None,
        })
        .collect();
    let detail =
        json!({"case": case.id, "group": group, "method": "document", "files": files.len()});
    let audit = state.audit_event(
        AuditEvent::VerificationSubmitted,
        Some(uuid),
        None,
        headers,
        detail,
    );
    match state
        .store
        .insert_case_with_evidence(&case, &files, &audit)
        .await
    {
        Ok(()) => {}
        // Another submission for the group came first.
        Err(verity_store::StoreError::Conflict) => {
            return Ok(Err(UploadRefusal::AlreadyInReview));
        }
        Err(e) => return Err(e.into()),
    }
    state.audited(&audit);
    Ok(Ok(case))
}
