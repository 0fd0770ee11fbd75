//! The client: one provider, one registration. Discovery is fetched once when it is built; the
//! JWKS is cached and fetched again for an unknown `kid` at most once per interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use crate::authorize::{AuthorizationRequest, CallbackQuery, PendingAuthorization};
use crate::config::{ClientAuth, ClientConfig, Secret};
use crate::discovery::{Metadata, discovery_url};
use crate::dpop::{DpopKey, NonceCache, ProofFor};
use crate::error::{Error, IdTokenError, JoseError, UserInfoError};
use crate::id_token::{Expectations, IdToken, check_claims};
use crate::identity::{Attributes, Identity, parse_attributes};
use crate::jose::{Jws, KeySet, parse_jwks};
use crate::token::{Tokens, parse_token_body};
use crate::userinfo::{UserInfo, UserInfoBody, parse_userinfo_body};
use crate::verified::Verified;

/// The largest answer read from the provider; anything larger is refused unread.
pub const MAX_BODY: usize = 256 * 1024;

/// One body received from the provider, kept as it came for auditing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawResponse {
    /// `token`, `userinfo`, `attributes`, ...
    pub endpoint: &'static str,
    pub status: u16,
    pub content_type: Option<String>,
    /// The body as text (invalid UTF-8 replaced); cut at [`MAX_BODY`].
    pub body: String,
    pub received_at: i64,
}

/// Where raw bodies go while a flow runs, so they are kept even when the flow fails.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    pub responses: Vec<RawResponse>,
}

struct JwksState {
    keys: Arc<KeySet>,
    fetched_at: Option<i64>,
}

struct Inner {
    config: ClientConfig,
    metadata: Metadata,
    http: reqwest::Client,
    /// Held across a fetch, so concurrent verifications share one JWKS request.
    jwks: tokio::sync::Mutex<JwksState>,
    jwks_fetches: AtomicU64,
    /// The provider's latest `DPoP-Nonce` (RFC 9449 8).
    dpop_nonces: NonceCache,
}

/// A relying party bound to one provider. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("issuer", &self.inner.metadata.issuer)
            .finish_non_exhaustive()
    }
}

fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        // Back-channel answers are never followed elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("verity-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| Error::Http {
            endpoint: "client",
            source,
        })
}

/// Reads at most `limit` bytes of a body.
async fn read_limited(
    endpoint: &'static str,
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Error> {
    if resp.content_length().is_some_and(|l| l > limit as u64) {
        return Err(Error::TooLarge { endpoint, limit });
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|source| Error::Http { endpoint, source })?
    {
        if buf.len() + chunk.len() > limit {
            return Err(Error::TooLarge { endpoint, limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// A fetched answer: status, content type, body, and the headers DPoP reads.
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    /// RFC 9449 8: `DPoP-Nonce`.
    pub(crate) dpop_nonce: Option<String>,
    pub(crate) www_authenticate: Option<String>,
}

impl Fetched {
    /// An OAuth error body becomes [`Error::Provider`], any other failure [`Error::Status`].
    pub(crate) fn ok(self, endpoint: &'static str) -> Result<Self, Error> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&self.body)
            && let Some(error) = m.get("error").and_then(Value::as_str)
        {
            return Err(Error::Provider {
                endpoint,
                error: error.to_owned(),
                description: m
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        }
        Err(Error::Status {
            endpoint,
            status: self.status,
        })
    }
}

impl Client {
    /// Fetches and checks the discovery document of `config.issuer` (Discovery 4), then the JWKS.
    pub async fn discover(config: ClientConfig) -> Result<Self, Error> {
        let http = http_client()?;
        let resp = http
            .get(discovery_url(&config.issuer))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|source| Error::Http {
                endpoint: "discovery",
                source,
            })?;
        let status = resp.status().as_u16();
        let body = read_limited("discovery", resp, MAX_BODY).await?;
        if !(200..300).contains(&status) {
            return Err(Error::Status {
                endpoint: "discovery",
                status,
            });
        }
        let metadata = Metadata::parse(&body).map_err(|e| Error::Malformed {
            endpoint: "discovery",
            reason: e.to_string(),
        })?;
        Self::from_metadata(config, metadata)
    }

    /// A client from metadata the caller already has (cached, or configured by hand).
    pub fn from_metadata(config: ClientConfig, metadata: Metadata) -> Result<Self, Error> {
        metadata.check(&config.issuer, config.insecure_allow_http)?;
        if config.client_id.is_empty() {
            return Err(Error::Config("client_id is empty".into()));
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http: http_client()?,
                config,
                metadata,
                jwks: tokio::sync::Mutex::new(JwksState {
                    keys: Arc::new(KeySet::default()),
                    fetched_at: None,
                }),
                jwks_fetches: AtomicU64::new(0),
                dpop_nonces: NonceCache::default(),
            }),
        })
    }

    /// The provider's discovery document, as checked at [`Client::discover`].
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.config.clock.now()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn dpop_nonces(&self) -> &NonceCache {
        &self.inner.dpop_nonces
    }

    /// How many times the JWKS was fetched (for monitoring, and tests of the refetch limit).
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.jwks_fetches.load(Ordering::Relaxed)
    }

    /// Starts an authorization request; `openid` is already in its scopes.
    pub fn authorization_request(&self) -> AuthorizationRequest {
        AuthorizationRequest::new(
            &self.inner.metadata.authorization_endpoint,
            &self.inner.config.client_id,
            &self.inner.config.redirect_uri,
        )
    }

    pub(crate) async fn fetch(
        &self,
        endpoint: &'static str,
        req: reqwest::RequestBuilder,
        audit: Option<&mut AuditLog>,
    ) -> Result<Fetched, Error> {
        let resp = req
            .send()
            .await
            .map_err(|source| Error::Http { endpoint, source })?;
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE.as_str());
        let dpop_nonce = header("dpop-nonce");
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE.as_str());
        let body = read_limited(endpoint, resp, MAX_BODY).await;
        if let Some(log) = audit {
            log.responses.push(RawResponse {
                endpoint,
                status,
                content_type: content_type.clone(),
                body: match &body {
                    Ok(b) => String::from_utf8_lossy(b).into_owned(),
                    Err(e) => format!("[not kept: {e}]"),
                },
                received_at: self.now(),
            });
        }
        Ok(Fetched {
            status,
            content_type,
            body: body?,
            dpop_nonce,
            www_authenticate,
        })
    }

    async fn fetch_jwks(&self) -> Result<KeySet, Error> {
        self.inner.jwks_fetches.fetch_add(1, Ordering::Relaxed);
        let req = self.inner.http.get(&self.inner.metadata.jwks_uri);
        let f = self.fetch("jwks", req, None).await?.ok("jwks")?;
        Ok(parse_jwks(&f.body)?)
    }

    /// The provider's keys as currently cached (fetched when never fetched).
    pub async fn keys(&self) -> Result<Arc<KeySet>, Error> {
        let mut state = self.inner.jwks.lock().await;
        if state.fetched_at.is_none() {
            state.keys = Arc::new(self.fetch_jwks().await?);
            state.fetched_at = Some(self.now());
        }
        Ok(state.keys.clone())
    }

    /// Verifies a JWS against the provider's JWKS; an unknown `kid` fetches the JWKS again, at
    /// most once per `jwks_refetch_interval`.
    pub async fn verify_jws(&self, jws: &Jws) -> Result<crate::jose::Alg, Error> {
        // The algorithm is refused before any key is fetched.
        jws.alg()?;
        let keys = self.keys().await?;
        match jws.verify(&keys.keys) {
            Err(JoseError::UnknownKey(kid)) => {
                let mut state = self.inner.jwks.lock().await;
                let now = self.now();
                let stale = !Arc::ptr_eq(&state.keys, &keys)
                    || state
                        .fetched_at
                        .is_none_or(|t| now - t >= self.inner.config.jwks_refetch_interval);
                if !stale {
                    return Err(JoseError::UnknownKey(kid).into());
                }
                if Arc::ptr_eq(&state.keys, &keys) {
                    state.keys = Arc::new(self.fetch_jwks().await?);
                    state.fetched_at = Some(now);
                }
                Ok(jws.verify(&state.keys.keys)?)
            }
            other => Ok(other?),
        }
    }

    /// Validates an ID token by OIDC Core 3.1.3.7: signature (RS256/ES256, key by `kid`), then
    /// the claims.
    pub async fn validate_id_token(
        &self,
        raw: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
        max_age: Option<u64>,
    ) -> Result<IdToken, Error> {
        let jws = Jws::parse(raw).map_err(IdTokenError::from)?;
        let alg = match self.verify_jws(&jws).await {
            Ok(alg) => alg,
            Err(Error::Jose(e)) => return Err(IdTokenError::Jose(e).into()),
            Err(e) => return Err(e),
        };
        let c = &self.inner.config;
        let subject = check_claims(
            &jws.claims,
            &Expectations {
                issuer: &self.inner.metadata.issuer,
                client_id: &c.client_id,
                trusted_audiences: &c.trusted_audiences,
                nonce,
                access_token,
                max_age,
                now: self.now(),
                skew: c.skew,
            },
        )?;
        Ok(IdToken {
            raw: raw.to_owned(),
            alg,
            subject,
            claims: jws.claims,
        })
    }

    /// Adds client authentication to a token-endpoint-style request.
    fn authenticate(
        &self,
        req: reqwest::RequestBuilder,
        form: &mut Vec<(&str, String)>,
        audience: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let c = &self.inner.config;
        Ok(match &c.auth {
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 2.3.1: both are form-urlencoded before Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", enc(&c.client_id), enc(secret.expose()));
                req.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(pair)),
                )
            }
            ClientAuth::SecretPost(secret) => {
                form.push(("client_id", c.client_id.clone()));
                form.push(("client_secret", secret.expose().to_owned()));
                req
            }
            ClientAuth::PrivateKeyJwt(key) => {
                form.push(("client_id", c.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push((
                    "client_assertion",
                    key.assertion(&c.client_id, audience, self.now())?,
                ));
                req
            }
            ClientAuth::None => {
                form.push(("client_id", c.client_id.clone()));
                req
            }
        })
    }

    /// A form POST to `url` (token, PAR) with the client's authentication, its
    /// assertion for `audience`.
    pub(crate) fn authenticated_post(
        &self,
        url: &str,
        form: &[(&str, String)],
        audience: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut form = form.to_vec();
        let req = self
            .inner
            .http
            .post(url)
            .header("accept", "application/json");
        let req = self.authenticate(req, &mut form, audience)?;
        Ok(req.form(&form))
    }

    /// A token request; with a DPoP proof by `dpop` when given (RFC 9449 5).
    async fn post_token(
        &self,
        form: Vec<(&'static str, String)>,
        dpop: Option<&DpopKey>,
        audit: Option<&mut AuditLog>,
    ) -> Result<crate::token::RawTokens, Error> {
        let endpoint = &self.inner.metadata.token_endpoint;
        let build = || self.authenticated_post(endpoint, &form, endpoint);
        let proof = dpop.map(|key| ProofFor {
            key,
            method: "POST",
            url: endpoint,
            access_token: None,
        });
        let f = self
            .send_with_proof("token", proof, build, audit)
            .await?
            .ok("token")?;
        parse_token_body(&f.body, dpop.is_some()).map_err(|reason| Error::Malformed {
            endpoint: "token",
            reason,
        })
    }

    /// Checks the callback (`state`, then `error`), exchanges the code (RFC 6749 4.1.3 with the
    /// PKCE verifier) and validates the ID token. A token answer without an ID token is refused:
    /// this is an OpenID Connect client.
    pub async fn exchange_code(
        &self,
        callback: &CallbackQuery,
        pending: &PendingAuthorization,
        audit: Option<&mut AuditLog>,
    ) -> Result<Tokens, Error> {
        let code = callback.code_for(pending, &self.inner.metadata.issuer)?;
        // RFC 9449: a fresh key per sign-in, kept with the tokens it binds.
        let dpop = match self.inner.config.dpop {
            true => Some(DpopKey::generate()?),
            false => None,
        };
        let raw = self
            .post_token(
                vec![
                    ("grant_type", "authorization_code".into()),
                    ("code", code),
                    ("redirect_uri", pending.redirect_uri.clone()),
                    ("code_verifier", pending.code_verifier.clone()),
                ],
                dpop.as_ref(),
                audit,
            )
            .await?;
        let id_raw = raw.id_token.as_deref().ok_or(IdTokenError::Missing)?;
        let id_token = self
            .validate_id_token(
                id_raw,
                Some(&pending.nonce),
                Some(&raw.access_token),
                pending.max_age,
            )
            .await?;
        crate::id_token::check_acr(&id_token.claims, &pending.acr_values)?;
        Ok(Tokens {
            access_token: Secret::new(raw.access_token),
            token_type: raw.token_type,
            expires_in: raw.expires_in,
            scope: raw.scope,
            refresh_token: raw.refresh_token.map(Secret::new),
            id_token: Some(id_token),
            dpop,
        })
    }

    /// Refreshes (RFC 6749 6). A new ID token, when sent, must be for the same `sub` (OIDC Core
    /// 12.2). Prefer [`crate::Session::refresh`], which shares one refresh among callers.
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        subject: Option<&str>,
    ) -> Result<Tokens, Error> {
        self.refresh_with(refresh_token, subject, None).await
    }

    /// [`Client::refresh`] with a DPoP proof by `dpop`, the key of the tokens refreshed (RFC
    /// 9449 5): the new tokens are bound to it, and keep it.
    pub async fn refresh_with(
        &self,
        refresh_token: &Secret,
        subject: Option<&str>,
        dpop: Option<&DpopKey>,
    ) -> Result<Tokens, Error> {
        let raw = self
            .post_token(
                vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", refresh_token.expose().to_owned()),
                ],
                dpop,
                None,
            )
            .await?;
        let id_token = match raw.id_token.as_deref() {
            Some(t) => {
                let id = self
                    .validate_id_token(t, None, Some(&raw.access_token), None)
                    .await?;
                if let Some(expected) = subject
                    && id.subject != expected
                {
                    return Err(IdTokenError::Subject {
                        expected: expected.to_owned(),
                        found: id.subject,
                    }
                    .into());
                }
                Some(id)
            }
            None => None,
        };
        Ok(Tokens {
            access_token: Secret::new(raw.access_token),
            token_type: raw.token_type,
            expires_in: raw.expires_in,
            scope: raw.scope,
            // RFC 6749 6: when no new refresh token comes, the old one stays valid.
            refresh_token: Some(
                raw.refresh_token
                    .map(Secret::new)
                    .unwrap_or_else(|| refresh_token.clone()),
            ),
            id_token,
            dpop: dpop.cloned(),
        })
    }

    /// RFC 7009 revocation of an access or refresh token.
    pub async fn revoke(&self, token: &Secret, hint: Option<&str>) -> Result<(), Error> {
        let endpoint = required(
            self.inner.metadata.revocation_endpoint.as_deref(),
            "revocation_endpoint",
        )?;
        let mut form = vec![("token", token.expose().to_owned())];
        if let Some(h) = hint {
            form.push(("token_type_hint", h.to_owned()));
        }
        let req = self.inner.http.post(endpoint);
        let req = self.authenticate(req, &mut form, endpoint)?;
        self.fetch("revocation", req.form(&form), None)
            .await?
            .ok("revocation")?;
        Ok(())
    }

    /// OIDC RP-initiated logout (with ID.me's `client_id` and `redirect_uri` as well).
    pub fn logout_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Url, Error> {
        let endpoint = required(
            self.inner.metadata.end_session_endpoint.as_deref(),
            "end_session_endpoint",
        )?;
        let mut url = Url::parse(endpoint)
            .map_err(|e| Error::Config(format!("end_session_endpoint: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.inner.config.client_id);
            if let Some(h) = id_token_hint {
                q.append_pair("id_token_hint", h);
            }
            if let Some(r) = post_logout_redirect_uri {
                q.append_pair("post_logout_redirect_uri", r);
                q.append_pair("redirect_uri", r);
            }
            if let Some(s) = state {
                q.append_pair("state", s);
            }
        }
        Ok(url)
    }

    /// Userinfo in any of its three forms; a JWT's signature is verified, and `sub` must be
    /// `expected_sub` (OIDC Core 5.3.2).
    pub async fn userinfo(
        &self,
        access_token: &Secret,
        expected_sub: &str,
        audit: Option<&mut AuditLog>,
    ) -> Result<UserInfo, Error> {
        self.userinfo_bound(access_token, None, expected_sub, audit)
            .await
    }

    /// [`Client::userinfo`] with `tokens`' access token, presented with a DPoP proof when it is
    /// bound to their key.
    pub async fn userinfo_for(
        &self,
        tokens: &Tokens,
        expected_sub: &str,
        audit: Option<&mut AuditLog>,
    ) -> Result<UserInfo, Error> {
        self.userinfo_bound(
            &tokens.access_token,
            tokens.bound_key(),
            expected_sub,
            audit,
        )
        .await
    }

    async fn userinfo_bound(
        &self,
        access_token: &Secret,
        dpop: Option<&DpopKey>,
        expected_sub: &str,
        audit: Option<&mut AuditLog>,
    ) -> Result<UserInfo, Error> {
        let endpoint = required(
            self.inner.metadata.userinfo_endpoint.as_deref(),
            "userinfo_endpoint",
        )?;
        let f = self
            .get_resource("userinfo", endpoint, access_token, dpop, audit)
            .await?
            .ok("userinfo")?;
        let (claims, signed) = match parse_userinfo_body(f.content_type.as_deref(), &f.body)? {
            UserInfoBody::Claims(c) => (c, false),
            UserInfoBody::Jwt(jwt) => {
                let jws = Jws::parse(&jwt).map_err(UserInfoError::from)?;
                match self.verify_jws(&jws).await {
                    Ok(_) => {}
                    Err(Error::Jose(e)) => return Err(UserInfoError::Jose(e).into()),
                    Err(e) => return Err(e),
                }
                self.check_signed_userinfo(&jws.claims)?;
                (jws.claims, true)
            }
        };
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if sub != expected_sub {
            return Err(UserInfoError::Subject {
                expected: expected_sub.to_owned(),
                found: sub.to_owned(),
            }
            .into());
        }
        Ok(UserInfo { claims, signed })
    }

    /// OIDC Core 5.3.2: a signed userinfo should carry `iss` and `aud`; when present they must be
    /// ours, and `exp` must not have passed.
    fn check_signed_userinfo(&self, claims: &Map<String, Value>) -> Result<(), UserInfoError> {
        if let Some(iss) = claims.get("iss")
            && iss.as_str() != Some(self.inner.metadata.issuer.as_str())
        {
            return Err(UserInfoError::Issuer(iss.to_string()));
        }
        if let Some(aud) = claims.get("aud") {
            let id = self.inner.config.client_id.as_str();
            let ok = match aud {
                Value::String(s) => s == id,
                Value::Array(a) => a.iter().any(|v| v.as_str() == Some(id)),
                _ => false,
            };
            if !ok {
                return Err(UserInfoError::Audience);
            }
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
            && self.now() >= exp + self.inner.config.skew
        {
            return Err(UserInfoError::Expired);
        }
        Ok(())
    }

    /// ID.me's `attributes.json`; `Ok(None)` when the provider has no such endpoint (404).
    pub async fn attributes(
        &self,
        access_token: &Secret,
        audit: Option<&mut AuditLog>,
    ) -> Result<Option<Attributes>, Error> {
        self.attributes_bound(access_token, None, audit).await
    }

    /// [`Client::attributes`] with `tokens`' access token, presented with a DPoP proof when it
    /// is bound to their key.
    pub async fn attributes_for(
        &self,
        tokens: &Tokens,
        audit: Option<&mut AuditLog>,
    ) -> Result<Option<Attributes>, Error> {
        self.attributes_bound(&tokens.access_token, tokens.bound_key(), audit)
            .await
    }

    async fn attributes_bound(
        &self,
        access_token: &Secret,
        dpop: Option<&DpopKey>,
        audit: Option<&mut AuditLog>,
    ) -> Result<Option<Attributes>, Error> {
        let Some(endpoint) = self.inner.metadata.attributes_endpoint() else {
            return Ok(None);
        };
        let f = self
            .get_resource("attributes", &endpoint, access_token, dpop, audit)
            .await?;
        if f.status == 404 {
            return Ok(None);
        }
        let f = f.ok("attributes")?;
        parse_attributes(&f.body)
            .map(Some)
            .ok_or_else(|| Error::Malformed {
                endpoint: "attributes",
                reason: "not an attributes document".into(),
            })
    }

    /// The whole return leg in order: callback, code exchange, ID token, userinfo (same `sub`),
    /// attributes. Every raw body lands in `audit`, also when a step fails.
    pub async fn complete(
        &self,
        callback: &CallbackQuery,
        pending: &PendingAuthorization,
        audit: &mut AuditLog,
    ) -> Result<Verified, Error> {
        let tokens = self.exchange_code(callback, pending, Some(audit)).await?;
        let id_token = tokens.id_token.clone().ok_or(IdTokenError::Missing)?;
        let userinfo = self
            .userinfo_for(&tokens, &id_token.subject, Some(audit))
            .await?;
        let attributes = self.attributes_for(&tokens, Some(audit)).await?;
        let identity =
            Identity::from_parts(&id_token.subject, &userinfo.claims, attributes.as_ref());
        Ok(Verified {
            tokens,
            id_token,
            userinfo,
            attributes,
            identity,
        })
    }
}

/// An endpoint the discovery document may omit, needed by the call at hand.
fn required<'a>(endpoint: Option<&'a str>, name: &str) -> Result<&'a str, Error> {
    endpoint.ok_or_else(|| Error::Config(format!("the provider has no {name}")))
}
