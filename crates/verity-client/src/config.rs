//! What a relying party is: its issuer, its registration, how it authenticates, its tolerances.

use std::fmt;
use std::sync::Arc;

use crate::assertion::PrivateKey;

/// A secret that prints as `[redacted]` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// How the client authenticates at the token, revocation and introspection endpoints.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret, each form-urlencoded first (RFC 6749 2.3.1).
    SecretBasic(Secret),
    /// `client_id` and `client_secret` in the form body.
    SecretPost(Secret),
    /// A signed client assertion (RFC 7523, OIDC Core 9): an RS256 or ES256 PKCS#8 key.
    PrivateKeyJwt(PrivateKey),
    /// A public client: only `client_id`; PKCE protects the code.
    None,
}

/// The time in seconds since the Unix epoch. Tests inject their own.
pub trait Clock: Send + Sync {
    /// Now, in seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// A relying party's registration and tolerances.
#[derive(Clone)]
pub struct ClientConfig {
    /// The issuer URL exactly as the provider spells it (`https://api.idmelabs.com/oidc`).
    pub issuer: String,
    pub client_id: String,
    pub auth: ClientAuth,
    /// Registered redirect URI, compared by the provider character for character.
    pub redirect_uri: String,
    /// Clock skew tolerated on `exp`, `iat` and `nbf` (seconds).
    pub skew: i64,
    /// Fetch the JWKS again for an unknown `kid` at most this often (seconds).
    pub jwks_refetch_interval: i64,
    /// Other audiences an ID token may also name (OIDC Core 3.1.3.7 step 3). Usually empty.
    pub trusted_audiences: Vec<String>,
    /// Allows `http` endpoints on hosts other than loopback. For tests against a local provider
    /// reached by a name; never in production.
    pub insecure_allow_http: bool,
    pub clock: Arc<dyn Clock>,
    /// RFC 9126: [`crate::Client::begin`] pushes the request when the provider offers PAR.
    pub pushed_requests: bool,
    /// RFC 9101: [`crate::Client::begin`] sends the request as an object signed with the
    /// `private_key_jwt` key (with any other authentication it is refused).
    pub request_objects: bool,
    /// RFC 9449: the tokens are bound to a fresh DPoP key per sign-in.
    pub dpop: bool,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("redirect_uri", &self.redirect_uri)
            .field("skew", &self.skew)
            .field("jwks_refetch_interval", &self.jwks_refetch_interval)
            .field("trusted_audiences", &self.trusted_audiences)
            .field("insecure_allow_http", &self.insecure_allow_http)
            .field("pushed_requests", &self.pushed_requests)
            .field("request_objects", &self.request_objects)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Defaults: 60 s of skew, JWKS fetched again at most every 60 s, the system clock; PAR
    /// when the provider offers it, no request objects, no DPoP.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        auth: ClientAuth,
        redirect_uri: impl Into<String>,
    ) -> Self {
        ClientConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            auth,
            redirect_uri: redirect_uri.into(),
            skew: 60,
            jwks_refetch_interval: 60,
            trusted_audiences: Vec::new(),
            insecure_allow_http: false,
            clock: Arc::new(SystemClock),
            pushed_requests: true,
            request_objects: false,
            dpop: false,
        }
    }

    /// Whether [`crate::Client::begin`] pushes requests (RFC 9126) when the provider offers it.
    pub fn pushed_requests(mut self, on: bool) -> Self {
        self.pushed_requests = on;
        self
    }

    /// Whether requests go as signed request objects (RFC 9101); needs
    /// [`ClientAuth::PrivateKeyJwt`].
    pub fn request_objects(mut self, on: bool) -> Self {
        self.request_objects = on;
        self
    }

    /// Whether tokens are bound to a DPoP key (RFC 9449).
    pub fn dpop(mut self, on: bool) -> Self {
        self.dpop = on;
        self
    }

    /// Another clock than the system's (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
    pub fn with_skew(mut self, seconds: i64) -> Self {
        self.skew = seconds;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_redacted() {
        let config = ClientConfig::new(
            "https://op.test",
            "app",
            ClientAuth::SecretBasic("hunter2".into()),
            "https://rp.test/cb",
        );
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("[redacted]"));
        assert_eq!(Secret::from("x").to_string(), "[redacted]");
    }
}
