//! OIDC RP-Initiated Logout 1.0 (and ID.me's `client_id` + `redirect_uri` form of it): which app
//! a logout request names, and where the browser may go afterwards. The server ends the session
//! whatever these say; they only decide the answer.

use serde_json::Value;
use thiserror::Error;

use crate::jose::Jws;
use crate::redirect::is_registered;

/// Why a logout request is answered with an error page.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LogoutError {
    #[error("id_token_hint is not a valid ID token.")]
    MalformedHint,
    #[error("id_token_hint was not issued by this provider.")]
    ForeignHint,
    #[error("client_id does not match id_token_hint.")]
    ClientMismatch,
}

/// The app an `id_token_hint` was issued to (its `aud`), once its signature checks against our
/// own `jwks` and its issuer is `issuer`. An expired hint is accepted (section 2: it identifies,
/// it does not authenticate).
pub fn hinted_client(
    hint: &str,
    jwks: &Value,
    issuer: &str,
) -> Result<Option<String>, LogoutError> {
    let jws = Jws::parse(hint).map_err(|_| LogoutError::MalformedHint)?;
    jws.verify_with_set(jwks)
        .map_err(|_| LogoutError::ForeignHint)?;
    if jws.claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(LogoutError::ForeignHint);
    }
    Ok(jws
        .claims
        .get("aud")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// The app the request names: `client_id`, the hint's audience, or both when they agree.
pub fn client_of<'a>(
    sent: Option<&'a str>,
    hinted: Option<&'a str>,
) -> Result<Option<&'a str>, LogoutError> {
    match (sent, hinted) {
        (Some(a), Some(b)) if a != b => Err(LogoutError::ClientMismatch),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// Where a registered app may be sent back: its post-logout URIs and its redirect URIs (ID.me's
/// logout names one of those).
#[derive(Debug, Clone, Copy)]
pub struct Registered<'a> {
    pub post_logout_redirect_uris: &'a [String],
    pub redirect_uris: &'a [String],
}

/// What the browser is answered after the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterLogout {
    /// Back to the app: the target with `state` added.
    Redirect(String),
    /// Verity's signed-out page; `unregistered` when a target was asked for but is not the
    /// app's (never redirect to it: no open redirect).
    Page { unregistered: bool },
}

/// Where to send the browser: `target` only when it is registered for `app`, character for
/// character.
pub fn after_logout(
    app: Option<Registered<'_>>,
    target: Option<&str>,
    state: Option<&str>,
) -> AfterLogout {
    let Some(uri) = target else {
        return AfterLogout::Page {
            unregistered: false,
        };
    };
    let registered = app.is_some_and(|a| {
        is_registered(a.post_logout_redirect_uris, uri) || is_registered(a.redirect_uris, uri)
    });
    if !registered {
        return AfterLogout::Page { unregistered: true };
    }
    let mut location = uri.to_owned();
    if let Some(s) = state {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("state", s);
        location.push(if uri.contains('?') { '&' } else { '?' });
        location.push_str(&q.finish());
    }
    AfterLogout::Redirect(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_a_registered_target_is_a_redirect() {
        let post = uris(&["https://app.example/bye"]);
        let redirects = uris(&["https://app.example/cb?x=1"]);
        let app = Registered {
            post_logout_redirect_uris: &post,
            redirect_uris: &redirects,
        };
        assert_eq!(
            after_logout(Some(app), Some("https://app.example/bye"), Some("a b")),
            AfterLogout::Redirect("https://app.example/bye?state=a+b".into())
        );
        assert_eq!(
            after_logout(Some(app), Some("https://app.example/cb?x=1"), Some("s")),
            AfterLogout::Redirect("https://app.example/cb?x=1&state=s".into())
        );
        // A prefix, another case or a trailing slash is not the registered URI.
        for other in [
            "https://app.example/bye/",
            "https://APP.example/bye",
            "https://app.example/by",
        ] {
            assert_eq!(
                after_logout(Some(app), Some(other), None),
                AfterLogout::Page { unregistered: true }
            );
        }
        assert_eq!(
            after_logout(None, Some("https://app.example/bye"), None),
            AfterLogout::Page { unregistered: true }
        );
        assert_eq!(
            after_logout(Some(app), None, Some("s")),
            AfterLogout::Page {
                unregistered: false
            }
        );
    }

    #[test]
    fn the_named_client_must_agree_with_the_hint() {
        assert_eq!(client_of(Some("a"), Some("a")), Ok(Some("a")));
        assert_eq!(client_of(Some("a"), None), Ok(Some("a")));
        assert_eq!(client_of(None, Some("b")), Ok(Some("b")));
        assert_eq!(client_of(None, None), Ok(None));
        assert_eq!(
            client_of(Some("a"), Some("b")),
            Err(LogoutError::ClientMismatch)
        );
        assert_eq!(
            hinted_client("not a jwt", &serde_json::json!({"keys": []}), "https://op"),
            Err(LogoutError::MalformedHint)
        );
    }
}
