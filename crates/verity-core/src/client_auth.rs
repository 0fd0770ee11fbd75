//! Client credentials at the token endpoint (RFC 6749 section 2.3.1).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Credentials from an `Authorization: Basic` header: the id and secret are each
/// `application/x-www-form-urlencoded` before being joined with `:` and base64-encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                out.push(v);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Parses the value of an `Authorization` header. `None` when it is not `Basic`; `Some(Err)` when
/// it is `Basic` but malformed.
pub fn parse_basic(header: &str) -> Option<Result<BasicCredentials, &'static str>> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    Some((|| {
        let raw = STANDARD
            .decode(rest.trim())
            .map_err(|_| "the Basic credentials are not base64")?;
        let text = String::from_utf8(raw).map_err(|_| "the Basic credentials are not UTF-8")?;
        let (id, secret) = text
            .split_once(':')
            .ok_or("the Basic credentials have no ':'")?;
        let client_id = form_decode(id).ok_or("the client id is not form-urlencoded")?;
        let client_secret =
            form_decode(secret).ok_or("the client secret is not form-urlencoded")?;
        if client_id.is_empty() {
            return Err("the Basic credentials have an empty client id");
        }
        Ok(BasicCredentials {
            client_id,
            client_secret,
        })
    })())
}

/// The token from an `Authorization: Bearer` header (RFC 6750 2.1), if that is the scheme.
pub fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_form_encoded_parts() {
        // "my%3Aclient:s%2Bcret+x" -> id "my:client", secret "s+cret x"
        let header = format!("Basic {}", STANDARD.encode("my%3Aclient:s%2Bcret+x"));
        let c = parse_basic(&header).unwrap().unwrap();
        assert_eq!(c.client_id, "my:client");
        assert_eq!(c.client_secret, "s+cret x");
        assert!(!format!("{c:?}").contains("s+cret"));
    }

    #[test]
    fn refuses_malformed() {
        assert!(parse_basic("Bearer abc").is_none());
        assert!(parse_basic("Basic !!!").unwrap().is_err());
        assert!(
            parse_basic(&format!("Basic {}", STANDARD.encode("nocolon")))
                .unwrap()
                .is_err()
        );
        assert!(
            parse_basic(&format!("Basic {}", STANDARD.encode("a%zz:b")))
                .unwrap()
                .is_err()
        );
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer  abc "), Some("abc"));
        assert_eq!(parse_bearer("Basic abc"), None);
    }

    proptest! {
        #[test]
        fn header_parsers_never_panic(h in ".{0,200}") {
            let _ = parse_basic(&h);
            let _ = parse_bearer(&h);
        }
    }
}
