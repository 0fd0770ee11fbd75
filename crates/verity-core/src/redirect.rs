//! Redirect URIs: the registration rules of SPEC section 11 and the exact matching of SPEC
//! section 3 (RFC 9700 2.1: character-for-character comparison, no pattern, no normalisation).

use thiserror::Error;
use url::{Host, Url};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("a redirect URI must not contain a fragment")]
    Fragment,
    #[error(
        "http is allowed only on a loopback host (127.0.0.1, [::1], localhost) outside the sandbox"
    )]
    InsecureHttp,
    #[error(
        "the scheme {0:?} is not allowed: use https, or a private-use scheme like com.example.app"
    )]
    BadScheme(String),
    #[error("the URI is longer than 2000 characters")]
    TooLong,
    #[error("the URI contains user information")]
    UserInfo,
}

/// Checks a URI an integrator wants to register. `sandbox` allows any `http` host.
pub fn validate_registration(raw: &str, sandbox: bool) -> Result<(), RedirectUriError> {
    if raw.len() > 2000 {
        return Err(RedirectUriError::TooLong);
    }
    if raw.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    let url = Url::parse(raw).map_err(|_| RedirectUriError::NotAbsolute)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(Host::Ipv4(ip)) => ip.is_loopback(),
                Some(Host::Ipv6(ip)) => ip.is_loopback(),
                Some(Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback || sandbox {
                Ok(())
            } else {
                Err(RedirectUriError::InsecureHttp)
            }
        }
        // RFC 8252 7.1: private-use schemes are reverse domain names, so they contain a dot.
        scheme if scheme.contains('.') && url.host().is_none() => Ok(()),
        scheme => Err(RedirectUriError::BadScheme(scheme.to_owned())),
    }
}

/// A redirect URI that equals one of an app's registered URIs character for character: the only
/// kind of URI the provider sends a browser to with a code or an error, so that a function that
/// redirects cannot be handed an unchecked string. Made by [`RedirectUri::registered`] (and read
/// back from a request the provider validated and stored itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// `candidate`, when it is one of `registered`.
    pub fn registered(registered: &[String], candidate: &str) -> Option<Self> {
        is_registered(registered, candidate).then(|| RedirectUri(candidate.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `candidate` equals one of `registered`, character for character.
pub fn is_registered(registered: &[String], candidate: &str) -> bool {
    registered.iter().any(|r| r == candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn registration_rules() {
        assert_eq!(
            validate_registration("https://app.example.com/cb", false),
            Ok(())
        );
        assert_eq!(
            validate_registration("http://127.0.0.1:8090/callback", false),
            Ok(())
        );
        assert_eq!(
            validate_registration("http://localhost:8090/callback", false),
            Ok(())
        );
        assert_eq!(validate_registration("http://[::1]/cb", false), Ok(()));
        assert_eq!(
            validate_registration("com.example.app:/callback", false),
            Ok(())
        );
        assert_eq!(
            validate_registration("http://app.example.com/cb", false),
            Err(RedirectUriError::InsecureHttp)
        );
        assert_eq!(
            validate_registration("http://app.example.com/cb", true),
            Ok(())
        );
        assert_eq!(
            validate_registration("https://a.example/cb#x", false),
            Err(RedirectUriError::Fragment)
        );
        assert_eq!(
            validate_registration("/callback", false),
            Err(RedirectUriError::NotAbsolute)
        );
        assert_eq!(
            validate_registration("javascript:alert(1)", true),
            Err(RedirectUriError::BadScheme("javascript".into()))
        );
        assert_eq!(
            validate_registration("https://u:p@a.example/cb", false),
            Err(RedirectUriError::UserInfo)
        );
    }

    #[test]
    fn matching_is_exact() {
        let reg = vec!["http://127.0.0.1:8090/callback".to_owned()];
        assert!(is_registered(&reg, "http://127.0.0.1:8090/callback"));
        for near in [
            "http://127.0.0.1:8090/callback/",
            "http://127.0.0.1:8090/Callback",
            "http://127.0.0.1:8090/callback?x=1",
            "http://127.0.0.1:8090/callback#",
            "http://127.0.0.1:8090/%63allback",
            "HTTP://127.0.0.1:8090/callback",
            "http://127.0.0.1:80900/callback",
        ] {
            assert!(!is_registered(&reg, near), "{near}");
        }
    }

    proptest! {
        #[test]
        fn never_accepts_an_unregistered_uri(
            registered in proptest::collection::vec("[a-z:/.0-9?=&%#-]{0,40}", 0..5),
            candidate in "[a-z:/.0-9?=&%#-]{0,40}",
        ) {
            prop_assert_eq!(is_registered(&registered, &candidate), registered.contains(&candidate));
        }

        #[test]
        fn registration_never_panics(raw in ".{0,200}", sandbox: bool) {
            let _ = validate_registration(&raw, sandbox);
        }
    }
}
