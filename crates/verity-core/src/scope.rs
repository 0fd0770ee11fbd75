//! RFC 6749 section 3.3 scope sets. Policy handles are opaque, case-sensitive, and may be URIs.

use thiserror::Error;

/// Longest scope string accepted, and most scopes in one request.
const MAX_SCOPE_LEN: usize = 512;
const MAX_SCOPES: usize = 64;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("scope is empty")]
    Empty,
    #[error("scope contains a character RFC 6749 section 3.3 does not allow")]
    BadCharacter,
    #[error("a scope value is longer than {MAX_SCOPE_LEN} characters")]
    TooLong,
    #[error("more than {MAX_SCOPES} scope values")]
    TooMany,
}

/// An ordered set of scope tokens, duplicates removed, first occurrence kept.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(Vec<String>);

fn is_scope_char(c: char) -> bool {
    // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

impl ScopeSet {
    /// Parses a space-separated scope string. Runs of spaces are tolerated; anything outside the
    /// RFC's character set is refused.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        let mut out: Vec<String> = Vec::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            if !token.chars().all(is_scope_char) {
                return Err(ScopeError::BadCharacter);
            }
            if token.len() > MAX_SCOPE_LEN {
                return Err(ScopeError::TooLong);
            }
            if !out.iter().any(|s| s == token) {
                out.push(token.to_owned());
            }
            if out.len() > MAX_SCOPES {
                return Err(ScopeError::TooMany);
            }
        }
        if out.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(Self(out))
    }

    pub fn from_vec(scopes: Vec<String>) -> Self {
        let mut out: Vec<String> = Vec::new();
        for s in scopes {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Self(out)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.iter().all(|s| other.contains(s))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The wire form: space separated, in request order.
    pub fn to_scope_string(&self) -> String {
        self.0.join(" ")
    }

    /// Whether one of the remembered sets (each in [`ScopeSet::canonical`] form) covers every
    /// scope of this one: a remembered consent then needs no new consent page.
    pub fn covered_by_any(&self, remembered: &[String]) -> bool {
        remembered.iter().any(|set| {
            let granted: Vec<&str> = set.split(' ').collect();
            self.iter().all(|s| granted.contains(&s))
        })
    }

    /// A canonical key for "the same set": sorted, space separated.
    pub fn canonical(&self) -> String {
        let mut v = self.0.clone();
        v.sort();
        v.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_policy_handles_including_uris() {
        let s = ScopeSet::parse(
            "openid  military http://idmanagement.gov/ns/assurance/ial/2/aal/2 military",
        )
        .unwrap();
        assert_eq!(
            s.as_slice(),
            [
                "openid",
                "military",
                "http://idmanagement.gov/ns/assurance/ial/2/aal/2"
            ]
        );
        assert_eq!(
            s.canonical(),
            "http://idmanagement.gov/ns/assurance/ial/2/aal/2 military openid"
        );
    }

    #[test]
    fn refuses_empty_and_bad_characters() {
        assert_eq!(ScopeSet::parse("   "), Err(ScopeError::Empty));
        assert_eq!(ScopeSet::parse("open\"id"), Err(ScopeError::BadCharacter));
        assert_eq!(ScopeSet::parse("a\tb"), Err(ScopeError::BadCharacter));
        assert_eq!(ScopeSet::parse("caf\u{e9}"), Err(ScopeError::BadCharacter));
    }

    #[test]
    fn remembered_sets_cover_subsets_only() {
        let asked = ScopeSet::parse("openid military").unwrap();
        assert!(asked.covered_by_any(&["military openid profile".into()]));
        assert!(!asked.covered_by_any(&["openid".into(), "military".into()]));
        assert!(!asked.covered_by_any(&[]));
    }

    #[test]
    fn scopes_are_case_sensitive() {
        let s = ScopeSet::parse("Military").unwrap();
        assert!(!s.contains("military"));
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(raw in ".{0,300}") {
            if let Ok(set) = ScopeSet::parse(&raw) {
                prop_assert!(!set.as_slice().is_empty());
                for s in set.iter() {
                    prop_assert!(!s.is_empty());
                    prop_assert!(s.chars().all(is_scope_char));
                }
                let again = ScopeSet::parse(&set.to_scope_string()).unwrap();
                prop_assert_eq!(again, set);
            }
        }

        #[test]
        fn valid_tokens_always_parse(tokens in proptest::collection::vec("[!#-\\[\\]-~]{1,20}", 1..10)) {
            let set = ScopeSet::parse(&tokens.join(" ")).unwrap();
            for t in &tokens {
                prop_assert!(set.contains(t));
            }
        }
    }
}
