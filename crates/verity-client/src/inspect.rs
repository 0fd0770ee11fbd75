//! What a client needs to know about any provider, from its discovery document and JWKS alone
//! (`verity check --issuer URL`).

use serde_json::Value;

use crate::discovery::{Metadata, discovery_url};
use crate::error::Error;
use crate::jose::{KeySet, parse_jwks};

/// The findings about one provider.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub metadata: Metadata,
    /// The discovery document as received.
    pub discovery: Value,
    pub keys: KeySet,
    /// Problems that stop or weaken this client (issuer mismatch, missing endpoints, no RS256 or
    /// ES256, no usable key).
    pub problems: Vec<String>,
    /// Departures from the specifications that this client tolerates (ID.me's among them).
    pub quirks: Vec<String>,
}

async fn get_json(
    http: &reqwest::Client,
    url: &str,
    endpoint: &'static str,
) -> Result<Vec<u8>, Error> {
    let resp = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|source| Error::Http { endpoint, source })?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(Error::Status { endpoint, status });
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|source| Error::Http { endpoint, source })?;
    if bytes.len() > crate::client::MAX_BODY {
        return Err(Error::TooLarge {
            endpoint,
            limit: crate::client::MAX_BODY,
        });
    }
    Ok(bytes.to_vec())
}

/// Fetches discovery and JWKS of `issuer` and reports. Fails only when they cannot be fetched or
/// parsed at all; everything else is a finding.
pub async fn inspect(issuer: &str) -> Result<Inspection, Error> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|source| Error::Http {
            endpoint: "client",
            source,
        })?;
    let body = get_json(&http, &discovery_url(issuer), "discovery").await?;
    let discovery: Value = serde_json::from_slice(&body).map_err(|e| Error::Malformed {
        endpoint: "discovery",
        reason: e.to_string(),
    })?;
    let metadata = Metadata::parse(&body).map_err(|e| Error::Malformed {
        endpoint: "discovery",
        reason: e.to_string(),
    })?;
    let mut problems = Vec::new();
    let mut quirks = Vec::new();
    if let Err(e) = metadata.check(issuer, false) {
        problems.push(e.to_string());
    }
    for member in [
        "userinfo_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
        "id_token_signing_alg_values_supported",
    ] {
        if discovery.get(member).is_none() {
            quirks.push(format!("discovery has no {member}"));
        }
    }
    if !metadata.announces_pkce_s256() {
        quirks.push("PKCE S256 not announced (this client sends it anyway)".into());
    }
    let keys = match get_json(&http, &metadata.jwks_uri, "jwks").await {
        Ok(b) => parse_jwks(&b).unwrap_or_else(|_| {
            problems.push("the JWKS is not a JSON key set".into());
            KeySet::default()
        }),
        Err(e) => {
            problems.push(format!("JWKS: {e}"));
            KeySet::default()
        }
    };
    if keys.keys.is_empty() {
        problems.push("no usable signing key (RSA or P-256) in the JWKS".into());
    }
    quirks.extend(keys.quirks.iter().cloned());
    Ok(Inspection {
        metadata,
        discovery,
        keys,
        problems,
        quirks,
    })
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.metadata;
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        let list = |v: &[String]| {
            if v.is_empty() {
                "(not announced)".to_owned()
            } else {
                v.join(", ")
            }
        };
        writeln!(f, "issuer                 {}", m.issuer)?;
        writeln!(f, "authorization          {}", m.authorization_endpoint)?;
        writeln!(f, "token                  {}", m.token_endpoint)?;
        writeln!(f, "userinfo               {}", opt(&m.userinfo_endpoint))?;
        writeln!(
            f,
            "attributes (ID.me)     {}",
            opt(&m.attributes_endpoint())
        )?;
        writeln!(f, "jwks                   {}", m.jwks_uri)?;
        writeln!(f, "revocation             {}", opt(&m.revocation_endpoint))?;
        writeln!(f, "end session            {}", opt(&m.end_session_endpoint))?;
        writeln!(
            f,
            "ID token algorithms    {}",
            list(&m.id_token_signing_alg_values_supported)
        )?;
        writeln!(
            f,
            "userinfo algorithms    {}",
            list(&m.userinfo_signing_alg_values_supported)
        )?;
        writeln!(
            f,
            "client authentication  {}",
            list(&m.token_endpoint_auth_methods_supported)
        )?;
        writeln!(
            f,
            "PKCE methods           {}",
            list(&m.code_challenge_methods_supported)
        )?;
        let par = match (
            &m.pushed_authorization_request_endpoint,
            m.require_pushed_authorization_requests,
        ) {
            (None, _) => "(not offered)".to_owned(),
            (Some(e), false) => e.clone(),
            (Some(e), true) => format!("{e} (required)"),
        };
        writeln!(f, "PAR                    {par}")?;
        writeln!(
            f,
            "request objects        {}",
            offered(&m.request_object_signing_alg_values_supported)
        )?;
        writeln!(
            f,
            "DPoP                   {}",
            offered(&m.dpop_signing_alg_values_supported)
        )?;
        writeln!(f, "keys")?;
        for k in &self.keys.keys {
            writeln!(
                f,
                "  {} {} alg {}",
                k.kty(),
                k.kid.as_deref().unwrap_or("(no kid)"),
                k.alg.as_deref().unwrap_or("(none)")
            )?;
        }
        for s in &self.keys.skipped {
            writeln!(f, "  skipped: {s}")?;
        }
        writeln!(f, "quirks")?;
        if self.quirks.is_empty() {
            writeln!(f, "  none")?;
        }
        for q in &self.quirks {
            writeln!(f, "  {q}")?;
        }
        writeln!(f, "problems")?;
        if self.problems.is_empty() {
            writeln!(f, "  none: a verity-client can use this provider")?;
        }
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// An option advertised by its algorithms: offered with them, or not.
fn offered(algs: &[String]) -> String {
    if algs.is_empty() {
        "(not offered)".to_owned()
    } else {
        format!("offered ({})", algs.join(", "))
    }
}
