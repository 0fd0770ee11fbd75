//! The rules an app's registration must meet (SPEC section 11), the same through the admin API,
//! the developer console and the `verity admin` command. Each check adds a sentence a person can
//! act on to a list, so that one submission reports every problem at once.

use serde_json::Value;

use crate::identity::Family;
use crate::keys::{Alg, MAX_SIGNED_TTL};
use crate::redirect::validate_registration;

/// The problems found so far with one submission.
pub type Problems = Vec<String>;

/// The bounds of each lifetime, in seconds.
pub const CODE_TTL: (i64, i64) = (30, 600);
pub const ACCESS_TTL: (i64, i64) = (60, MAX_SIGNED_TTL);
pub const REFRESH_TTL: (i64, i64) = (300, 31_536_000);
pub const USERINFO_TTL: (i64, i64) = (60, 86_400);

/// The most redirect URIs one app registers.
pub const MAX_REDIRECT_URIS: usize = 20;

/// An app's display name: 1 to 100 characters, none of them control characters.
pub fn check_name(name: &str, problems: &mut Problems) {
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        problems.push("name must have 1 to 100 characters and no control characters".to_owned());
    }
}

/// A URL a browser loads (`logo_url`): https, or http on a loopback host or in the sandbox.
pub fn check_url(what: &str, raw: &str, sandbox: bool, problems: &mut Problems) {
    match url::Url::parse(raw) {
        Ok(u) => {
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if !(u.scheme() == "https" || (u.scheme() == "http" && (loopback || sandbox))) {
                problems.push(format!(
                    "{what} {raw:?} must be https (http only on a loopback host or in the sandbox)"
                ));
            }
        }
        Err(_) => problems.push(format!("{what} {raw:?} is not an absolute URL")),
    }
}

/// A URL Verity itself calls (`jwks_uri`, `backchannel_logout_uri`): https, and outside the
/// sandbox never a loopback, private or link-local literal host (no requests into our own
/// network).
pub fn check_server_url(what: &str, raw: &str, sandbox: bool, problems: &mut Problems) {
    let Ok(u) = url::Url::parse(raw) else {
        problems.push(format!("{what} {raw:?} is not an absolute URL"));
        return;
    };
    if sandbox {
        if u.scheme() != "https" && u.scheme() != "http" {
            problems.push(format!("{what} {raw:?} must be http(s)"));
        }
        return;
    }
    let internal = match u.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
        }
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        None => true,
    };
    if u.scheme() != "https" || internal {
        problems.push(format!(
            "{what} {raw:?} must be an https URL on a public host"
        ));
    }
}

/// The redirect URIs: one at least, at most [`MAX_REDIRECT_URIS`], each by
/// [`validate_registration`].
pub fn check_redirect_uris(uris: &[String], sandbox: bool, problems: &mut Problems) {
    if uris.is_empty() {
        problems.push("redirect_uris needs at least one URI".to_owned());
    }
    if uris.len() > MAX_REDIRECT_URIS {
        problems.push(format!(
            "redirect_uris takes at most {MAX_REDIRECT_URIS} URIs"
        ));
    }
    check_uris("redirect URI", uris, sandbox, problems);
}

/// Each of `uris` by [`validate_registration`], named `what` in the problems.
pub fn check_uris(what: &str, uris: &[String], sandbox: bool, problems: &mut Problems) {
    for u in uris {
        if let Err(e) = validate_registration(u, sandbox) {
            problems.push(format!("{what} {u:?}: {e}"));
        }
    }
}

/// A lifetime, when given, within its `(min, max)` bounds.
pub fn check_ttl(what: &str, value: Option<i64>, (min, max): (i64, i64), problems: &mut Problems) {
    if let Some(v) = value
        && !(min..=max).contains(&v)
    {
        problems.push(format!("{what} must be between {min} and {max} seconds"));
    }
}

/// `idme` (ID.me's wire format) or `oidc` (standard OpenID Connect claims).
pub fn profile(raw: &str, problems: &mut Problems) -> Option<Family> {
    let family = match raw {
        "idme" => Family::Idme,
        "oidc" => Family::Oidc,
        _ => {
            problems.push("profile must be idme or oidc".to_owned());
            return None;
        }
    };
    Some(family)
}

/// The algorithm Verity signs an app's ID tokens with.
pub fn id_token_alg(raw: &str, problems: &mut Problems) -> Option<Alg> {
    let alg = Alg::parse(raw).ok();
    if alg.is_none() {
        problems.push("id_token_alg must be RS256 or ES256".to_owned());
    }
    alg
}

/// The algorithm Verity signs an app's userinfo answers with, or none (plain JSON). `None`
/// when `raw` names no algorithm Verity signs with.
pub fn userinfo_alg(raw: Option<&str>, problems: &mut Problems) -> Option<Option<Alg>> {
    match raw.map(Alg::parse) {
        None => Some(None),
        Some(Ok(alg)) => Some(Some(alg)),
        Some(Err(_)) => {
            problems.push("userinfo_signed_response_alg must be RS256, ES256 or null".to_owned());
            None
        }
    }
}

/// A registered JWK Set: an object with a `keys` array (each key is checked when it is used).
pub fn check_jwks(set: &Value, problems: &mut Problems) {
    if !set.get("keys").is_some_and(Value::is_array) {
        problems.push("jwks must be a JWK Set: {\"keys\": [...]}".to_owned());
    }
}

/// `policies` without repeats, in their first order.
pub fn unique(policies: Vec<String>) -> Vec<String> {
    let mut unique = Vec::new();
    for p in policies {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(check: impl FnOnce(&mut Problems)) -> Problems {
        let mut p = Problems::new();
        check(&mut p);
        p
    }

    #[test]
    fn urls_verity_calls_are_public_https_outside_the_sandbox() {
        for bad in [
            "http://example.com/jwks",
            "https://127.0.0.1/jwks",
            "https://10.1.2.3/jwks",
            "https://169.254.169.254/latest",
            "https://[::1]/jwks",
            "https://[fd00::1]/jwks",
            "https://localhost/jwks",
            "https://a.localhost/jwks",
            "not a url",
        ] {
            assert_eq!(
                problems(|p| check_server_url("jwks_uri", bad, false, p)).len(),
                1,
                "{bad}"
            );
        }
        assert!(
            problems(|p| check_server_url("jwks_uri", "https://rp.example/jwks", false, p))
                .is_empty()
        );
        // The sandbox calls local test servers.
        assert!(
            problems(|p| check_server_url("jwks_uri", "http://127.0.0.1:9/j", true, p)).is_empty()
        );
    }

    #[test]
    fn lifetimes_names_algorithms_and_sets() {
        assert!(problems(|p| check_ttl("code_ttl", Some(30), CODE_TTL, p)).is_empty());
        assert_eq!(
            problems(|p| check_ttl("code_ttl", Some(601), CODE_TTL, p)),
            ["code_ttl must be between 30 and 600 seconds"]
        );
        assert!(problems(|p| check_ttl("access_ttl", None, ACCESS_TTL, p)).is_empty());
        assert_eq!(problems(|p| check_name("", p)).len(), 1);
        assert_eq!(problems(|p| check_name("a\u{7}b", p)).len(), 1);
        assert!(problems(|p| check_name("Acme", p)).is_empty());
        let mut refused = Problems::new();
        assert_eq!(id_token_alg("HS256", &mut refused), None);
        assert_eq!(userinfo_alg(Some("none"), &mut refused), None);
        assert_eq!(profile("saml", &mut refused), None);
        assert_eq!(refused.len(), 3);
        assert_eq!(id_token_alg("ES256", &mut vec![]), Some(Alg::ES256));
        assert_eq!(userinfo_alg(None, &mut vec![]), Some(None));
        assert_eq!(
            userinfo_alg(Some("RS256"), &mut vec![]),
            Some(Some(Alg::RS256))
        );
        assert_eq!(profile("oidc", &mut vec![]), Some(Family::Oidc));
        assert_eq!(
            problems(|p| check_jwks(&serde_json::json!({"keys": {}}), p)).len(),
            1
        );
        assert!(problems(|p| check_jwks(&serde_json::json!({"keys": []}), p)).is_empty());
        assert_eq!(problems(|p| check_redirect_uris(&[], false, p)).len(), 1);
        let many: Vec<String> = (0..21).map(|i| format!("https://a.example/{i}")).collect();
        assert_eq!(problems(|p| check_redirect_uris(&many, false, p)).len(), 1);
        assert_eq!(
            unique(vec!["a".into(), "b".into(), "a".into()]),
            ["a".to_owned(), "b".to_owned()]
        );
    }
}
