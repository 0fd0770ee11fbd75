//! The limits of `verity_core::limits` as handlers use them: [`take`] one action of a kind
//! *before* the work it guards (the argon2 hash of a sign-up, a mail, a new organization or
//! app), counted in the store so that the limit holds across nodes. A refusal is counted in
//! `/metrics` (`verity_limit_refusals_total{limit}`) and audited (`limit.reached`), and the
//! handler answers it with [`Refused::answer`]: 429 with `Retry-After`, on the page the person
//! was on, their input kept and [`Refused::message`] saying when to try again (a JSON API
//! answers [`crate::error::ApiError::too_many_requests`]).
//!
//! Every sender of mail a person asks for (a group's code, a password-reset link, a confirmation
//! link sent again) takes `Kind::EmailCodeAddress` for the client address and then
//! `Kind::EmailCode` for the target address, as `verification::send_email_code` does.

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use verity_core::limits::{Kind, Taken};

use crate::audit::AuditEvent;
use crate::state::AppState;

/// An action refused for being over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub kind: Kind,
    /// Seconds until the window ends (at least 1).
    pub retry_after: i64,
}

impl Refused {
    /// In plain words, with when to try again.
    pub fn message(&self) -> String {
        self.kind.refusal(self.retry_after)
    }

    /// `resp` (the page shown again) as a refusal: 429 with `Retry-After`. A redirect (the step
    /// moved on meanwhile) stays as it is.
    pub fn answer(&self, resp: Response) -> Response {
        crate::respond::retry_later(resp, self.retry_after)
    }
}

/// Takes one action of `kind` for `subject` (a client address, an email address, an
/// organization id or an account uuid; [`Kind::key`] makes the key). `Err(Refused)` when over
/// the limit: nothing was counted, the refusal is in the metrics and the audit trail (with
/// `uuid` and `client_id` when known). A kind whose setting is `off` always goes through.
pub async fn take(
    state: &AppState,
    kind: Kind,
    subject: &str,
    headers: &HeaderMap,
    uuid: Option<&str>,
    client_id: Option<&str>,
) -> verity_store::Result<Result<(), Refused>> {
    let Some(limit) = state.settings.limits.get(kind) else {
        return Ok(Ok(()));
    };
    let now = state.now();
    match state
        .store
        .take_limit(&kind.key(subject), now, limit)
        .await?
    {
        Taken::Allowed => Ok(Ok(())),
        Taken::Refused { retry_after } => {
            state.metrics.observe_refusal(kind);
            let detail = json!({"limit": kind.name(), "retry_after": retry_after});
            let event = AuditEvent::LimitReached;
            state.audit(event, uuid, client_id, headers, detail).await;
            Ok(Err(Refused { kind, retry_after }))
        }
    }
}

/// Gives back an action [`take`] allowed that did not happen (the form was refused for its
/// content), so that correcting a typo does not use up the limit.
pub async fn give_back(state: &AppState, kind: Kind, subject: &str) -> verity_store::Result<()> {
    if state.settings.limits.get(kind).is_none() {
        return Ok(());
    }
    state.store.give_back_limit(&kind.key(subject)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    const REFUSED: Refused = Refused {
        kind: Kind::Signup,
        retry_after: 480,
    };

    #[test]
    fn a_page_refusal_is_429_with_retry_after_and_a_redirect_stays() {
        let page = (StatusCode::OK, "the form again").into_response();
        let resp = REFUSED.answer(page);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "480");
        let moved_on = crate::respond::see_other("/oauth/interaction/x");
        assert_eq!(REFUSED.answer(moved_on).status(), StatusCode::SEE_OTHER);
    }

    #[test]
    fn an_api_refusal_is_json_too_many_requests() {
        let e = crate::error::ApiError::too_many_requests(REFUSED.message(), REFUSED.retry_after);
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code.as_str(), "too_many_requests");
        assert_eq!(e.description, REFUSED.message());
        let resp = e.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "480");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    }
}
