//! The protocol values that travel between the crates and over the wire, as types of their
//! own, so that a client id cannot be passed where a nonce is wanted, nor an unchecked string
//! where a challenge is: [`ClientId`], [`Nonce`], [`PkceChallenge`]. (The redirect URI and the
//! scope set have modules of their own: `redirect::RedirectUri`, `scope::ScopeSet`.)
//!
//! Each is stored and serialized as its plain string.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// Declares a string newtype: its constructor from a string already accepted where it came
/// from (a registration, the store, a validated request), `as_str`, `Deref` to `str`,
/// `Display`, and comparison with strings.
macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

string_value!(
    /// An app's `client_id` (RFC 6749 2.2): what its registration was given (a random token,
    /// or a sandbox app's chosen name), and what every grant, token and consent is bound to.
    ClientId
);

impl ClientId {
    /// The longest `client_id` an authorization request may name (RFC 6749 sets no limit;
    /// Verity's own are 32 characters, a sandbox app's a short name).
    pub const MAX_LEN: usize = 256;

    /// A client id as registered (or read back from the store, or accepted by
    /// `authorize::client_id`).
    pub fn new(id: impl Into<String>) -> Self {
        ClientId(id.into())
    }
}

/// Typing only, no check: a client id is whatever its registration was given.
macro_rules! from_strings {
    ($($name:ident),*) => {$(
        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }
    )*};
}

from_strings!(ClientId, Nonce);

string_value!(
    /// OIDC Core 3.1.2.1 `nonce`: the app's value, carried unchanged from the authorization
    /// request into the code and the first ID token.
    Nonce
);

impl Nonce {
    pub fn new(nonce: impl Into<String>) -> Self {
        Nonce(nonce.into())
    }
}

string_value!(
    /// RFC 7636 4.2 S256 `code_challenge`: 43 characters of base64url, made only by
    /// [`PkceChallenge::parse`] (or read back from the store, which keeps only parsed ones).
    PkceChallenge
);

impl PkceChallenge {
    /// A well-formed S256 challenge: 43 base64url characters (the digest of any verifier).
    pub fn parse(raw: &str) -> Option<Self> {
        let well_formed = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| PkceChallenge(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_43_base64url_characters() {
        let good = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(PkceChallenge::parse(good).unwrap(), good);
        for bad in [
            "",
            &good[1..],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
        ] {
            assert_eq!(PkceChallenge::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_serialize_as_their_strings() {
        let id = ClientId::new("app-1");
        assert_eq!(serde_json::to_value(&id).unwrap(), "app-1");
        assert_eq!(
            serde_json::from_value::<ClientId>("app-1".into()).unwrap(),
            id
        );
        assert_eq!(
            (id.as_str(), id.len(), id.to_string()),
            ("app-1", 5, "app-1".into())
        );
    }
}
