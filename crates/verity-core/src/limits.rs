//! Limits on what one client address, account, organization or email address may start
//! (accounts, mail, organizations, apps), so that nobody can create accounts by the hundred, fill
//! a stranger's mailbox or burn the provider's CPU on password hashes.
//!
//! Each [`Kind`] counts under a key of its own ([`Kind::key`]) in a **fixed window**: the first
//! action opens a window of the limit's length; each action in it counts; an action past the
//! limit is refused, uncounted, with `retry_after` = the seconds until that window ends, when
//! counting starts over ([`take`]). A burst at a window's end and another at the next window's
//! start can reach twice the limit in a short time; for these limits (minutes to a day, counts of
//! ten or more) that is acceptable, and a fixed window is one row per key.
//!
//! Every mail a person asks for to an address is taken under [`Kind::EmailCode`] (per target
//! address) and [`Kind::EmailCodeAddress`] (per client address): a group's verification code,
//! a password-reset link, a confirmation link sent again. They share one counter per
//! target, so no mix of reasons mails one address more often than the limit.

use std::fmt;
use std::str::FromStr;

use crate::secret::token_hash;

/// What is limited, and per what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Accounts created, per client address (each costs an argon2 hash).
    Signup,
    /// Mail a person asks for, per target email address.
    EmailCode,
    /// Mail a person asks for, per client address (one network mailing many addresses).
    EmailCodeAddress,
    /// Invitations mailed from the console, per organization.
    Invitation,
    /// Organizations created in the console, per account.
    Org,
    /// Apps registered in the console, per account.
    App,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Signup,
        Kind::EmailCode,
        Kind::EmailCodeAddress,
        Kind::Invitation,
        Kind::Org,
        Kind::App,
    ];

    /// The name in metrics labels and audit details.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Signup => "signup",
            Kind::EmailCode => "email_code",
            Kind::EmailCodeAddress => "email_code_address",
            Kind::Invitation => "invitations",
            Kind::Org => "orgs",
            Kind::App => "apps",
        }
    }

    /// The environment variable that sets it.
    pub fn setting(self) -> &'static str {
        match self {
            Kind::Signup => "VERITY_LIMIT_SIGNUP",
            Kind::EmailCode => "VERITY_LIMIT_EMAIL_CODE",
            Kind::EmailCodeAddress => "VERITY_LIMIT_EMAIL_CODE_ADDRESS",
            Kind::Invitation => "VERITY_LIMIT_INVITATIONS",
            Kind::Org => "VERITY_LIMIT_ORGS",
            Kind::App => "VERITY_LIMIT_APPS",
        }
    }

    /// The limit when nothing is set.
    pub fn default_limit(self) -> Limit {
        const MINUTE: i64 = 60;
        const HOUR: i64 = 3600;
        const DAY: i64 = 86_400;
        let (count, window) = match self {
            Kind::Signup => (10, 10 * MINUTE),
            Kind::EmailCode => (5, HOUR),
            // Offices and schools share an address: higher than one person's need.
            Kind::EmailCodeAddress => (20, HOUR),
            Kind::Invitation => (50, DAY),
            Kind::Org | Kind::App => (10, DAY),
        };
        Limit { count, window }
    }

    /// The counter key of `subject`: a client address (kept as it is, as the sign-in throttle
    /// keeps it), an email address (lowercased and hashed: never stored in clear), an
    /// organization id or an account uuid.
    pub fn key(self, subject: &str) -> String {
        let subject = match self {
            Kind::EmailCode => token_hash(&subject.trim().to_lowercase()),
            _ => subject.to_owned(),
        };
        let per = match self {
            Kind::Signup | Kind::EmailCodeAddress => "address",
            Kind::EmailCode => "to",
            Kind::Invitation => "org",
            Kind::Org | Kind::App => "account",
        };
        format!("{}:{per}:{subject}", self.name())
    }

    /// What a refused person reads: what they did too often, and when to try again.
    pub fn refusal(self, retry_after: i64) -> String {
        let what = match self {
            Kind::Signup => "You have created many accounts from this network.",
            Kind::EmailCode => "Many codes were sent to this address lately.",
            Kind::EmailCodeAddress => "Many codes were sent from this network lately.",
            Kind::Invitation => "This organization has sent many invitations today.",
            Kind::Org => "You have created many organizations today.",
            Kind::App => "You have registered many apps today.",
        };
        format!(
            "{what} Try again in {}.",
            crate::throttle::wait_text(retry_after)
        )
    }
}

/// At most `count` actions in `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: i64,
    pub window: i64,
}

/// A limit setting that is not `off` or `<count>/<length><unit>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a limit: write <count>/<length><unit> with a unit of s, m, h or d \
     (e.g. 10/10m, 50/1d), or off"
)]
pub struct LimitError(String);

impl FromStr for Limit {
    type Err = LimitError;

    fn from_str(text: &str) -> Result<Self, LimitError> {
        let bad = || LimitError(text.to_owned());
        let (count, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: i64 = count.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let unit = window.chars().last().ok_or_else(bad)?;
        let seconds = match unit.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let length = &window[..window.len() - unit.len_utf8()];
        // `10/h` reads as one hour.
        let length: i64 = if length.is_empty() {
            1
        } else {
            length.parse().map_err(|_| bad())?
        };
        let window = length.checked_mul(seconds).ok_or_else(bad)?;
        // At least one action, in a window of a second to a year.
        if count < 1 || !(1..=366 * 86_400).contains(&window) {
            return Err(bad());
        }
        Ok(Limit { count, window })
    }
}

impl fmt::Display for Limit {
    /// In the largest unit that divides the window: `10/10m`, `50/1d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (length, unit) = [(86_400, 'd'), (3600, 'h'), (60, 'm')]
            .into_iter()
            .find(|(s, _)| self.window % s == 0)
            .map_or((self.window, 's'), |(s, u)| (self.window / s, u));
        write!(f, "{}/{length}{unit}", self.count)
    }
}

/// A limit setting: `off` (no limit) or a [`Limit`].
pub fn parse_setting(text: &str) -> Result<Option<Limit>, LimitError> {
    if text.trim().eq_ignore_ascii_case("off") {
        Ok(None)
    } else {
        text.parse().map(Some)
    }
}

/// Each kind's limit; `None`: off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub signup: Option<Limit>,
    pub email_code: Option<Limit>,
    pub email_code_address: Option<Limit>,
    pub invitations: Option<Limit>,
    pub orgs: Option<Limit>,
    pub apps: Option<Limit>,
}

impl Default for Limits {
    fn default() -> Self {
        let d = |k: Kind| Some(k.default_limit());
        Limits {
            signup: d(Kind::Signup),
            email_code: d(Kind::EmailCode),
            email_code_address: d(Kind::EmailCodeAddress),
            invitations: d(Kind::Invitation),
            orgs: d(Kind::Org),
            apps: d(Kind::App),
        }
    }
}

impl Limits {
    pub fn get(&self, kind: Kind) -> Option<Limit> {
        *self.slot(kind)
    }

    pub fn set(&mut self, kind: Kind, limit: Option<Limit>) {
        *self.slot_mut(kind) = limit;
    }

    fn slot(&self, kind: Kind) -> &Option<Limit> {
        match kind {
            Kind::Signup => &self.signup,
            Kind::EmailCode => &self.email_code,
            Kind::EmailCodeAddress => &self.email_code_address,
            Kind::Invitation => &self.invitations,
            Kind::Org => &self.orgs,
            Kind::App => &self.apps,
        }
    }

    fn slot_mut(&mut self, kind: Kind) -> &mut Option<Limit> {
        match kind {
            Kind::Signup => &mut self.signup,
            Kind::EmailCode => &mut self.email_code,
            Kind::EmailCodeAddress => &mut self.email_code_address,
            Kind::Invitation => &mut self.invitations,
            Kind::Org => &mut self.orgs,
            Kind::App => &mut self.apps,
        }
    }
}

/// A key's counter: actions counted in the window that began at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub hits: i64,
    pub start: i64,
}

impl Window {
    /// When the window ends under `limit` (the row may be deleted then).
    pub fn end(&self, limit: Limit) -> i64 {
        self.start.saturating_add(limit.window)
    }
}

/// Whether an action may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Allowed,
    /// Over the limit: try again in this many seconds (at least 1).
    Refused {
        retry_after: i64,
    },
}

impl Taken {
    pub fn allowed(self) -> bool {
        self == Taken::Allowed
    }
}

/// One more action on a key whose counter was `prev`, at `now`: the counter to store (`None`
/// when it is refused: nothing changes) and the answer. A window that has ended starts over.
pub fn take(prev: Option<Window>, now: i64, limit: Limit) -> (Option<Window>, Taken) {
    match prev {
        Some(w) if now < w.end(limit) => {
            if w.hits < limit.count {
                let next = Window {
                    hits: w.hits + 1,
                    ..w
                };
                (Some(next), Taken::Allowed)
            } else {
                // A clock behind another node's never asks for more than one window.
                let retry_after = (w.end(limit) - now).clamp(1, limit.window);
                (None, Taken::Refused { retry_after })
            }
        }
        _ => (
            Some(Window {
                hits: 1,
                start: now,
            }),
            Taken::Allowed,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(text: &str) -> Limit {
        text.parse().unwrap()
    }

    #[test]
    fn the_defaults_are_the_issues() {
        let l = Limits::default();
        assert_eq!(l.signup, Some(limit("10/10m")));
        assert_eq!(l.email_code, Some(limit("5/1h")));
        assert_eq!(l.email_code_address, Some(limit("20/1h")));
        assert_eq!(l.invitations, Some(limit("50/1d")));
        assert_eq!(l.orgs, Some(limit("10/1d")));
        assert_eq!(l.apps, Some(limit("10/1d")));
        for kind in Kind::ALL {
            assert_eq!(l.get(kind), Some(kind.default_limit()), "{kind:?}");
        }
    }

    #[test]
    fn settings_read_count_slash_length_and_unit() {
        assert_eq!(
            limit("10/10m"),
            Limit {
                count: 10,
                window: 600
            }
        );
        assert_eq!(
            limit(" 2 / 30s "),
            Limit {
                count: 2,
                window: 30
            }
        );
        assert_eq!(limit("5/h"), limit("5/1h"));
        assert_eq!(limit("50/1D").window, 86_400);
        assert_eq!(parse_setting("off"), Ok(None));
        assert_eq!(parse_setting("OFF"), Ok(None));
        assert_eq!(parse_setting("3/2h"), Ok(Some(limit("3/2h"))));
        for bad in [
            "", "10", "10/", "/1h", "0/1h", "-1/1h", "10/1w", "10/0m", "x/1h", "10/1.5h",
            "10/999d", "10/1hh",
        ] {
            let e = parse_setting(bad).unwrap_err();
            assert!(e.to_string().contains("off"), "{bad}: {e}");
        }
        for text in ["10/10m", "50/1d", "5/1h", "7/90s", "3/36h"] {
            assert_eq!(limit(text).to_string(), text);
        }
        assert_eq!(limit("1/60m").to_string(), "1/1h");
    }

    #[test]
    fn a_fixed_window_counts_up_to_the_limit_then_refuses_until_it_ends() {
        let l = limit("3/10m");
        let mut w = None;
        for n in 1..=3 {
            let (next, taken) = take(w, 1000 + n, l);
            assert_eq!(taken, Taken::Allowed);
            assert_eq!(next.unwrap().hits, n);
            assert_eq!(next.unwrap().start, 1001, "the window began with the first");
            w = next;
        }
        assert_eq!(
            take(w, 1100, l),
            (None, Taken::Refused { retry_after: 501 }),
            "until the window ends, nothing stored"
        );
        assert_eq!(take(w, 1600, l), (None, Taken::Refused { retry_after: 1 }));
        let (fresh, taken) = take(w, 1601, l);
        assert!(taken.allowed(), "the window has ended");
        assert_eq!(
            fresh,
            Some(Window {
                hits: 1,
                start: 1601
            })
        );
        // A counter from a clock ahead of this one never asks for more than one window.
        let ahead = Some(Window {
            hits: 3,
            start: 5000,
        });
        assert_eq!(
            take(ahead, 1000, l),
            (None, Taken::Refused { retry_after: 600 })
        );
    }

    #[test]
    fn keys_keep_kinds_apart_and_never_hold_an_email_in_clear() {
        let key = Kind::EmailCode.key(" Jane@Agency.gov ");
        assert_eq!(key, Kind::EmailCode.key("jane@agency.gov"));
        assert!(key.starts_with("email_code:to:"));
        assert!(!key.to_lowercase().contains("agency"), "{key}");
        assert_eq!(Kind::Signup.key("10.0.0.1"), "signup:address:10.0.0.1");
        assert_ne!(
            Kind::Signup.key("10.0.0.1"),
            Kind::EmailCodeAddress.key("10.0.0.1")
        );
        assert_ne!(Kind::Org.key("u-1"), Kind::App.key("u-1"));
        let names: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), Kind::ALL.len());
    }

    #[test]
    fn refusals_say_when_to_try_again() {
        assert_eq!(
            Kind::Signup.refusal(8 * 60 - 30),
            "You have created many accounts from this network. Try again in 8 minutes."
        );
        assert_eq!(
            Kind::Invitation.refusal(5 * 3600),
            "This organization has sent many invitations today. Try again in 5 hours."
        );
        assert_eq!(
            Kind::EmailCode.refusal(3600),
            "Many codes were sent to this address lately. Try again in an hour."
        );
    }
}
