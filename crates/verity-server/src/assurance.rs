//! Identity assurance on the wire (SPEC 13, `docs/identity-assurance.md`): the `verified_claims`
//! an ID token or a userinfo answer carries, read from the person's verification cases. What is
//! answered, and how, is `verity_core::assurance`'s; this reads the cases it needs.

use serde_json::{Map, Value};
use verity_core::assurance::{self, CaseFacts, VerifiedRequest};
use verity_core::identity::{Family, Policy, UserData};
use verity_store::cases::Case;

use crate::error::ApiError;
use crate::state::AppState;

/// Adds `verified_claims` to `claims` when the app (of the `oidc` profile) asked for them in
/// `requests` and the person's cases answer: the cases are read only when something was asked.
pub async fn add_verified_claims(
    state: &AppState,
    profile: Family,
    requests: Option<&[VerifiedRequest]>,
    policies: &[&Policy],
    user: &UserData,
    claims: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(requests) = requests.filter(|r| !r.is_empty() && profile == Family::Oidc) else {
        return Ok(());
    };
    let cases = state.store.find_user_cases(&user.uuid).await?;
    let facts: Vec<CaseFacts<'_>> = cases.iter().map(facts).collect();
    if let Some(v) = assurance::answer(requests, policies, user, &facts, state.now()) {
        claims.insert("verified_claims".into(), v);
    }
    Ok(())
}

fn facts(c: &Case) -> CaseFacts<'_> {
    CaseFacts {
        id: &c.id,
        group: &c.grp,
        method: c.method,
        state: c.state,
        decided_at: c.decided_at,
        expires_at: c.expires_at,
        document_type: c.document_type.as_deref(),
        subgroups: &c.subgroups,
        attributes: &c.attributes,
        address: c.address.as_deref(),
    }
}
