//! Identity assurance against the real provider: the `claims` parameter built by the library is
//! accepted, and the `verified_claims` of userinfo and the ID token read into the typed answer
//! and match what was asked (docs/identity-assurance.md).

use verity_client::assurance::{ClaimsRequest, Source, VerifiedClaimsRequest};
use verity_client::{AuditLog, ClientAuth};
use verity_core::clock::Clock;
use verity_core::identity::Family;

use crate::helpers::*;

#[tokio::test]
async fn the_veteran_answer_reads_and_matches_the_request() {
    let op = spawn_provider().await;
    op.create_app("oidc-ida", |a| a.profile = Family::Oidc)
        .await;
    let client = op
        .client("oidc-ida", ClientAuth::SecretBasic(SECRET.into()))
        .await;
    let request = ClaimsRequest::new()
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework("nist_800_63A")
                .assurance_level("ial2")
                .max_age(365 * 24 * 3600)
                .claim("given_name")
                .essential_claim("family_name")
                .claim("birthdate")
                .purpose("To check who you are"),
        )
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework("verity")
                .claim("group")
                .claim("subgroups"),
        )
        .id_token(VerifiedClaimsRequest::new().trust_framework("verity"));
    let (callback, pending) = op
        .sign_in(
            client
                .authorization_request()
                .scopes([IDENTITY_POLICY, "military"])
                .claims(request.clone()),
            "veteran@sandbox.test",
        )
        .await;
    let mut audit = AuditLog::default();
    let verified = client
        .complete(&callback, &pending, &mut audit)
        .await
        .unwrap();
    let answers = request.answers(&verified, op.clock.now()).unwrap();
    assert_eq!(answers.refused, [], "every answer matches what was asked");
    assert_eq!(answers.kept.len(), 2, "{:?}", answers.kept);

    let identity = &answers.kept[0];
    assert_eq!(identity.verification.trust_framework, "nist_800_63A");
    assert_eq!(identity.text("given_name"), Some("Jordan"));
    let evidence = &identity.verification.evidence[0];
    assert!(evidence.check("vri").is_some() && evidence.check("pvr").is_some());
    let doc = evidence.document_details.as_ref().unwrap();
    assert_eq!(doc.kind, "driving_permit");
    assert_eq!(doc.document_number.as_deref(), Some("5678"));
    assert!(doc.expires_on().is_some());
    assert_eq!(
        doc.issuer.as_ref().and_then(|i| i.name.as_deref()),
        Some("Virginia")
    );
    let decided = identity.verification.time_unix().unwrap();
    assert!(decided <= op.clock.now());

    let military = &answers.kept[1];
    assert_eq!(military.verification.trust_framework, "verity");
    assert_eq!(military.text("group"), Some("military"));
    assert_eq!(
        military.verification.evidence[0]
            .document_details
            .as_ref()
            .map(|d| d.kind.as_str()),
        Some("dd214")
    );
    // The ID token answered its own element with the same military case: not repeated.
    let in_token =
        verity_client::assurance::read_verified_claims(&verified.id_token.claims).unwrap();
    assert!(in_token.iter().any(|a| a == military), "{in_token:?}");

    // Read against a stricter request, the same answers are refused with the reason.
    let strict =
        ClaimsRequest::new().userinfo(VerifiedClaimsRequest::new().trust_framework("eidas"));
    let refused = strict.answers(&verified, op.clock.now()).unwrap().refused;
    assert_eq!(refused.len(), 2 + in_token.len());
    assert!(refused.iter().any(|r| r.source == Source::IdToken));
}
