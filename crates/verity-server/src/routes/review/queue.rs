//! The queue at `/review`: the cases in review, oldest first, with the figures a team watches;
//! taking the next case; the reviewer's own admin-API token.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use verity_core::clock::duration_words;
use verity_core::review::Role;

use super::{ReviewForm, Reviewer, document_name, group_name, render};
use crate::error::PageError;
use crate::extract::query_params;
use crate::pages::Moment;
use crate::pages::Page;
use crate::respond::see_other;
use crate::state::AppState;
use crate::verification::review::{self, held_by};

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
    token_created: Option<Moment>,
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
    files: i64,
    submitted: Moment,
    waiting: String,
    /// "You", "Another reviewer until ...", or nothing.
    holder: Option<String>,
    own: bool,
}

pub(super) async fn queue(
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
    let counts = state.store.count_evidence_in_review().await?;
    let mut rows = Vec::with_capacity(q.cases.len());
    for c in &q.cases {
        let files = counts.get(&c.id).copied().unwrap_or(0);
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
            submitted: Moment::at(c.created_at),
            waiting: duration_words(now - c.created_at),
            holder,
            own: c.uuid == r.user.uuid,
        });
    }
    let token_created = state
        .store
        .find_role_token_created(&r.user.uuid, Role::Reviewer)
        .await?
        .map(Moment::day);
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
pub(super) async fn create_token(
    State(state): State<AppState>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    let r = f.reviewer;
    let token = review::create_token(&state, &r.user.uuid, &r.headers).await?;
    let notice = "Your API token is below. Copy it now: it is not shown again.".to_owned();
    show_queue(&state, r, Some(notice), Some(token)).await
}

/// POST `/review/token/delete`.
pub(super) async fn delete_token(
    State(state): State<AppState>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    let r = &f.reviewer;
    review::delete_token(&state, &r.user.uuid, &r.headers).await?;
    Ok(see_other("/review?done=token_deleted"))
}

/// POST `/review/next`: claim the oldest case this reviewer may take.
pub(super) async fn claim_next(
    State(state): State<AppState>,
    f: ReviewForm,
) -> Result<Response, PageError> {
    let r = &f.reviewer;
    Ok(
        match review::claim_next(&state, &r.user.uuid, &r.headers).await? {
            Some(c) => see_other(&format!("/review/cases/{}", c.id)),
            None => see_other("/review?done=empty"),
        },
    )
}
