//! RFC 9449 DPoP at the token endpoint and the resources: the request's proof, checked by
//! `verity_core::dpop` against the request as the client addressed it (the public URL and the
//! path), and made single use through the store's replay cache, which every node shares.

use axum::http::{HeaderMap, HeaderValue};
use verity_core::dpop::{self, DpopError, Proof};

use crate::error::ApiError;
use crate::state::AppState;

/// The secret server nonces are made with, when the settings ask for nonces.
fn nonce_secret(state: &AppState) -> Option<[u8; 32]> {
    state
        .settings
        .dpop_nonce
        .then(|| state.master_key.derive("verity dpop nonce", b""))
}

/// The nonce to send in `DPoP-Nonce` now, when nonces are required.
pub fn current_nonce(state: &AppState) -> Option<String> {
    nonce_secret(state).map(|secret| dpop::nonce(&secret, state.now()))
}

/// Adds `DPoP-Nonce` to an answer, when nonces are required (RFC 9449 8.2: a client may learn
/// the next nonce from any answer).
pub fn with_nonce(state: &AppState, headers: &mut HeaderMap) {
    if let Some(value) = current_nonce(state).and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert("dpop-nonce", value);
    }
}

/// The request's one `DPoP` header, if any.
fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, DpopError> {
    let mut values = headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(DpopError::Several),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| DpopError::Malformed),
    }
}

/// The request's proof, checked (RFC 9449 4.3) and recorded so that it is never accepted again;
/// `None` when the request has none. `access_token` is the token a resource request presents
/// (its hash must be the proof's `ath`). Errors are the token endpoint's (400), or a resource's
/// (401 with a `DPoP` challenge) when `at_resource`.
pub async fn proof(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
    at_resource: bool,
) -> Result<Option<Proof>, ApiError> {
    let refuse = |e: DpopError| ApiError::dpop(&e, at_resource, current_nonce(state));
    let Some(jwt) = proof_header(headers).map_err(refuse)? else {
        return Ok(None);
    };
    let secret = nonce_secret(state);
    let url = format!("{}{path}", state.public_url);
    let expect = dpop::Expect {
        method,
        url: &url,
        now: state.now(),
        access_token,
        nonce_secret: secret.as_ref().map(|s| s.as_slice()),
    };
    let proof = dpop::verify(jwt, &expect).map_err(refuse)?;
    let fresh = state
        .store
        .take_jti(
            &proof.replay_namespace(),
            &proof.jti,
            proof.remember_until(),
        )
        .await?;
    if !fresh {
        return Err(refuse(DpopError::Replayed));
    }
    Ok(Some(proof))
}
