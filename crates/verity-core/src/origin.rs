//! Which web origins may read an app's answers from a browser (CORS, Fetch standard 3.2): the
//! origins of the app's registered `http(s)` redirect URIs, and the `allowed_origins` it lists
//! (SPEC section 11) — as Keycloak's "web origins" `+` and node-oidc-provider's client-based CORS.
//!
//! An origin is compared in its serialized form (RFC 6454 6.2: `scheme://host[:port]`, the host
//! lowercased, the default port left out), which is what a browser sends in `Origin`.

use crate::registration::Problems;

/// The most `allowed_origins` one app lists.
pub const MAX_ALLOWED_ORIGINS: usize = 20;

/// The serialized origin of an `http` or `https` URL; `None` for anything else (a private-use
/// redirect scheme of a native app has no web origin).
pub fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let origin = u.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Checks and normalizes an app's `allowed_origins`: each an origin alone (no path, query,
/// fragment or credentials), `https`, or `http` on a loopback host or in the sandbox. Returns
/// them serialized, without duplicates; each problem is added to `problems`.
pub fn allowed_origins(raw: &[String], sandbox: bool, problems: &mut Problems) -> Vec<String> {
    if raw.len() > MAX_ALLOWED_ORIGINS {
        problems.push(format!(
            "allowed_origins takes at most {MAX_ALLOWED_ORIGINS} origins"
        ));
    }
    let mut origins: Vec<String> = Vec::new();
    for given in raw {
        match parse_origin(given, sandbox) {
            Ok(o) => {
                if !origins.contains(&o) {
                    origins.push(o);
                }
            }
            Err(why) => problems.push(format!("allowed origin {given:?} {why}")),
        }
    }
    origins
}

fn parse_origin(given: &str, sandbox: bool) -> Result<String, &'static str> {
    let u = url::Url::parse(given.trim()).map_err(|_| {
        "is not an origin (a scheme and a host, with a port if needed: https://app.example.com)"
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("must be https (http only on a loopback host or in the sandbox)");
    }
    let bare = u.path() == "/" && u.query().is_none();
    if !bare || u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err("must be an origin alone, without a path, query or credentials");
    }
    let loopback = matches!(
        u.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || u.host_str() == Some("localhost");
    if u.scheme() == "http" && !(loopback || sandbox) {
        return Err("must be https (http only on a loopback host or in the sandbox)");
    }
    origin_of(u.as_str()).ok_or("is not an origin")
}

/// Whether `origin` (an `Origin` header's value) may read the answers given to an app with
/// these redirect URIs and allowed origins. `null` and anything malformed never may.
pub fn allows(redirect_uris: &[String], allowed_origins: &[String], origin: &str) -> bool {
    if origin == "null" || origin.is_empty() {
        return false;
    }
    allowed_origins.iter().any(|o| o == origin)
        || redirect_uris
            .iter()
            .any(|u| origin_of(u).is_some_and(|o| o == origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn origins_are_serialized_as_browsers_send_them() {
        assert_eq!(
            origin_of("https://App.Example.com/cb?x=1").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("https://app.example.com:443/cb").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:5173/callback.html").as_deref(),
            Some("http://127.0.0.1:5173")
        );
        assert_eq!(origin_of("com.example.app:/callback"), None);
        assert_eq!(origin_of("not a url"), None);
    }

    #[test]
    fn allowed_origins_are_checked_and_normalized() {
        let mut problems = Problems::new();
        let got = allowed_origins(
            &list(&[
                "https://SPA.example.com",
                "https://spa.example.com/",
                "http://localhost:3000",
                "http://127.0.0.1:8080",
            ]),
            false,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            got,
            list(&[
                "https://spa.example.com",
                "http://localhost:3000",
                "http://127.0.0.1:8080"
            ])
        );
        for bad in [
            "https://spa.example.com/app",
            "https://spa.example.com?x",
            "https://spa.example.com/#f",
            "https://user:pw@spa.example.com",
            "http://spa.example.com",
            "ftp://spa.example.com",
            "spa.example.com",
            "null",
            "*",
        ] {
            let mut problems = Problems::new();
            let got = allowed_origins(&list(&[bad]), false, &mut problems);
            assert!(got.is_empty() && problems.len() == 1, "{bad}: {problems:?}");
            assert!(problems[0].contains(bad), "{problems:?}");
        }
        let mut problems = Problems::new();
        allowed_origins(&list(&["http://spa.test"]), true, &mut problems);
        assert!(problems.is_empty(), "the sandbox allows http: {problems:?}");
        let many: Vec<String> = (0..=MAX_ALLOWED_ORIGINS)
            .map(|i| format!("https://a{i}.example.com"))
            .collect();
        let mut problems = Problems::new();
        allowed_origins(&many, false, &mut problems);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn an_origin_is_allowed_by_a_redirect_uri_or_the_list_only() {
        let redirects = list(&["https://app.example.com/cb", "com.example.app:/cb"]);
        let allowed = list(&["https://admin.example.com"]);
        assert!(allows(&redirects, &allowed, "https://app.example.com"));
        assert!(allows(&redirects, &allowed, "https://admin.example.com"));
        for refused in [
            "https://evil.example.com",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.evil.test",
            "null",
            "",
            "com.example.app:",
        ] {
            assert!(!allows(&redirects, &allowed, refused), "{refused}");
        }
    }
}
