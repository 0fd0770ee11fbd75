//! Authorization-request parsing and validation (RFC 6749 4.1.1, SPEC 3) with verity-core: the
//! query string of a typical request with PKCE, state and nonce, checked against the sandbox
//! confidential app.

use criterion::{Criterion, criterion_group, criterion_main};
use verity_core::authorize::{AppView, Params, validate};

const QUERY: &str = "client_id=sandbox-confidential\
    &redirect_uri=http%3A%2F%2F127.0.0.1%3A8090%2Fcallback&response_type=code\
    &scope=openid+profile+email&state=Qk9tYl9zdGF0ZV92YWx1ZQ&nonce=bm9uY2VfdmFsdWVfMTIz\
    &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

fn authorize(c: &mut Criterion) {
    let redirect_uris = vec![
        "http://127.0.0.1:8090/callback".to_owned(),
        "http://localhost:8090/callback".to_owned(),
    ];
    let policies: Vec<String> = [
        "openid",
        "login",
        "profile",
        "email",
        "military",
        "student",
        "teacher",
        "responder",
        "nurse",
        "government",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let app = AppView {
        redirect_uris: &redirect_uris,
        policies: &policies,
        public: false,
        claims_parameter: true,
    };
    assert!(validate(&Params::from_form(QUERY.as_bytes()), Some(&app)).is_ok());
    let mut group = c.benchmark_group("authorize_request");
    group.bench_function("parse", |b| {
        b.iter(|| Params::from_form(std::hint::black_box(QUERY.as_bytes())))
    });
    group.bench_function("parse+validate", |b| {
        b.iter(|| {
            validate(
                &Params::from_form(std::hint::black_box(QUERY.as_bytes())),
                Some(&app),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, authorize);
criterion_main!(benches);
