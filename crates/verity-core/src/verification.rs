//! Verification cases (SPEC 12): how a person becomes verified for a group or for their
//! identity, as rules. A case belongs to one account and one group handle (or `identity`),
//! uses one [`Method`], and moves through the [`CaseState`]s by the [`Action`]s that
//! [`transition`] allows; [`is_current`] says whether it verifies the group now. Which methods a
//! group accepts, which addresses an `email_domain` case takes ([`DomainRule`]), and how long a
//! verification lasts are settings whose defaults live here.
//!
//! The store keeps the cases and the server runs the pages; neither decides any of this.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::keys::MasterKey;

/// The pseudo-group of identity verification (IAL2), beside the group handles of SPEC 8.
pub const IDENTITY: &str = "identity";

/// How long an emailed code may be used (SPEC 12: 15 minutes).
pub const CODE_TTL: i64 = 15 * 60;
/// Wrong codes a case takes before it expires (SPEC 12: 5 tries).
pub const CODE_TRIES: u32 = 5;
/// Digits of an emailed code.
pub const CODE_DIGITS: usize = 6;
/// Seconds between two codes sent for one case, or to one address.
pub const RESEND_INTERVAL: i64 = 60;

/// How a case proves its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code sent to an address at an accepted domain.
    EmailDomain,
    /// Documents (and for `identity` a selfie) decided by a reviewer.
    Document,
    /// The sandbox's instant verification.
    Sandbox,
    /// An operator's assertion (`PUT /users/{uuid}/verifications/{group}`), and every
    /// verification recorded before cases existed.
    Operator,
}

/// Where a case stands (SPEC 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// An `email_domain` case waiting for its code.
    PendingCode,
    /// Evidence uploaded, waiting for (or held by) a reviewer.
    InReview,
    Verified,
    Rejected,
    /// A verification past its lifetime, or a code case whose code ran out.
    Expired,
    /// Taken back by an operator.
    Revoked,
    /// Taken back by the person (their evidence is deleted).
    Withdrawn,
}

impl CaseState {
    /// Whether nothing can happen to the case any more (a person starts a new one instead).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Rejected | CaseState::Expired | CaseState::Revoked | CaseState::Withdrawn
        )
    }

    /// Whether the case is still being decided: a person has at most one open case per group.
    pub fn is_open(self) -> bool {
        matches!(self, CaseState::PendingCode | CaseState::InReview)
    }
}

/// Why a reviewer rejects a case (SPEC 12), shown to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Unreadable,
    ExpiredDocument,
    Mismatch,
    NotEligible,
    SuspectedFraud,
}

impl RejectReason {
    pub const ALL: [RejectReason; 5] = [
        RejectReason::Unreadable,
        RejectReason::ExpiredDocument,
        RejectReason::Mismatch,
        RejectReason::NotEligible,
        RejectReason::SuspectedFraud,
    ];

    /// The reason's code on the wire (`unreadable`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Unreadable => "unreadable",
            RejectReason::ExpiredDocument => "expired_document",
            RejectReason::Mismatch => "mismatch",
            RejectReason::NotEligible => "not_eligible",
            RejectReason::SuspectedFraud => "suspected_fraud",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }

    /// What the person reads on their verifications page.
    pub fn explanation(self) -> &'static str {
        match self {
            RejectReason::Unreadable => "The documents could not be read. Upload clearer copies.",
            RejectReason::ExpiredDocument => "The document had expired. Upload a current one.",
            RejectReason::Mismatch => "The documents do not match the details on your account.",
            RejectReason::NotEligible => "The documents do not show that you belong to this group.",
            RejectReason::SuspectedFraud => "The documents could not be accepted.",
        }
    }
}

/// What can happen to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The right code was entered.
    ConfirmCode,
    /// A reviewer approved it.
    Approve,
    /// A reviewer rejected it.
    Reject(RejectReason),
    /// Its code ran out (time or tries), or its verification reached the end of its lifetime.
    Expire,
    /// An operator took the verification back.
    Revoke,
    /// The person took the case back.
    Withdraw,
}

/// Why an action does not apply to a case in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a case that is {from:?} cannot be {action:?}")]
pub struct TransitionError {
    pub from: CaseState,
    pub action: Action,
}

/// The state a new case starts in: a code case waits for its code, a document case (created
/// when its evidence is uploaded) waits for review, and the sandbox's and an operator's are
/// verified at once.
pub fn initial_state(method: Method) -> CaseState {
    match method {
        Method::EmailDomain => CaseState::PendingCode,
        Method::Document => CaseState::InReview,
        Method::Sandbox | Method::Operator => CaseState::Verified,
    }
}

/// The state `action` takes a case in state `from` to, if it applies (SPEC 12's transitions):
///
/// - `pending_code` → `verified` (the code), `expired` (the code ran out), `withdrawn`;
/// - `in_review` → `verified` | `rejected` (a reviewer), `withdrawn`;
/// - `verified` → `expired` (its lifetime), `revoked` (an operator), `withdrawn`;
/// - `rejected`, `expired`, `revoked`, `withdrawn`: final.
///
/// A decision on a case already decided (a replayed approval, two reviewers at once) is
/// refused here, so that exactly one decision is ever recorded.
pub fn transition(from: CaseState, action: Action) -> Result<CaseState, TransitionError> {
    use Action as A;
    use CaseState as S;
    let to = match (from, action) {
        (S::PendingCode, A::ConfirmCode) => S::Verified,
        (S::InReview, A::Approve) => S::Verified,
        (S::InReview, A::Reject(_)) => S::Rejected,
        (S::PendingCode | S::Verified, A::Expire) => S::Expired,
        (S::Verified, A::Revoke) => S::Revoked,
        (S::PendingCode | S::InReview | S::Verified, A::Withdraw) => S::Withdrawn,
        _ => return Err(TransitionError { from, action }),
    };
    Ok(to)
}

/// Whether a case verifies its group at `now`: verified, and not past the end of its
/// lifetime (`expires_at`, exclusive) even before the maintenance task marks it expired.
pub fn is_current(state: CaseState, expires_at: Option<i64>, now: i64) -> bool {
    state == CaseState::Verified && expires_at.is_none_or(|end| now < end)
}

/// A domain an `email_domain` case accepts: `va.gov` (that domain only) or `*.gov` (any domain
/// below `gov`, not `gov` itself). Kept in ASCII (IDNs as punycode) and lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    /// The domain, or the suffix after `*.`.
    domain: String,
    below: bool,
}

impl DomainRule {
    /// A rule as an operator writes it (`*.gov`, `schools.example`, `*.bücher.example`); `None`
    /// when it names no domain.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (below, domain) = match raw.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        Some(DomainRule {
            domain: normalize_domain(domain)?,
            below,
        })
    }

    /// Whether the (normalized) domain `domain` is accepted.
    pub fn accepts(&self, domain: &str) -> bool {
        if self.below {
            domain
                .strip_suffix(self.domain.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        } else {
            domain == self.domain
        }
    }

    /// The rule as written back (`*.gov`).
    pub fn as_written(&self) -> String {
        if self.below {
            format!("*.{}", self.domain)
        } else {
            self.domain.clone()
        }
    }
}

/// A domain in its comparable form: ASCII (IDNA, punycode), lowercase, without a trailing dot;
/// `None` when it is not a domain name (an IP address, an empty label, a space).
pub fn normalize_domain(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_end_matches('.');
    if raw.is_empty() || raw.contains(['/', '@', ':', '[', ' ']) {
        return None;
    }
    match url::Host::parse(raw).ok()? {
        url::Host::Domain(d) if d.split('.').all(|label| !label.is_empty()) => Some(d),
        _ => None,
    }
}

/// An address offered for an `email_domain` case, split into what the code is sent to and the
/// normalized domain its group's rules are checked against. `None` when it is not an address.
pub fn email_domain(address: &str) -> Option<(String, String)> {
    let address = address.trim();
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty()
        || local.len() > 64
        || address.len() > 254
        || local.contains(char::is_whitespace)
    {
        return None;
    }
    let domain = normalize_domain(domain)?;
    Some((format!("{local}@{domain}"), domain))
}

/// How a group is verified on a deployment: its `email_domain` rules (none: the method is not
/// offered) and how long a verification lasts (`None`: until revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMethods {
    pub group: String,
    pub domains: Vec<DomainRule>,
    pub lifetime: Option<i64>,
}

/// A year, the default lifetime of a student's and a teacher's verification.
pub const YEAR: i64 = 365 * 24 * 60 * 60;

/// SPEC 12's defaults: `government` by `*.gov` and `*.mil` addresses, `student` by `*.edu`,
/// `teacher` and `nurse` by domain lists the operator configures (empty until then); student and
/// teacher verifications last a year, the others until revoked.
pub fn default_methods() -> Vec<GroupMethods> {
    let rules = |rules: &[&str]| rules.iter().filter_map(|r| DomainRule::parse(r)).collect();
    let group = |group: &str, domains: &[&str], lifetime| GroupMethods {
        group: group.to_owned(),
        domains: rules(domains),
        lifetime,
    };
    vec![
        group("government", &["*.gov", "*.mil"], None),
        group("student", &["*.edu"], Some(YEAR)),
        group("teacher", &[], Some(YEAR)),
        group("nurse", &[], None),
    ]
}

/// SPEC 12's methods as a deployment configures them: [`default_methods`], with the accepted
/// domains of the groups named in `domains` replaced (`teacher=*.k12.ca.us,schools.example;
/// nurse=*.hospital.example`; an empty list turns email off for that group) and their lifetimes
/// in `lifetime_days` (`student=365;government=0`, 0: until revoked). The message names the
/// part that is wrong.
pub fn configure(
    domains: Option<&str>,
    lifetime_days: Option<&str>,
) -> Result<Vec<GroupMethods>, String> {
    let mut methods = default_methods();
    let entry = |methods: &mut Vec<GroupMethods>, group: &str| -> Result<usize, String> {
        let known = crate::identity::group(group).is_some() || group == IDENTITY;
        if !known {
            return Err(format!("unknown group {group:?}"));
        }
        if let Some(i) = methods.iter().position(|g| g.group == group) {
            return Ok(i);
        }
        methods.push(GroupMethods {
            group: group.to_owned(),
            domains: Vec::new(),
            lifetime: None,
        });
        Ok(methods.len() - 1)
    };
    for (group, value) in pairs(domains.unwrap_or_default())? {
        let i = entry(&mut methods, group)?;
        let mut rules = Vec::new();
        for raw in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            rules.push(
                DomainRule::parse(raw).ok_or_else(|| format!("{raw:?} is not a domain rule"))?,
            );
        }
        methods[i].domains = rules;
    }
    for (group, value) in pairs(lifetime_days.unwrap_or_default())? {
        let i = entry(&mut methods, group)?;
        let days: i64 = value
            .trim()
            .parse()
            .ok()
            .filter(|d| (0..=3650).contains(d))
            .ok_or_else(|| format!("the lifetime of {group} must be 0 to 3650 days"))?;
        methods[i].lifetime = (days > 0).then_some(days * 24 * 60 * 60);
    }
    Ok(methods)
}

/// `group=value;group=value` pairs (blank ones ignored).
fn pairs(text: &str) -> Result<Vec<(&str, &str)>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(g, v)| (g.trim(), v))
                .ok_or_else(|| format!("{p:?} is not group=value"))
        })
        .collect()
}

/// The methods a person may use for `group` (SPEC 12): an address at an accepted domain when
/// the group has rules, documents always, and in the sandbox the instant verification.
pub fn methods_for(group: &str, configured: &[GroupMethods], sandbox: bool) -> Vec<Method> {
    let by_email = group != IDENTITY
        && configured
            .iter()
            .any(|g| g.group == group && !g.domains.is_empty());
    let mut methods = Vec::with_capacity(3);
    if by_email {
        methods.push(Method::EmailDomain);
    }
    methods.push(Method::Document);
    if sandbox {
        methods.push(Method::Sandbox);
    }
    methods
}

/// Whether `domain` (normalized) is accepted for `group`.
pub fn domain_accepted(group: &str, domain: &str, configured: &[GroupMethods]) -> bool {
    configured
        .iter()
        .filter(|g| g.group == group)
        .flat_map(|g| &g.domains)
        .any(|rule| rule.accepts(domain))
}

/// When a verification of `group` decided at `decided_at` ends, if it does.
pub fn expires_at(group: &str, decided_at: i64, configured: &[GroupMethods]) -> Option<i64> {
    configured
        .iter()
        .find(|g| g.group == group)
        .and_then(|g| g.lifetime)
        .map(|lifetime| decided_at + lifetime)
}

/// A new emailed code: [`CODE_DIGITS`] decimal digits, uniformly random.
pub fn new_code() -> String {
    // 2^32 - (2^32 mod 10^6) is the largest multiple of 10^6 below 2^32: drawing below it keeps
    // every code equally likely.
    const SPAN: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - (u32::MAX % SPAN);
    loop {
        let n = u32::from_be_bytes(crate::secret::random_bytes::<4>());
        if n < LIMIT {
            return format!("{:0width$}", n % SPAN, width = CODE_DIGITS);
        }
    }
}

/// The digest a code is kept as: keyed (HMAC under a key derived from the master key), so that
/// a copy of the database does not give the code away by trying a million candidates, and
/// bound to its case.
pub fn code_digest(master: &MasterKey, case_id: &str, code: &str) -> String {
    let data = format!("{case_id}\0{}", code.trim());
    crate::secret::hex(&master.derive("verity email code", data.as_bytes()))
}

/// What entering a code does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The right code, in time: the case is verified.
    Confirmed,
    /// A wrong code; the person may try again this many times.
    Wrong { tries_left: u32 },
    /// The code ran out (its time, or its last try): the case expires and a new one starts.
    Expired,
}

/// Checks the digest of an entered code against a case's: `tries` wrong codes were entered
/// before this one. Compared in constant time.
pub fn check_code(stored: &str, expires_at: i64, tries: u32, now: i64, entered: &str) -> CodeCheck {
    if now >= expires_at || tries >= CODE_TRIES {
        return CodeCheck::Expired;
    }
    if crate::secret::constant_time_eq(stored.as_bytes(), entered.as_bytes()) {
        return CodeCheck::Confirmed;
    }
    match CODE_TRIES - tries - 1 {
        0 => CodeCheck::Expired,
        tries_left => CodeCheck::Wrong { tries_left },
    }
}

/// Whether a code may be sent now, the last one having gone at `last_sent` (for the case, or
/// to the address): `Err` with the seconds to wait.
pub fn may_send_code(last_sent: Option<i64>, now: i64) -> Result<(), i64> {
    match last_sent {
        Some(at) if now < at + RESEND_INTERVAL => Err(at + RESEND_INTERVAL - now),
        _ => Ok(()),
    }
}

/// Why an `email_domain` case may not start yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartRefusal {
    /// The account's own sign-in email is not confirmed: a person who never showed that mail
    /// reaches them must not vouch for another address (confirmation first, as ID.me's
    /// `emails_confirmed`).
    SignInEmailUnconfirmed,
}

/// Whether an account (its sign-in email confirmed or not: `sign_in_email_confirmed`) may start an
/// `email_domain` case (issue 23: confirmation is required before a group is verified by email
/// domain). Documents need no confirmed email: a reviewer checks them.
pub fn may_start_email_domain(sign_in_email_confirmed: bool) -> Result<(), StartRefusal> {
    if sign_in_email_confirmed {
        Ok(())
    } else {
        Err(StartRefusal::SignInEmailUnconfirmed)
    }
}

/// Codes mailed for one account in [`CODE_MAIL_WINDOW`], whatever the addresses (a person
/// switching addresses cannot mail without end). Codes mailed to one address, and from one
/// client address, are limited by `crate::limits::Kind::EmailCode` and `EmailCodeAddress`.
pub const CODE_MAILS_PER_ACCOUNT: i64 = 5;
/// The window of the per-account mail limit, seconds.
pub const CODE_MAIL_WINDOW: i64 = 3600;
/// How long the per-account limit, once reached, holds (doubling with each further try, as
/// sign-in locks do).
pub const CODE_MAIL_LOCK: i64 = 900;

/// The throttle key the code mail of account `uuid` counts against.
pub fn code_mail_account_key(uuid: &str) -> String {
    format!("code-mail:account:{uuid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domain_waits_for_a_confirmed_sign_in_email() {
        assert_eq!(may_start_email_domain(true), Ok(()));
        assert_eq!(
            may_start_email_domain(false),
            Err(StartRefusal::SignInEmailUnconfirmed)
        );
    }

    const ALL_STATES: [CaseState; 7] = [
        CaseState::PendingCode,
        CaseState::InReview,
        CaseState::Verified,
        CaseState::Rejected,
        CaseState::Expired,
        CaseState::Revoked,
        CaseState::Withdrawn,
    ];
    const ALL_ACTIONS: [Action; 7] = [
        Action::ConfirmCode,
        Action::Approve,
        Action::Reject(RejectReason::Unreadable),
        Action::Expire,
        Action::Revoke,
        Action::Withdraw,
        Action::Reject(RejectReason::SuspectedFraud),
    ];

    /// Every pair of state and action, against SPEC 12's table written out.
    #[test]
    fn transitions_follow_the_spec() {
        use Action as A;
        use CaseState as S;
        let allowed = [
            (S::PendingCode, A::ConfirmCode, S::Verified),
            (S::PendingCode, A::Expire, S::Expired),
            (S::PendingCode, A::Withdraw, S::Withdrawn),
            (S::InReview, A::Approve, S::Verified),
            (
                S::InReview,
                A::Reject(RejectReason::Unreadable),
                S::Rejected,
            ),
            (
                S::InReview,
                A::Reject(RejectReason::SuspectedFraud),
                S::Rejected,
            ),
            (S::InReview, A::Withdraw, S::Withdrawn),
            (S::Verified, A::Expire, S::Expired),
            (S::Verified, A::Revoke, S::Revoked),
            (S::Verified, A::Withdraw, S::Withdrawn),
        ];
        for from in ALL_STATES {
            for action in ALL_ACTIONS {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(transition(from, action), Ok(to)),
                    None => assert_eq!(
                        transition(from, action),
                        Err(TransitionError { from, action }),
                        "{from:?} {action:?}"
                    ),
                }
            }
            // A final state takes no action; an open one takes some.
            let takes_any = ALL_ACTIONS.iter().any(|a| transition(from, *a).is_ok());
            assert_eq!(takes_any, !from.is_final(), "{from:?}");
        }
        // A replayed decision is refused: exactly one decision is recorded.
        let approved = transition(S::InReview, A::Approve).unwrap();
        assert!(transition(approved, A::Approve).is_err());
        assert!(transition(approved, A::Reject(RejectReason::Mismatch)).is_err());
    }

    #[test]
    fn cases_start_where_their_method_puts_them() {
        assert_eq!(initial_state(Method::EmailDomain), CaseState::PendingCode);
        assert_eq!(initial_state(Method::Document), CaseState::InReview);
        assert_eq!(initial_state(Method::Sandbox), CaseState::Verified);
        assert_eq!(initial_state(Method::Operator), CaseState::Verified);
        assert!(CaseState::PendingCode.is_open() && CaseState::InReview.is_open());
        assert!(!CaseState::Verified.is_open());
    }

    #[test]
    fn a_verification_counts_until_its_end() {
        assert!(is_current(CaseState::Verified, None, i64::MAX));
        assert!(is_current(CaseState::Verified, Some(100), 99));
        assert!(!is_current(CaseState::Verified, Some(100), 100));
        for state in ALL_STATES.into_iter().filter(|s| *s != CaseState::Verified) {
            assert!(!is_current(state, None, 0), "{state:?}");
        }
    }

    #[test]
    fn domain_rules_match_below_or_exactly() {
        let gov = DomainRule::parse("*.gov").unwrap();
        assert!(gov.accepts("va.gov") && gov.accepts("a.b.gov"));
        assert!(!gov.accepts("gov") && !gov.accepts("notgov") && !gov.accepts("gov.example"));
        assert!(!gov.accepts("x.govx"));
        let exact = DomainRule::parse("Schools.Example.").unwrap();
        assert!(exact.accepts("schools.example"));
        assert!(!exact.accepts("a.schools.example"));
        assert_eq!(exact.as_written(), "schools.example");
        assert_eq!(gov.as_written(), "*.gov");
        for bad in ["", "*.", "a..b", "1.2.3.4", "[::1]", "a b.gov", "x@y.gov"] {
            assert_eq!(DomainRule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn addresses_are_compared_in_ascii_lowercase() {
        assert_eq!(
            email_domain(" Jane.Doe@VA.GOV "),
            Some(("Jane.Doe@va.gov".to_owned(), "va.gov".to_owned()))
        );
        let (_, idn) = email_domain("lehrer@schule.bücher.example").unwrap();
        assert_eq!(idn, "schule.xn--bcher-kva.example");
        let rule = DomainRule::parse("*.BÜCHER.example").unwrap();
        assert!(rule.accepts(&idn));
        for bad in [
            "no-at-sign",
            "@va.gov",
            "a@",
            "a@1.2.3.4",
            "a b@va.gov",
            "a@va..gov",
        ] {
            assert_eq!(email_domain(bad), None, "{bad}");
        }
    }

    #[test]
    fn groups_offer_the_methods_their_settings_allow() {
        let defaults = default_methods();
        assert_eq!(
            methods_for("government", &defaults, false),
            [Method::EmailDomain, Method::Document]
        );
        // Teacher has no domains until an operator lists some: documents only.
        assert_eq!(methods_for("teacher", &defaults, false), [Method::Document]);
        assert_eq!(
            methods_for(IDENTITY, &defaults, true),
            [Method::Document, Method::Sandbox]
        );
        assert!(domain_accepted("government", "army.mil", &defaults));
        assert!(!domain_accepted("student", "army.mil", &defaults));
        assert!(domain_accepted("student", "mit.edu", &defaults));
        assert_eq!(expires_at("student", 10, &defaults), Some(10 + YEAR));
        assert_eq!(expires_at("government", 10, &defaults), None);
        assert_eq!(expires_at("military", 10, &defaults), None);
    }

    #[test]
    fn codes_are_six_digits_keyed_and_tried_five_times() {
        let codes: Vec<String> = (0..200).map(|_| new_code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.iter().collect::<std::collections::HashSet<_>>().len() > 190);

        let master = MasterKey::generate();
        let stored = code_digest(&master, "case-1", "123456");
        assert_eq!(stored, code_digest(&master, "case-1", " 123456 "));
        assert_ne!(stored, code_digest(&master, "case-2", "123456"));
        assert_ne!(
            stored,
            code_digest(&MasterKey::generate(), "case-1", "123456")
        );
        assert!(!stored.contains("123456"));
        let wrong = code_digest(&master, "case-1", "654321");

        let check = |tries, now, entered: &str| check_code(&stored, 100, tries, now, entered);
        assert_eq!(check(0, 10, &stored), CodeCheck::Confirmed);
        assert_eq!(check(4, 99, &stored), CodeCheck::Confirmed);
        assert_eq!(check(0, 100, &stored), CodeCheck::Expired);
        assert_eq!(check(5, 10, &stored), CodeCheck::Expired);
        assert_eq!(check(0, 10, &wrong), CodeCheck::Wrong { tries_left: 4 });
        assert_eq!(check(3, 10, &wrong), CodeCheck::Wrong { tries_left: 1 });
        assert_eq!(check(4, 10, &wrong), CodeCheck::Expired);

        assert_eq!(may_send_code(None, 0), Ok(()));
        assert_eq!(may_send_code(Some(100), 130), Err(30));
        assert_eq!(may_send_code(Some(100), 100 + RESEND_INTERVAL), Ok(()));
    }

    #[test]
    fn deployments_configure_domains_and_lifetimes() {
        let methods = configure(
            Some("teacher=*.k12.ca.us, Schools.Example; nurse="),
            Some("student=0;government=30"),
        )
        .unwrap();
        assert!(domain_accepted("teacher", "lincoln.k12.ca.us", &methods));
        assert!(domain_accepted("teacher", "schools.example", &methods));
        assert!(
            domain_accepted("government", "va.gov", &methods),
            "untouched defaults stay"
        );
        assert_eq!(methods_for("nurse", &methods, false), [Method::Document]);
        assert_eq!(expires_at("student", 0, &methods), None);
        assert_eq!(expires_at("government", 0, &methods), Some(30 * 86_400));
        assert_eq!(expires_at("teacher", 0, &methods), Some(YEAR));
        assert_eq!(configure(None, None).unwrap(), default_methods());
        for (domains, lifetimes, says) in [
            (Some("astronaut=*.nasa.gov"), None, "unknown group"),
            (Some("teacher"), None, "is not group=value"),
            (Some("teacher=1.2.3.4"), None, "is not a domain rule"),
            (None, Some("student=forever"), "0 to 3650 days"),
            (None, Some("student=-1"), "0 to 3650 days"),
        ] {
            let err = configure(domains, lifetimes).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn names_on_the_wire() {
        fn name<T: Serialize>(value: T) -> String {
            serde_json::to_value(value)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        }
        assert_eq!(name(Method::EmailDomain), "email_domain");
        assert_eq!(name(CaseState::PendingCode), "pending_code");
        assert_eq!(name(RejectReason::ExpiredDocument), "expired_document");
    }

    proptest::proptest! {
        /// Any text: no panic, and an address is accepted for a group only at a domain that is
        /// the rule's or below it.
        #[test]
        fn addresses_never_escape_their_rules(address in "\\PC{0,80}", rule in "(\\*\\.)?[a-zA-Zß0-9.-]{1,20}") {
            let Some(rule) = DomainRule::parse(&rule) else { return Ok(()) };
            if let Some((_, domain)) = email_domain(&address)
                && rule.accepts(&domain)
            {
                let written = rule.as_written();
                let suffix = written.trim_start_matches("*.");
                let below = format!(".{suffix}");
                proptest::prop_assert!(domain == suffix || domain.ends_with(&below), "{domain}");
            }
        }
    }
}
