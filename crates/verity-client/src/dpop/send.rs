//! DPoP on the wire: proofs added to requests, the provider's nonce remembered from every
//! answer, and the one retry an answer asking for a nonce gets.

use serde_json::Value;

use super::{DpopKey, ProofFor, TOKEN_TYPE};
use crate::client::{AuditLog, Client, Fetched};
use crate::config::Secret;
use crate::error::Error;

impl Fetched {
    /// RFC 9449 8 and 9: the provider wants a proof with its nonce, and has sent one: a 400
    /// `use_dpop_nonce` body at the token endpoint, a 401 with a `DPoP` challenge naming
    /// `use_dpop_nonce` at a resource.
    fn asks_for_dpop_nonce(&self) -> bool {
        if self.dpop_nonce.is_none() {
            return false;
        }
        match self.status {
            400 => serde_json::from_slice::<Value>(&self.body)
                .is_ok_and(|b| b.get("error").and_then(Value::as_str) == Some("use_dpop_nonce")),
            401 => self.www_authenticate.as_deref().is_some_and(|c| {
                c.trim_start()
                    .get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("dpop "))
                    && c.contains("use_dpop_nonce")
            }),
            _ => false,
        }
    }
}

impl Client {
    /// Sends the request `build` makes, with a DPoP proof when `proof` says so; a fresh nonce
    /// the answer carries is remembered, and an answer asking for one is retried once (with a
    /// new request: a client assertion or a proof is never sent twice).
    pub(crate) async fn send_with_proof(
        &self,
        endpoint: &'static str,
        proof: Option<ProofFor<'_>>,
        build: impl Fn() -> Result<reqwest::RequestBuilder, Error>,
        mut audit: Option<&mut AuditLog>,
    ) -> Result<Fetched, Error> {
        let Some(p) = proof else {
            return self.fetch(endpoint, build()?, audit).await;
        };
        let mut retried = false;
        loop {
            let nonce = self.dpop_nonces().get();
            let jwt = p.key.proof(
                p.method,
                p.url,
                p.access_token,
                nonce.as_deref(),
                self.now(),
            )?;
            let req = build()?.header("DPoP", jwt);
            let fetched = self.fetch(endpoint, req, audit.as_deref_mut()).await?;
            if let Some(n) = &fetched.dpop_nonce {
                self.dpop_nonces().set(n);
            }
            if retried || !fetched.asks_for_dpop_nonce() {
                return Ok(fetched);
            }
            retried = true;
        }
    }

    /// A GET of a protected resource: `Authorization: DPoP` with a proof (`ath`) when `key` is
    /// the key the token is bound to, `Bearer` otherwise.
    pub(crate) async fn get_resource(
        &self,
        endpoint: &'static str,
        url: &str,
        access_token: &Secret,
        key: Option<&DpopKey>,
        audit: Option<&mut AuditLog>,
    ) -> Result<Fetched, Error> {
        let at = access_token.expose();
        let proof = key.map(|key| ProofFor {
            key,
            method: "GET",
            url,
            access_token: Some(at),
        });
        let scheme = if key.is_some() { TOKEN_TYPE } else { "Bearer" };
        let build = || {
            Ok(self
                .http()
                .get(url)
                .header(reqwest::header::AUTHORIZATION, format!("{scheme} {at}")))
        };
        self.send_with_proof(endpoint, proof, build, audit).await
    }
}
