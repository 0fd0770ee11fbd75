//! A `private_key_jwt` client assertion: JWS parsing, signature checking against a JWK set, and
//! the RFC 7523 claim rules. Nothing unsigned or HMAC-signed may ever verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_core::client_auth::check_assertion_claims;
use verity_core::jose::Jws;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(jws) = Jws::parse(text) else { return };
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]});
    if jws.verify_with_set(&jwks).is_ok() {
        assert!(jws.alg() == "ES256", "only ES256 can verify against this set");
    }
    let _ = check_assertion_claims(&jws.claims, "client", &["https://verity.test/oauth/token"], 1_000_000);
});
