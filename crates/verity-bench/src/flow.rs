//! The protocol side: one [`Agent`] per worker walks the authorization-code flow the way a
//! browser and a confidential client would (PKCE S256, `state`, `nonce`, client_secret_basic),
//! and calls the token, userinfo, introspection, JWKS and discovery endpoints.
//!
//! Every answer is checked for what a correct provider sends; anything else is an error carrying
//! the step, the status and the start of the body.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue, LOCATION};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::args::{Profile, Provider};
use crate::browser::{Form, Jar, forms};
use crate::dpop::DpopKey;

/// The provider's endpoints, from its discovery document.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub discovery: String,
    pub authorization: String,
    pub token: String,
    pub userinfo: String,
    pub jwks: String,
    pub introspection: Option<String>,
}

/// What every worker shares: where to go and as whom.
#[derive(Debug)]
pub struct Target {
    pub provider: Provider,
    pub issuer: String,
    pub endpoints: Endpoints,
    pub client_id: String,
    pub redirect_uri: String,
    pub username: String,
    pub password: String,
    pub scope: String,
    pub profile: Profile,
    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1), computed once.
    basic: HeaderValue,
    /// Tokens bound to each worker's DPoP key (`--dpop`).
    pub dpop: bool,
}

impl Target {
    /// The target of a run; the client credentials are encoded here, once.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: Provider,
        issuer: String,
        endpoints: Endpoints,
        client_id: String,
        client_secret: &str,
        redirect_uri: String,
        username: String,
        password: String,
        scope: String,
        profile: Profile,
    ) -> anyhow::Result<Self> {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", enc(&client_id), enc(client_secret));
        let basic = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))
            .context("client credentials")?;
        Ok(Self {
            provider,
            issuer,
            endpoints,
            client_id,
            redirect_uri,
            username,
            password,
            scope,
            profile,
            basic,
            dpop: false,
        })
    }
}

/// An HTTP client as the load tool uses it: HTTP/1.1 keep-alive, no redirects followed, no
/// proxy, a generous timeout.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(4)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")
}

/// Reads the discovery document of `issuer`.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> anyhow::Result<Endpoints> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let resp = http
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}: is the provider running?"))?;
    let resp = expect_status(resp, StatusCode::OK, "discovery").await?;
    let doc: Value = resp.json().await.context("discovery: not JSON")?;
    let field = |name: &str| -> anyhow::Result<String> {
        doc.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("discovery: no {name}"))
    };
    Ok(Endpoints {
        discovery: url.clone(),
        authorization: field("authorization_endpoint")?,
        token: field("token_endpoint")?,
        userinfo: field("userinfo_endpoint")?,
        jwks: field("jwks_uri")?,
        introspection: field("introspection_endpoint").ok(),
    })
}

/// The tokens of one grant.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub obtained: Instant,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

/// The latency of one step of an operation.
pub type Step = (&'static str, Duration);

/// A form to submit, the fields to send, and whether it is a sign-in form.
type Filled = (Form, Vec<(String, String)>, bool);

/// One worker's browser and client.
pub struct Agent {
    pub target: Arc<Target>,
    http: reqwest::Client,
    pub jar: Jar,
    /// This worker's DPoP key, with `--dpop`.
    dpop: Option<DpopKey>,
}

impl Agent {
    /// A worker with its own connection and an empty cookie jar.
    pub fn new(target: Arc<Target>) -> anyhow::Result<Self> {
        Ok(Self {
            dpop: target.dpop.then(DpopKey::generate).transpose()?,
            target,
            http: http_client()?,
            jar: Jar::default(),
        })
    }

    /// Sends with the jar's cookies and takes in the answer's.
    async fn browse(&mut self, req: RequestBuilder) -> anyhow::Result<Response> {
        let req = match self.jar.header() {
            Some(c) => req.header(COOKIE, c),
            None => req,
        };
        let resp = req.send().await?;
        self.jar.absorb(resp.headers());
        Ok(resp)
    }

    /// One authorization-code flow up to the tokens, signing in and consenting when the
    /// provider asks. Returns the tokens and whether a password was entered.
    pub async fn flow(&mut self, steps: &mut Vec<Step>) -> anyhow::Result<(Tokens, bool)> {
        let started = Instant::now();
        let verifier = random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            verifier.as_bytes(),
        ));
        let state = random_token(16);
        let nonce = random_token(16);
        let t = Arc::clone(&self.target);
        let mut url = Url::parse(&t.endpoints.authorization).context("authorization endpoint")?;
        url.query_pairs_mut()
            .append_pair("client_id", &t.client_id)
            .append_pair("redirect_uri", &t.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &t.scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let (code, signed_in) = self.navigate(url, &state).await?;
        steps.push(("authorize", started.elapsed()));

        let started = Instant::now();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &t.redirect_uri),
            ("code_verifier", &verifier),
        ];
        let tokens = self.token_request(&form, Some(&nonce)).await?;
        steps.push(("token", started.elapsed()));
        Ok((tokens, signed_in))
    }

    /// Follows the authorization request through redirects and forms until the redirect back
    /// to the client. Returns the code and whether a sign-in form was filled.
    async fn navigate(&mut self, start: Url, state: &str) -> anyhow::Result<(String, bool)> {
        let mut signed_in = false;
        let mut resp = self.browse(self.http.get(start)).await?;
        for _ in 0..12 {
            let here = resp.url().clone();
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| anyhow!("authorize: {status} without Location"))?;
                let next = here.join(location).context("authorize: bad Location")?;
                if next.as_str().starts_with(&self.target.redirect_uri) {
                    return Ok((callback_code(&next, state)?, signed_in));
                }
                resp = self.browse(self.http.get(next)).await?;
            } else if status == StatusCode::OK {
                let html = resp.text().await.context("authorize: reading a page")?;
                let (form, fields, is_sign_in) = self.fill(&html)?;
                signed_in |= is_sign_in;
                let action = here.join(&form.action).context("authorize: form action")?;
                resp = self
                    .browse(self.http.post(action).form(&fields))
                    .await
                    .context("authorize: posting a form")?;
            } else {
                return Err(unexpected("authorize", resp).await);
            }
        }
        bail!("authorize: more than 12 steps without reaching the redirect URI")
    }

    /// Chooses the form to submit on a page and its fields: the sign-in form with the
    /// credentials, or the consent form with "allow".
    fn fill(&self, html: &str) -> anyhow::Result<Filled> {
        let all = forms(html);
        let t = &self.target;
        if let Some(f) = all
            .iter()
            .find(|f| f.has_input("password") && !f.has_input("password_confirm"))
        {
            let mut fields: Vec<(String, String)> = Vec::new();
            for (name, value) in &f.inputs {
                let value = match name.as_str() {
                    "password" => t.password.clone(),
                    "email" | "login" | "username" => t.username.clone(),
                    _ => value.clone(),
                };
                fields.push((name.clone(), value));
            }
            return Ok((f.clone(), fields, true));
        }
        // Verity: consent, `decision=allow`.
        if let Some(f) = all.iter().find(|f| f.has_button("decision", "allow")) {
            let mut fields = f.inputs.clone();
            fields.push(("decision".into(), "allow".into()));
            return Ok((f.clone(), fields, false));
        }
        // node-oidc-provider's development consent: a form with a hidden `prompt=consent`
        // (a `/confirm` action in its older versions).
        if t.provider == Provider::NodeOidc
            && let Some(f) = all.iter().find(|f| {
                f.inputs
                    .iter()
                    .any(|(n, v)| n == "prompt" && v == "consent")
                    || f.action.ends_with("/confirm")
            })
        {
            return Ok((f.clone(), f.inputs.clone(), false));
        }
        if all.iter().any(|f| f.has_input("code")) {
            bail!("authorize: the provider asks for a second factor; use an account without one");
        }
        if all.iter().any(|f| f.has_button("decision", "verify")) {
            bail!("authorize: the provider asks for a verification; use other scopes or account");
        }
        bail!(
            "authorize: a page with no form to fill: {}",
            snippet(&strip_tags(html))
        )
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
        nonce: Option<&str>,
    ) -> anyhow::Result<Tokens> {
        let t = &self.target;
        let mut req = self
            .http
            .post(&t.endpoints.token)
            .header(AUTHORIZATION, t.basic.clone())
            .form(form);
        if let Some(key) = &self.dpop {
            req = req.header("dpop", key.proof("POST", &t.endpoints.token, None)?);
        }
        let resp = req.send().await.context("token: request")?;
        let resp = expect_status(resp, StatusCode::OK, "token").await?;
        let body: TokenBody = resp.json().await.context("token: not a token answer")?;
        if t.scope.split(' ').any(|s| s == "openid") {
            let id_token = body
                .id_token
                .as_deref()
                .ok_or_else(|| anyhow!("token: no id_token"))?;
            check_id_token(id_token, t, nonce)?;
        }
        Ok(Tokens {
            access: body.access_token,
            refresh: body.refresh_token,
            obtained: Instant::now(),
        })
    }

    /// RFC 6749 6: a refresh grant; the answer's refresh token replaces the old one.
    pub async fn refresh(&self, tokens: &Tokens) -> anyhow::Result<Tokens> {
        let refresh = tokens
            .refresh
            .as_deref()
            .ok_or_else(|| anyhow!("refresh: the provider issued no refresh token"))?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        let mut next = self.token_request(&form, None).await?;
        if next.refresh.is_none() {
            next.refresh = tokens.refresh.clone();
        }
        Ok(next)
    }

    /// The userinfo endpoint with a bearer token; the answer's form is checked against the
    /// profile.
    pub async fn userinfo(&self, access: &str) -> anyhow::Result<()> {
        let url = &self.target.endpoints.userinfo;
        let req = match &self.dpop {
            Some(key) => self
                .http
                .get(url)
                .header(AUTHORIZATION, format!("DPoP {access}"))
                .header("dpop", key.proof("GET", url, Some(access))?),
            None => self.http.get(url).bearer_auth(access),
        };
        let resp = req.send().await.context("userinfo: request")?;
        let resp = expect_status(resp, StatusCode::OK, "userinfo").await?;
        let jwt_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/jwt"));
        let body = resp.bytes().await.context("userinfo: body")?;
        let ok = match (self.target.profile, jwt_type) {
            (_, true) => body.iter().filter(|b| **b == b'.').count() == 2,
            (Profile::Idme, false) => matches!(
                serde_json::from_slice::<Value>(&body),
                Ok(Value::String(s)) if s.split('.').count() == 3
            ),
            (Profile::Oidc, false) => matches!(
                serde_json::from_slice::<Value>(&body),
                Ok(Value::Object(m)) if m.contains_key("sub")
            ),
        };
        ensure!(
            ok,
            "userinfo: not the {:?} form: {}",
            self.target.profile,
            snippet(&String::from_utf8_lossy(&body))
        );
        Ok(())
    }

    /// RFC 7662 with client_secret_basic; the token must be reported active.
    pub async fn introspect(&self, access: &str) -> anyhow::Result<()> {
        let t = &self.target;
        let endpoint = t
            .endpoints
            .introspection
            .as_deref()
            .ok_or_else(|| anyhow!("introspect: the provider has no introspection_endpoint"))?;
        let resp = self
            .http
            .post(endpoint)
            .header(AUTHORIZATION, t.basic.clone())
            .form(&[("token", access), ("token_type_hint", "access_token")])
            .send()
            .await
            .context("introspect: request")?;
        let resp = expect_status(resp, StatusCode::OK, "introspect").await?;
        let body: Value = resp.json().await.context("introspect: not JSON")?;
        ensure!(
            body.get("active") == Some(&Value::Bool(true)),
            "introspect: token not active: {body}"
        );
        Ok(())
    }

    /// A GET of a public document (JWKS, discovery) that must answer 200 with a JSON object
    /// holding `key`. The whole body is checked as JSON, but the members' values are skipped
    /// rather than built: building them was most of the tool's own CPU in these modes, taken
    /// from the 2 cores it shares with the provider.
    pub async fn document(&self, url: &str, key: &str) -> anyhow::Result<()> {
        let resp = self.http.get(url).send().await.context("request")?;
        let resp = expect_status(resp, StatusCode::OK, key).await?;
        let bytes = resp.bytes().await.context("reading the body")?;
        let body: std::collections::HashMap<&str, serde::de::IgnoredAny> =
            serde_json::from_slice(&bytes).context("not a JSON object")?;
        ensure!(body.contains_key(key), "no {key} in the document");
        Ok(())
    }
}

/// The code from the redirect back to the client, after checking `state` (and reporting an
/// `error`).
fn callback_code(url: &Url, state: &str) -> anyhow::Result<String> {
    let mut code = None;
    let mut got_state = None;
    let mut error = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => got_state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(e) = error {
        bail!("authorize: the provider answered error={e}");
    }
    ensure!(
        got_state.as_deref() == Some(state),
        "authorize: state not returned"
    );
    code.ok_or_else(|| anyhow!("authorize: redirect without code"))
}

/// A light check of the ID token (the load tool is not the place for signature checks, which
/// verity-client's tests cover): three parts, RS256 or ES256, our issuer, audience and nonce.
fn check_id_token(raw: &str, t: &Target, nonce: Option<&str>) -> anyhow::Result<()> {
    let mut parts = raw.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        bail!("token: id_token is not a compact JWS");
    };
    let decode = |s: &str| -> anyhow::Result<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(s).context("id_token: base64")?;
        serde_json::from_slice(&bytes).context("id_token: JSON")
    };
    let header = decode(h)?;
    let claims = decode(p)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    ensure!(
        alg == "RS256" || alg == "ES256",
        "token: id_token alg {alg}"
    );
    ensure!(
        claims.get("iss").and_then(Value::as_str) == Some(t.issuer.as_str()),
        "token: id_token iss {:?}",
        claims.get("iss")
    );
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == t.client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&t.client_id)),
        _ => false,
    };
    ensure!(aud_ok, "token: id_token aud");
    if let Some(n) = nonce {
        ensure!(
            claims.get("nonce").and_then(Value::as_str) == Some(n),
            "token: id_token nonce"
        );
    }
    Ok(())
}

async fn expect_status(resp: Response, want: StatusCode, step: &str) -> anyhow::Result<Response> {
    if resp.status() == want {
        Ok(resp)
    } else {
        Err(unexpected(step, resp).await)
    }
}

async fn unexpected(step: &str, resp: Response) -> anyhow::Error {
    let status = resp.status();
    let is_html = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("html"));
    let body = resp.text().await.unwrap_or_default();
    let body = if is_html { strip_tags(&body) } else { body };
    anyhow!("{step}: HTTP {status}: {}", snippet(&body))
}

fn snippet(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// Page text without markup, for error messages.
fn strip_tags(html: &str) -> String {
    let body = html.find("<main").map_or(html, |i| &html[i..]);
    let mut out = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `n` random bytes, base64url (PKCE verifier: 43 characters for 32 bytes).
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The system RNG does not fail on Linux; a zeroed value would only make a weak benchmark
    // state, never a security problem for the provider.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
