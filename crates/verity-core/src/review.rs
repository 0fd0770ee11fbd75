//! The review of verification cases (SPEC 12 "Review"): who may work on a case, for how long a
//! claim holds it, and what a reviewer may record from an identity document. The server asks;
//! these rules answer, so that the console at `/review` and the admin API decide alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::verification::{CaseState, IDENTITY};

/// How long a claim holds a case for one reviewer (renewed by claiming it again).
pub const CLAIM_SECONDS: i64 = 30 * 60;

/// A deployment-wide role an account holds (not an RP organization's role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Decides the verification cases a machine cannot, at `/review`.
    Reviewer,
}

impl Role {
    pub const ALL: [Role; 1] = [Role::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// What a reviewer sees of a case's hold on it.
#[derive(Debug, Clone, Copy)]
pub struct Hold<'a> {
    /// The account whose case it is.
    pub owner: &'a str,
    pub state: CaseState,
    pub claimed_by: Option<&'a str>,
    pub claimed_until: Option<i64>,
}

/// Why a reviewer may not work on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Four eyes: nobody reviews their own case.
    OwnCase,
    /// The case is not in review (decided, withdrawn, or never sent to review).
    NotInReview,
    /// Another reviewer holds it.
    HeldByAnother,
    /// Nobody holds it (or the reviewer's claim ran out): claim it first.
    NotClaimed,
}

impl Refusal {
    /// In words, for the reviewer's page.
    pub fn explanation(self) -> &'static str {
        match self {
            Refusal::OwnCase => "This is your own case: another reviewer must decide it.",
            Refusal::NotInReview => "This case is no longer in review.",
            Refusal::HeldByAnother => "Another reviewer is working on this case.",
            Refusal::NotClaimed => "Claim this case before you look at its documents or decide it.",
        }
    }
}

fn held_by_other(hold: &Hold<'_>, reviewer: &str, now: i64) -> bool {
    match (hold.claimed_by, hold.claimed_until) {
        (Some(by), Some(until)) => by != reviewer && until > now,
        _ => false,
    }
}

/// Whether `reviewer` may claim the case at `now` (or renew their claim).
pub fn may_claim(hold: &Hold<'_>, reviewer: &str, now: i64) -> Result<(), Refusal> {
    if hold.owner == reviewer {
        return Err(Refusal::OwnCase);
    }
    if hold.state != CaseState::InReview {
        return Err(Refusal::NotInReview);
    }
    if held_by_other(hold, reviewer, now) {
        return Err(Refusal::HeldByAnother);
    }
    Ok(())
}

/// Whether `reviewer` may see the case's evidence and decide it at `now`: only while their own
/// claim holds it.
pub fn may_work(hold: &Hold<'_>, reviewer: &str, now: i64) -> Result<(), Refusal> {
    may_claim(hold, reviewer, now)?;
    match (hold.claimed_by, hold.claimed_until) {
        (Some(by), Some(until)) if by == reviewer && until > now => Ok(()),
        _ => Err(Refusal::NotClaimed),
    }
}

/// What a reviewer reads from an identity document: the account attributes it sets (SPEC 8
/// handles), and what is kept about the document itself.
pub const IDENTITY_FIELDS: &[(&str, &str)] = &[
    ("fname", "First name"),
    ("mname", "Middle name"),
    ("lname", "Last name"),
    ("birth_date", "Birth date (YYYY-MM-DD)"),
    ("street", "Street"),
    ("city", "City"),
    ("state", "State"),
    ("zip", "ZIP code"),
    ("country", "Country"),
    ("document_issuer", "Issuing country or state"),
    ("document_number", "Document number"),
    ("document_issued", "Document issued on (YYYY-MM-DD)"),
    ("document_expires", "Document expiry (YYYY-MM-DD)"),
];

/// The fields of [`IDENTITY_FIELDS`] that describe the document rather than the person.
const DOCUMENT_FIELDS: [&str; 4] = [
    "document_issuer",
    "document_number",
    "document_issued",
    "document_expires",
];

/// The fields an identity approval cannot go without.
const REQUIRED: [&str; 4] = ["fname", "lname", "birth_date", "document_issuer"];

/// What an approval records, checked: for `identity`, the attributes read from the document
/// (known fields, trimmed, dates as `YYYY-MM-DD`, the names, birth date and issuer present);
/// for a group, none. Each problem in words.
pub fn check_attributes(
    group: &str,
    read: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let read: BTreeMap<String, String> = read
        .iter()
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if group != IDENTITY {
        return if read.is_empty() {
            Ok(read)
        } else {
            Err(vec![format!("{group} takes no attributes")])
        };
    }
    let mut problems = Vec::new();
    for (k, v) in &read {
        let Some((_, label)) = IDENTITY_FIELDS.iter().find(|(f, _)| f == k) else {
            problems.push(format!("{k:?} is not read from a document"));
            continue;
        };
        if v.chars().count() > 200 || v.chars().any(char::is_control) {
            problems.push(format!("{label}: at most 200 characters, on one line"));
        } else if ["birth_date", "document_issued", "document_expires"].contains(&k.as_str())
            && !is_date(v)
        {
            problems.push(format!("{label}: write the date as YYYY-MM-DD"));
        }
    }
    for k in REQUIRED {
        if !read.contains_key(k) {
            let label = IDENTITY_FIELDS
                .iter()
                .find(|(f, _)| *f == k)
                .map_or(k, |f| f.1);
            problems.push(format!("{label} is needed"));
        }
    }
    if problems.is_empty() {
        Ok(read)
    } else {
        Err(problems)
    }
}

/// The attributes of an approved identity case that become the account's own (SPEC 8 handles).
pub fn account_attributes(read: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    read.iter()
        .filter(|(k, _)| !DOCUMENT_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return false;
    }
    let month: u32 = v[5..7].parse().unwrap_or(0);
    let day: u32 = v[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(by: Option<&'static str>, until: Option<i64>) -> Hold<'static> {
        Hold {
            owner: "person",
            state: CaseState::InReview,
            claimed_by: by,
            claimed_until: until,
        }
    }

    #[test]
    fn four_eyes_and_the_claim_decide_who_works() {
        let free = hold(None, None);
        assert_eq!(may_claim(&free, "person", 10), Err(Refusal::OwnCase));
        assert_eq!(may_claim(&free, "r1", 10), Ok(()));
        assert_eq!(may_work(&free, "r1", 10), Err(Refusal::NotClaimed));

        let held = hold(Some("r1"), Some(100));
        assert_eq!(may_work(&held, "r1", 99), Ok(()));
        assert_eq!(may_work(&held, "r1", 100), Err(Refusal::NotClaimed));
        assert_eq!(may_claim(&held, "r2", 99), Err(Refusal::HeldByAnother));
        assert_eq!(may_work(&held, "r2", 99), Err(Refusal::HeldByAnother));
        // A claim that ran out frees the case for another reviewer.
        assert_eq!(may_claim(&held, "r2", 100), Ok(()));

        let decided = Hold {
            state: CaseState::Verified,
            ..held
        };
        assert_eq!(may_claim(&decided, "r1", 50), Err(Refusal::NotInReview));
        let own = Hold {
            owner: "r1",
            ..held
        };
        assert_eq!(may_work(&own, "r1", 50), Err(Refusal::OwnCase));
    }

    #[test]
    fn identity_attributes_are_checked() {
        let read = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        let good = read(&[
            ("fname", " Ada "),
            ("lname", "Lovelace"),
            ("birth_date", "1815-12-10"),
            ("document_issuer", "US-VA"),
            ("document_number", "D1234567"),
            ("document_issued", "2020-01-31"),
            ("city", ""),
        ]);
        let checked = check_attributes(IDENTITY, &good).unwrap();
        assert_eq!(checked["fname"], "Ada");
        assert!(!checked.contains_key("city"));
        let own = account_attributes(&checked);
        assert_eq!(
            own.keys().collect::<Vec<_>>(),
            ["birth_date", "fname", "lname"]
        );

        let bad = read(&[("fname", "Ada"), ("birth_date", "10/12/1815"), ("ssn", "1")]);
        let problems = check_attributes(IDENTITY, &bad).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("YYYY-MM-DD")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("\"ssn\"")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("Last name is needed")),
            "{problems:?}"
        );
        let issued = read(&[
            ("fname", "Ada"),
            ("lname", "Lovelace"),
            ("birth_date", "1815-12-10"),
            ("document_issuer", "US-VA"),
            ("document_issued", "2020-13-01"),
        ]);
        let problems = check_attributes(IDENTITY, &issued).unwrap_err();
        assert_eq!(
            problems,
            ["Document issued on (YYYY-MM-DD): write the date as YYYY-MM-DD"]
        );
        assert!(check_attributes("military", &read(&[("fname", "A")])).is_err());
        assert_eq!(
            check_attributes("military", &read(&[("fname", " ")])),
            Ok(BTreeMap::new())
        );
        assert!(!is_date("2024-13-01") && !is_date("2024-1-01") && is_date("2024-02-29"));
    }

    #[test]
    fn roles_have_names() {
        assert_eq!(Role::parse("reviewer"), Some(Role::Reviewer));
        assert_eq!(Role::parse("owner"), None);
    }
}
