//! The rules an app's registration must meet (SPEC section 11), the same through the admin API,
//! the developer console and the `verity admin` command. Each check adds a sentence a person can
//! act on to a list, so that one submission reports every problem at once.

use std::net::IpAddr;

use serde_json::Value;

use crate::identity::Family;
use crate::keys::{Alg, MAX_SIGNED_TTL};
use crate::net;
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
/// sandbox neither `localhost` nor an internal address in any spelling ([`net::internal`]:
/// `127.1`, `[::ffff:127.0.0.1]`, `[::a9fe:a9fe]` ...) unless the operator allowed its block
/// (`allow`, the `VERITY_OUTBOUND_ALLOW` setting). Only literal addresses can be judged here; a
/// host name is judged again each time Verity connects, after it is resolved.
pub fn check_server_url(
    what: &str,
    raw: &str,
    sandbox: bool,
    allow: &[net::Cidr],
    problems: &mut Problems,
) {
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
    if u.scheme() != "https" {
        problems.push(format!("{what} {raw:?} must be an https URL"));
        return;
    }
    let ip = match u.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            if d == "localhost" || d.ends_with(".localhost") {
                problems.push(format!(
                    "{what} {raw:?} names {d}, this machine: Verity calls only public hosts"
                ));
            }
            return;
        }
        None => {
            problems.push(format!("{what} {raw:?} has no host"));
            return;
        }
    };
    let policy = net::OutboundPolicy {
        allow: allow.to_vec(),
        loopback: false,
    };
    if let Err(why) = policy.check(ip) {
        problems.push(format!(
            "{what} {raw:?} points at {ip}, an internal address ({why}): Verity calls only \
             public hosts"
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
        let check = |raw: &str, allow: &[net::Cidr]| {
            problems(|p| check_server_url("jwks_uri", raw, false, allow, p))
        };
        for (bad, says) in [
            ("http://example.com/jwks", "must be an https URL"),
            ("not a url", "not an absolute URL"),
            ("https://localhost/jwks", "names localhost, this machine"),
            ("https://a.localhost/jwks", "names a.localhost"),
            ("https://LOCALHOST./jwks", "names localhost"),
            // Every spelling of an internal address, the among them.
            (
                "https://127.0.0.1/jwks",
                "127.0.0.1, an internal address (loopback 127.0.0.0/8)",
            ),
            ("https://127.1/jwks", "points at 127.0.0.1"),
            ("https://0x7f.0.0.1/jwks", "points at 127.0.0.1"),
            ("https://2130706433/jwks", "points at 127.0.0.1"),
            ("https://0177.0.0.01/jwks", "points at 127.0.0.1"),
            ("https://0/jwks", "points at 0.0.0.0"),
            ("https://10.1.2.3/jwks", "private 10.0.0.0/8"),
            ("https://100.64.0.1/jwks", "shared address space"),
            (
                "https://169.254.169.254/latest",
                "link-local 169.254.0.0/16",
            ),
            ("https://198.18.0.1/jwks", "benchmarking"),
            ("https://192.0.2.1/jwks", "documentation"),
            ("https://224.0.0.1/jwks", "multicast"),
            ("https://255.255.255.255/jwks", "broadcast"),
            (
                "https://[::1]/jwks",
                "points at ::1, an internal address (loopback ::1/128)",
            ),
            ("https://[::]/jwks", "unspecified"),
            ("https://[fd00::1]/jwks", "unique-local"),
            (
                "https://[fe80::1]/",
                "points at fe80::1, an internal address (link-local fe80::/10)",
            ),
            (
                "https://[::ffff:127.0.0.1]:8443/jwks",
                "(IPv4-mapped 127.0.0.1, loopback 127.0.0.0/8)",
            ),
            (
                "https://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data",
                "(IPv4-mapped 169.254.169.254, link-local 169.254.0.0/16)",
            ),
            ("https://[::ffff:7f00:1]/jwks", "IPv4-mapped 127.0.0.1"),
            ("https://[::127.0.0.1]/jwks", "IPv4-compatible 127.0.0.1"),
            ("https://[64:ff9b::a9fe:a9fe]/jwks", "NAT64 169.254.169.254"),
            ("https://[2002:a00:1::1]/jwks", "6to4 10.0.0.1"),
        ] {
            let found = check(bad, &[]);
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert!(found[0].contains(says), "{bad}: {found:?}");
        }
        for good in [
            "https://rp.example/jwks",
            "https://93.184.216.34/jwks",
            "https://[2606:4700:4700::1111]/jwks",
            "https://[::ffff:93.184.216.34]/jwks",
        ] {
            assert!(check(good, &[]).is_empty(), "{good}");
        }
        // The blocks the operator allowed, in any spelling; nothing more.
        let allow = net::parse_list("10.0.0.0/8").unwrap();
        assert!(check("https://10.1.2.3/jwks", &allow).is_empty());
        assert!(check("https://[::ffff:10.1.2.3]/jwks", &allow).is_empty());
        assert_eq!(check("https://127.0.0.1/jwks", &allow).len(), 1);
        // The sandbox calls local test servers.
        assert!(
            problems(|p| check_server_url("jwks_uri", "http://127.0.0.1:9/j", true, &[], p))
                .is_empty()
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
