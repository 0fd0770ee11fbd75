//! The audit trail's vocabulary: every event Verity records, in one enum, so that an event name
//! cannot be misspelt at a call site and a reader finds them all here. [`AuditEvent::name`] is
//! the stable name stored in `audit_events.event`, counted in `/metrics` and shown on the
//! console's audit page (SPEC section 11).

use std::borrow::Cow;

/// Where an administrative change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The admin API (`/api/admin/v1`).
    Admin,
    /// The `verity admin` command.
    Cli,
    /// The developer console (`/developer`).
    Console,
}

impl Via {
    fn prefix(self) -> &'static str {
        match self {
            Via::Admin => "admin",
            Via::Cli => "cli",
            Via::Console => "console",
        }
    }
}

/// An administrative change to organizations, members, apps, secrets or accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    OrganizationCreated,
    MemberAdded,
    MemberInvited,
    MemberJoined,
    MemberRemoved,
    AppCreated,
    AppUpdated,
    AppDeleted,
    SecretCreated,
    SecretDeleted,
    UserCreated,
    VerificationSet,
    RoleGranted,
    RoleRevoked,
}

impl Change {
    fn suffix(self) -> &'static str {
        match self {
            Change::OrganizationCreated => "organization.created",
            Change::MemberAdded => "member.added",
            Change::MemberInvited => "member.invited",
            Change::MemberJoined => "member.joined",
            Change::MemberRemoved => "member.removed",
            Change::AppCreated => "app.created",
            Change::AppUpdated => "app.updated",
            Change::AppDeleted => "app.deleted",
            Change::SecretCreated => "secret.created",
            Change::SecretDeleted => "secret.deleted",
            Change::UserCreated => "user.created",
            Change::VerificationSet => "verification.set",
            Change::RoleGranted => "role.granted",
            Change::RoleRevoked => "role.revoked",
        }
    }
}

/// One audited event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    SigninSuccess,
    /// No user id is recorded: an app's audit page must not tell which emails have accounts.
    SigninFailure,
    SigninLocked,
    Signup,
    MfaSuccess,
    MfaFailure,
    MfaLocked,
    MfaRecoveryCodeUsed,
    MfaEnrolled,
    /// The person changed their password on `/account/password`.
    PasswordChanged,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeyRefused,
    /// An operator removed every second factor of an account (admin API).
    SecondFactorsRemoved,
    /// A reset link was mailed (`/account/password/forgot`, a known address only).
    PasswordResetRequested,
    /// The password was replaced through a reset link; every session and token ended.
    PasswordReset,
    /// A link to confirm the sign-in email was mailed (at sign-up, or asked again).
    EmailConfirmationSent,
    /// The sign-in email was confirmed through its link.
    EmailConfirmed,
    MfaRemoved,
    MfaRecoveryCodes,
    ConsentGranted,
    ConsentRevoked,
    Logout,
    /// The person ended every other session of theirs (`/account`); the detail says how many.
    SessionsEndedElsewhere,
    /// The account was deleted (by the person or through the admin API): the row keeps the uuid.
    AccountDeleted,
    TokenIssued,
    TokenRefreshed,
    TokenRevoked,
    /// A code presented a second time: its tokens were revoked.
    CodeReplayed,
    /// A rotated refresh token presented again: its family was revoked.
    RefreshReused,
    AssertionReplayed,
    KeyRotated,
    /// SPEC 12: a verification case decided (approved or rejected) or revoked.
    VerificationStarted,
    VerificationCodeSent,
    VerificationSubmitted,
    /// A reviewer took a case in review (`/review`).
    VerificationClaimed,
    VerificationApproved,
    VerificationRejected,
    VerificationExpired,
    VerificationRevoked,
    VerificationWithdrawn,
    /// A reviewer opened one of a case's files.
    VerificationEvidenceViewed,
    /// A case's files were deleted (retention ran out).
    VerificationEvidencePurged,
    /// A reviewer created (or replaced) their own admin-API token at `/review`.
    ReviewTokenCreated,
    ReviewTokenDeleted,
    /// An action refused for being over a limit (`crate::limits`); the detail names the limit.
    LimitReached,
    Changed(Via, Change),
}

impl AuditEvent {
    /// The stored name (`signin.success`, `console.app.created`, ...).
    pub fn name(self) -> Cow<'static, str> {
        let name = match self {
            AuditEvent::SigninSuccess => "signin.success",
            AuditEvent::SigninFailure => "signin.failure",
            AuditEvent::SigninLocked => "signin.locked",
            AuditEvent::Signup => "signup",
            AuditEvent::MfaSuccess => "mfa.success",
            AuditEvent::MfaFailure => "mfa.failure",
            AuditEvent::MfaLocked => "mfa.locked",
            AuditEvent::MfaRecoveryCodeUsed => "mfa.recovery_code_used",
            AuditEvent::MfaEnrolled => "mfa.enrolled",
            AuditEvent::MfaRemoved => "mfa.removed",
            AuditEvent::MfaRecoveryCodes => "mfa.recovery_codes",
            AuditEvent::PasswordChanged => "password.changed",
            AuditEvent::PasskeyAdded => "passkey.added",
            AuditEvent::PasskeyRemoved => "passkey.removed",
            AuditEvent::PasskeyRefused => "passkey.refused",
            AuditEvent::SecondFactorsRemoved => "admin.second_factors.removed",
            AuditEvent::PasswordResetRequested => "password.reset_requested",
            AuditEvent::PasswordReset => "password.reset",
            AuditEvent::EmailConfirmationSent => "email.confirmation_sent",
            AuditEvent::EmailConfirmed => "email.confirmed",
            AuditEvent::ConsentGranted => "consent.granted",
            AuditEvent::ConsentRevoked => "consent.revoked",
            AuditEvent::Logout => "logout",
            AuditEvent::SessionsEndedElsewhere => "sessions.ended_elsewhere",
            AuditEvent::AccountDeleted => "account.deleted",
            AuditEvent::TokenIssued => "token.issued",
            AuditEvent::TokenRefreshed => "token.refreshed",
            AuditEvent::TokenRevoked => "token.revoked",
            AuditEvent::CodeReplayed => "code.replayed",
            AuditEvent::RefreshReused => "refresh.reused",
            AuditEvent::AssertionReplayed => "assertion.replayed",
            AuditEvent::KeyRotated => "key.rotated",
            AuditEvent::VerificationStarted => "verification.started",
            AuditEvent::VerificationCodeSent => "verification.code_sent",
            AuditEvent::VerificationSubmitted => "verification.submitted",
            AuditEvent::VerificationClaimed => "verification.claimed",
            AuditEvent::VerificationApproved => "verification.approved",
            AuditEvent::VerificationExpired => "verification.expired",
            AuditEvent::VerificationRejected => "verification.rejected",
            AuditEvent::VerificationRevoked => "verification.revoked",
            AuditEvent::VerificationWithdrawn => "verification.withdrawn",
            AuditEvent::VerificationEvidenceViewed => "verification.evidence_viewed",
            AuditEvent::VerificationEvidencePurged => "verification.evidence_purged",
            AuditEvent::ReviewTokenCreated => "review.token_created",
            AuditEvent::ReviewTokenDeleted => "review.token_deleted",
            AuditEvent::LimitReached => "limit.reached",
            AuditEvent::Changed(via, change) => {
                return Cow::Owned(format!("{}.{}", via.prefix(), change.suffix()));
            }
        };
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_stored_ones() {
        assert_eq!(AuditEvent::SigninFailure.name(), "signin.failure");
        assert_eq!(AuditEvent::Signup.name(), "signup");
        assert_eq!(
            AuditEvent::Changed(Via::Console, Change::AppCreated).name(),
            "console.app.created"
        );
        assert_eq!(
            AuditEvent::Changed(Via::Admin, Change::VerificationSet).name(),
            "admin.verification.set"
        );
        assert_eq!(
            AuditEvent::Changed(Via::Cli, Change::MemberAdded).name(),
            "cli.member.added"
        );
    }
}
