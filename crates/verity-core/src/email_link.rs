//! Single-use links mailed to a person: a password reset and the confirmation of the sign-in
//! email (issue 23; SPEC 12 "codes and mail go through the outbox").
//!
//! A link carries a fresh token ([`crate::secret::new_token`], 128 random bits as 32 hex
//! characters); the store keeps only its SHA-256 digest, with the purpose, the account, when it
//! runs out and when it was used. A link works once, before it runs out, for its own purpose
//! ([`usable`]); the store takes it atomically, so two tabs cannot both use it.
//!
//! Lifetimes follow what people expect of Keycloak and login.gov: a reset link is short-lived
//! ([`RESET_TTL`], 30 minutes: it replaces a credential), a confirmation link lasts a day
//! ([`CONFIRM_TTL`]: it only proves that mail reaches the address, and people read mail later).

use std::fmt;

use crate::secret::{is_token_shaped, new_token, token_hash};

/// How long a password-reset link works: 30 minutes.
pub const RESET_TTL: i64 = 30 * 60;

/// How long an email-confirmation link works: 24 hours.
pub const CONFIRM_TTL: i64 = 24 * 60 * 60;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose a new password (`/account/password/reset`).
    Reset,
    /// Confirm the sign-in email (`/account/email/confirm`).
    Confirm,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Confirm => "confirm",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reset" => Some(Purpose::Reset),
            "confirm" => Some(Purpose::Confirm),
            _ => None,
        }
    }

    /// How long a link of this purpose works.
    pub fn ttl(self) -> i64 {
        match self {
            Purpose::Reset => RESET_TTL,
            Purpose::Confirm => CONFIRM_TTL,
        }
    }

    /// The path of the link's page (the token goes in its `token` query parameter).
    pub fn path(self) -> &'static str {
        match self {
            Purpose::Reset => "/account/password/reset",
            Purpose::Confirm => "/account/email/confirm",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link just made: the token for the mail (never stored) and its digest (stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub token: String,
    pub token_hash: String,
    pub expires_at: i64,
}

/// A fresh link of `purpose` made at `now`.
pub fn new_link(purpose: Purpose, now: i64) -> NewLink {
    let token = new_token();
    NewLink {
        token_hash: token_hash(&token),
        token,
        expires_at: now + purpose.ttl(),
    }
}

/// The address of the link's page for `token` at `public_url`.
pub fn url(public_url: &str, purpose: Purpose, token: &str) -> String {
    format!(
        "{}{}?token={token}",
        public_url.trim_end_matches('/'),
        purpose.path()
    )
}

/// The digest a presented token is looked up by; `None` when it cannot be one of ours (then
/// nothing is looked up).
pub fn presented_hash(token: &str) -> Option<String> {
    is_token_shaped(token).then(|| token_hash(token))
}

/// Why a stored link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Used already (a link works once).
    Used,
    /// Past its lifetime.
    Expired,
    /// Made for another purpose (a confirmation link at the reset page).
    WrongPurpose,
}

/// Whether a stored link of purpose `stored` works at `now` for `wanted`: never used, not run
/// out (it stops working at `expires_at` exactly), and made for that purpose.
pub fn usable(
    stored: Purpose,
    wanted: Purpose,
    expires_at: i64,
    used_at: Option<i64>,
    now: i64,
) -> Result<(), Unusable> {
    if stored != wanted {
        Err(Unusable::WrongPurpose)
    } else if used_at.is_some() {
        Err(Unusable::Used)
    } else if now >= expires_at {
        Err(Unusable::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_thirty_minutes_and_a_day() {
        assert_eq!(Purpose::Reset.ttl(), 1800);
        assert_eq!(Purpose::Confirm.ttl(), 86_400);
        let link = new_link(Purpose::Reset, 1000);
        assert_eq!(link.expires_at, 2800);
        assert!(is_token_shaped(&link.token));
        assert_eq!(link.token_hash, token_hash(&link.token));
        assert_ne!(link.token, link.token_hash);
    }

    #[test]
    fn a_link_works_once_before_it_runs_out_for_its_purpose() {
        let (r, c) = (Purpose::Reset, Purpose::Confirm);
        assert_eq!(usable(r, r, 100, None, 99), Ok(()));
        assert_eq!(usable(r, r, 100, None, 100), Err(Unusable::Expired));
        assert_eq!(usable(r, r, 100, Some(50), 60), Err(Unusable::Used));
        assert_eq!(usable(c, r, 100, None, 60), Err(Unusable::WrongPurpose));
    }

    #[test]
    fn only_token_shaped_values_are_looked_up() {
        assert_eq!(presented_hash("nope"), None);
        assert_eq!(presented_hash(&"A".repeat(32)), None);
        let t = new_token();
        assert_eq!(presented_hash(&t), Some(token_hash(&t)));
    }

    #[test]
    fn purposes_round_trip_and_links_name_their_page() {
        for p in [Purpose::Reset, Purpose::Confirm] {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::parse("other"), None);
        assert_eq!(
            url("https://id.example/", Purpose::Reset, "abc"),
            "https://id.example/account/password/reset?token=abc"
        );
    }
}
