//! RFC 9126 pushed authorization requests: kept by the digest of their reference until they are
//! taken, once, at the authorization endpoint, or purged when expired. Whether a request may be
//! pushed, and whether a taken one is still fresh, is `verity_core::jar`'s and the caller's.

use crate::Store;
use crate::error::Result;
use crate::sql::{insert, query, storable, stored};

/// A pushed request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub reference_hash: String,
    pub client_id: String,
    /// The request's parameters, in the order they were pushed.
    pub params: Vec<(String, String)>,
    pub expires_at: i64,
}

stored!(PushedRequest => "pushed_requests" {
    reference_hash, client_id, params [json], expires_at,
});

impl Store {
    /// Keeps a pushed request until it is taken or expires.
    pub async fn push_request(&self, request: &PushedRequest) -> Result<()> {
        self.exec(insert(request)).await?;
        Ok(())
    }

    /// Takes the pushed request stored under `reference_hash`: it is gone afterwards, so of two
    /// presentations only one finds it, on any node. An expired request is taken too (and
    /// answered, for the caller to refuse by its `expires_at`).
    pub async fn take_pushed_request(&self, reference_hash: &str) -> Result<Option<PushedRequest>> {
        if !storable(reference_hash) {
            return Ok(None);
        }
        let take = query("DELETE FROM pushed_requests WHERE reference_hash = $1 RETURNING *")
            .bind(reference_hash);
        self.write_after(Vec::new(), take, |found: Option<PushedRequest>| {
            Ok((Vec::new(), found))
        })
        .await
    }
}
