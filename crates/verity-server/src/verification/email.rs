//! SPEC 12's `email_domain` method: a six-digit code mailed to an address at one of the
//! group's accepted domains; the right code verifies the group.

use axum::http::HeaderMap;
use serde_json::json;
use verity_core::identity;
use verity_core::limits::Kind;
use verity_core::secret::new_token;
use verity_core::verification::{self, Action, CaseState, CodeCheck, Method};
use verity_store::cases::Case;

use super::{already_decided, outcome, record, transition};
use crate::audit::AuditEvent;
use crate::error::AdminError;
use crate::state::AppState;

/// Why an address cannot start an `email_domain` case, in words for the person (shown beside
/// the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRefusal {
    NotAnAddress,
    DomainNotAccepted(String),
    /// The address verifies another account for the group.
    InUse,
    /// A code went out a moment ago, or too many for this account this hour: wait this many
    /// seconds.
    TooSoon(i64),
    /// Too many codes to this address, or from this client address (`crate::limits`).
    Limited(crate::limits::Refused),
    /// The account's own sign-in email is not confirmed yet (its link is on `/account`).
    SignInEmailUnconfirmed,
}

impl EmailRefusal {
    pub fn message(&self) -> String {
        match self {
            EmailRefusal::NotAnAddress => "Enter an email address, like name@agency.gov.".into(),
            EmailRefusal::DomainNotAccepted(accepted) => {
                format!("Use an address at {accepted}.")
            }
            EmailRefusal::InUse => {
                "This address already verifies another account. Use another address.".into()
            }
            EmailRefusal::TooSoon(wait) => format!(
                "A code was sent only a short while ago. You can send a new one in {}.",
                verity_core::throttle::wait_text(*wait)
            ),
            EmailRefusal::Limited(refused) => refused.message(),
            EmailRefusal::SignInEmailUnconfirmed => "Confirm your sign-in email first: open \
                the link we sent to it, or send it again from your account page."
                .into(),
        }
    }

    /// Seconds to wait, when the refusal is about sending too soon or too often (answered 429
    /// with `Retry-After`).
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            EmailRefusal::TooSoon(wait) => Some((*wait).max(1)),
            EmailRefusal::Limited(refused) => Some(refused.retry_after),
            _ => None,
        }
    }
}

/// The accepted domains of a group as a person reads them (`*.gov or *.mil`); `None` when the
/// group is not verified by email.
pub fn accepted_domains(state: &AppState, group: &str) -> Option<String> {
    let methods = &state.settings.verification_methods;
    let rules: Vec<String> = methods
        .iter()
        .filter(|g| g.group == group)
        .flat_map(|g| g.domains.iter().map(|d| d.as_written()))
        .collect();
    (!rules.is_empty()).then(|| rules.join(" or "))
}

/// Starts (or restarts) account `uuid`'s `email_domain` case for `group` at `address` and
/// mails it a code. An open code case for another address is withdrawn first; one for the same
/// address gets a new code, no sooner than the resend interval allows. At most
/// `CODE_MAILS_PER_ACCOUNT` codes per account are mailed in an hour (the shared throttle table),
/// and the limits `VERITY_LIMIT_EMAIL_CODE_ADDRESS` (per client address) and
/// `VERITY_LIMIT_EMAIL_CODE` (per target address) hold (`crate::limits`); all are counted in
/// the database, so on every node.
pub async fn send_email_code(
    state: &AppState,
    uuid: &str,
    group: &str,
    address: &str,
    headers: &HeaderMap,
) -> Result<Result<Case, EmailRefusal>, AdminError> {
    let confirmed = state
        .store
        .find_user(uuid)
        .await?
        .is_some_and(|u| u.email_confirmed_at.is_some());
    if verification::may_start_email_domain(confirmed).is_err() {
        return Ok(Err(EmailRefusal::SignInEmailUnconfirmed));
    }
    let Some((address, domain)) = verification::email_domain(address) else {
        return Ok(Err(EmailRefusal::NotAnAddress));
    };
    let methods = &state.settings.verification_methods;
    if !verification::domain_accepted(group, &domain, methods) {
        let accepted = accepted_domains(state, group).unwrap_or_default();
        return Ok(Err(EmailRefusal::DomainNotAccepted(accepted)));
    }
    let now = state.now();
    let open = state.store.find_open_case(uuid, group).await?;
    let resend = open
        .as_ref()
        .filter(|c| c.method == Method::EmailDomain && c.address.as_deref() == Some(&address));
    if let Some(c) = resend
        && let Err(wait) = verification::may_send_code(c.code_sent_at, now)
    {
        return Ok(Err(EmailRefusal::TooSoon(wait)));
    }
    // Per account, whatever the groups and the addresses switched between.
    let key = verification::code_mail_account_key(uuid);
    let counted = state.store.take_attempt(
        &key,
        now,
        verification::CODE_MAIL_WINDOW,
        verification::CODE_MAILS_PER_ACCOUNT,
        verification::CODE_MAIL_LOCK,
    );
    let attempts = counted.await?;
    if !attempts.allowed {
        return Ok(Err(EmailRefusal::TooSoon(attempts.locked_until - now)));
    }
    // Per client address, then per target: a flood from one network refused by the first does
    // not use up the target's own allowance.
    let from = crate::extract::client_address(headers);
    for (kind, subject) in [
        (Kind::EmailCodeAddress, from),
        (Kind::EmailCode, address.as_str()),
    ] {
        let taken = crate::limits::take(state, kind, subject, headers, Some(uuid), None);
        if let Err(refused) = taken.await? {
            return Ok(Err(EmailRefusal::Limited(refused)));
        }
    }
    let case = match open {
        Some(c) if c.method == Method::EmailDomain && c.address.as_deref() == Some(&address) => {
            Some(c)
        }
        Some(other) => {
            // Another address (or another method): the person changed their mind.
            let withdrawn = Case {
                state: transition(&other, Action::Withdraw)?,
                updated_at: now,
                ..other.clone()
            };
            if !state.store.update_case(&withdrawn, other.state).await? {
                return Err(already_decided());
            }
            new_email_case(state, uuid, group, &address, now, headers).await?
        }
        None => new_email_case(state, uuid, group, &address, now, headers).await?,
    };
    let Some(case) = case else {
        return Ok(Err(EmailRefusal::InUse));
    };
    let code = verification::new_code();
    let sent = Case {
        code_hash: Some(verification::code_digest(
            &state.master_key,
            &case.id,
            &code,
        )),
        code_expires_at: Some(now + verification::CODE_TTL),
        code_tries: 0,
        code_sent_at: Some(now),
        updated_at: now,
        ..case.clone()
    };
    if !state.store.update_case(&sent, case.state).await? {
        return Err(already_decided());
    }
    let group_name = identity::group(group).map_or(group, |g| g.name);
    let body = format!(
        "Your Verity code to verify your {group_name} status is {code}.\n\n\
         It works for 15 minutes. If you did not ask for it, ignore this message: nothing \
         changes without the code."
    );
    let subject = format!("Your verification code: {code}");
    crate::outbox::send(
        state,
        crate::outbox::Mail {
            to: &address,
            subject: &subject,
            body: &body,
        },
    )
    .await;
    let detail = json!({"case": sent.id, "group": group, "method": "email_domain"});
    state
        .audit(
            AuditEvent::VerificationCodeSent,
            Some(uuid),
            None,
            headers,
            detail,
        )
        .await;
    Ok(Ok(sent))
}

/// A new `email_domain` case; `None` when the address verifies another account already.
async fn new_email_case(
    state: &AppState,
    uuid: &str,
    group: &str,
    address: &str,
    now: i64,
    headers: &HeaderMap,
) -> Result<Option<Case>, AdminError> {
    let case = Case {
        address: Some(address.to_owned()),
        ..Case::new(&new_token(), uuid, group, Method::EmailDomain, now)
    };
    match state.store.insert_case(&case).await {
        Ok(()) => {}
        Err(verity_store::StoreError::Conflict) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let detail = json!({"case": case.id, "group": group, "method": "email_domain"});
    state
        .audit(
            AuditEvent::VerificationStarted,
            Some(uuid),
            None,
            headers,
            detail,
        )
        .await;
    Ok(Some(case))
}

/// Who decides an `email_domain` case: the code itself.
const EMAIL_CODE: &str = "email code";

/// What entering a code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeEntered {
    /// The group is verified.
    Verified,
    /// A wrong code: this many tries are left.
    Wrong(u32),
    /// The code ran out (time or tries): the case expired; a new code must be sent.
    Expired,
    /// No code case is open for the group.
    NoCase,
}

/// Checks a code entered for account `uuid`'s open `email_domain` case of `group`.
pub async fn enter_code(
    state: &AppState,
    uuid: &str,
    group: &str,
    code: &str,
    headers: &HeaderMap,
) -> Result<CodeEntered, AdminError> {
    let open = state.store.find_open_case(uuid, group).await?;
    let Some(case) = open.filter(|c| c.state == CaseState::PendingCode) else {
        return Ok(CodeEntered::NoCase);
    };
    let (Some(stored), Some(expires_at)) = (&case.code_hash, case.code_expires_at) else {
        return Ok(CodeEntered::NoCase);
    };
    let now = state.now();
    let entered = verification::code_digest(&state.master_key, &case.id, code);
    let tries = u32::try_from(case.code_tries).unwrap_or(u32::MAX);
    match verification::check_code(stored, expires_at, tries, now, &entered) {
        CodeCheck::Confirmed => {
            let verified = Case {
                state: transition(&case, Action::ConfirmCode)?,
                code_hash: None,
                decided_by: Some(EMAIL_CODE.to_owned()),
                decided_at: Some(now),
                expires_at: verification::expires_at(
                    group,
                    now,
                    &state.settings.verification_methods,
                ),
                updated_at: now,
                ..case.clone()
            };
            let outcome = outcome(&verified, true, EMAIL_CODE, now);
            let detail = json!({"case": verified.id, "group": group, "method": "email_domain"});
            let event = AuditEvent::VerificationApproved;
            record(
                state,
                &verified,
                case.state,
                Some(&outcome),
                event,
                detail,
                headers,
            )
            .await?;
            Ok(CodeEntered::Verified)
        }
        CodeCheck::Wrong { tries_left } => {
            let counted = Case {
                code_tries: case.code_tries + 1,
                updated_at: now,
                ..case.clone()
            };
            if !state.store.update_case(&counted, case.state).await? {
                return Err(already_decided());
            }
            Ok(CodeEntered::Wrong(tries_left))
        }
        CodeCheck::Expired => {
            let expired = Case {
                state: transition(&case, Action::Expire)?,
                code_hash: None,
                updated_at: now,
                ..case.clone()
            };
            let detail = json!({"case": expired.id, "group": group, "method": "email_domain"});
            let event = AuditEvent::VerificationExpired;
            record(state, &expired, case.state, None, event, detail, headers).await?;
            Ok(CodeEntered::Expired)
        }
    }
}
