//! The token endpoint's body, as a form and as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_core::authorize::Params;
use verity_core::scope::ScopeSet;

fuzz_target!(|data: &[u8]| {
    for params in [Some(Params::from_form(data)), Params::from_json(data).ok()].into_iter().flatten() {
        let _ = params.first_repeated();
        let _ = params.oversized();
        if let Some(scope) = params.get("scope") {
            let _ = ScopeSet::parse(scope);
        }
        if let (Some(challenge), Some(verifier)) = (params.get("code_challenge"), params.get("code_verifier")) {
            let _ = verity_core::pkce::verify(challenge, verifier);
        }
    }
});
