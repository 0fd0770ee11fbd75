//! Mailing the single-use links of `verity_core::email_link` through the outbox: a password
//! reset, the confirmation of the sign-in email, and the notice that a password was changed.
//! The limits (`crate::limits`, `Kind::EmailCodeAddress` then `Kind::EmailCode`) are the
//! caller's, taken before it knows whether the address has an account.

use axum::http::HeaderMap;
use serde_json::json;
use verity_core::email_link::{self, Purpose};
use verity_store::email_tokens::EmailToken;
use verity_store::users::User;

use crate::audit::AuditEvent;
use crate::outbox::{self, Mail};
use crate::state::AppState;

/// Makes a link of `purpose` for `user`, stores its digest and mails it to the sign-in email;
/// the action is audited.
pub async fn send(
    state: &AppState,
    purpose: Purpose,
    user: &User,
    headers: &HeaderMap,
) -> verity_store::Result<()> {
    let now = state.now();
    let link = email_link::new_link(purpose, now);
    state
        .store
        .insert_email_token(&EmailToken {
            token_hash: link.token_hash.clone(),
            purpose,
            uuid: user.uuid.clone(),
            email: user.email.clone(),
            created_at: now,
            expires_at: link.expires_at,
            used_at: None,
        })
        .await?;
    let url = email_link::url(&state.public_url, purpose, &link.token);
    let (subject, body, event) = match purpose {
        Purpose::Reset => (
            "Reset your Verity password",
            format!(
                "Someone (we hope you) asked to reset the password of your Verity account.\n\n\
                 Choose a new password here (the link works once, for 30 minutes):\n{url}\n\n\
                 If you did not ask, ignore this message: your password stays as it is."
            ),
            AuditEvent::PasswordResetRequested,
        ),
        Purpose::Confirm => (
            "Confirm your email for Verity",
            format!(
                "Confirm that this address is yours by opening this link (it works once, for \
                 24 hours):\n{url}\n\n\
                 If you did not create a Verity account, ignore this message."
            ),
            AuditEvent::EmailConfirmationSent,
        ),
    };
    outbox::send(
        state,
        Mail {
            to: &user.email,
            subject,
            body: &body,
        },
    )
    .await;
    state
        .audit(event, Some(&user.uuid), None, headers, json!({}))
        .await;
    Ok(())
}

/// Tells `user` that their password was reset, so that a reset they did not make is noticed.
pub async fn password_was_reset(state: &AppState, user: &User) {
    let body = format!(
        "The password of your Verity account was changed with a reset link, and every place \
         you were signed in was signed out.\n\n\
         If this was not you, reset your password again now at {}/account/password/forgot \
         and check the apps connected to your account.",
        state.public_url
    );
    outbox::send(
        state,
        Mail {
            to: &user.email,
            subject: "Your Verity password was changed",
            body: &body,
        },
    )
    .await;
}
