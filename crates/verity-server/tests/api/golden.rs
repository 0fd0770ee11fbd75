//! Golden files for the wire payloads of the veteran persona (scope `openid military`, the
//! confidential `idme` app): discovery, the token response, the ID token, the userinfo JWT and
//! `attributes.json`. Values that change from run to run (times, ids, hashes, tokens, the port)
//! are masked; everything else must match `tests/api/golden/*.json` exactly.
//!
//! After an intended change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p verity-server --test api golden` and review the diff.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::helpers::*;

/// Claims that differ at every issue.
const VOLATILE_CLAIMS: [&str; 7] = ["iat", "exp", "nbf", "auth_time", "jti", "at_hash", "sid"];
/// Token-response members that are fresh secrets.
const VOLATILE_TOKENS: [&str; 3] = ["access_token", "refresh_token", "id_token"];
/// Replaces the test server's base URL, whose port changes every run.
const STABLE_BASE: &str = "http://verity.test";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/golden")
}

/// A placeholder that keeps the masked value's JSON type visible in the file.
fn placeholder(v: &Value) -> Value {
    let kind = match v {
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    Value::String(format!("<masked {kind}>"))
}

/// Masks the members named in `keys` (at any depth), puts the stable base URL in every string,
/// and sorts object keys so the files read the same whatever serde_json's map order.
fn mask(v: &Value, base: &str, keys: &[&str]) -> Value {
    match v {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            let mut out = Map::new();
            for name in names {
                let value = &map[name];
                let masked = if keys.contains(&name.as_str()) {
                    placeholder(value)
                } else {
                    mask(value, base, keys)
                };
                out.insert(name.clone(), masked);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| mask(i, base, keys)).collect()),
        Value::String(s) => Value::String(s.replace(base, STABLE_BASE)),
        other => other.clone(),
    }
}

/// A line diff (longest common subsequence): `-` expected only, `+` actual only.
fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// Compares `actual` with `golden/<name>`, or writes it there when `UPDATE_GOLDEN=1`.
/// Returns a readable report of a mismatch.
fn compare(name: &str, actual: &Value) -> Option<String> {
    let path = golden_dir().join(name);
    let actual_text = format!("{}\n", serde_json::to_string_pretty(actual).unwrap());
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, &actual_text).unwrap();
        return None;
    }
    let expected_text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Some(format!(
                "{name}: cannot read {} ({e}); run with UPDATE_GOLDEN=1 to create it.\nactual:\n{actual_text}",
                path.display()
            ));
        }
    };
    let expected: Value = serde_json::from_str(&expected_text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    if &expected == actual {
        return None;
    }
    let expected_pretty = format!("{}\n", serde_json::to_string_pretty(&expected).unwrap());
    Some(format!(
        "{name} differs from {}\n--- diff (- golden, + actual) ---\n{}--- golden ---\n{expected_pretty}--- actual ---\n{actual_text}",
        path.display(),
        line_diff(&expected_pretty, &actual_text),
    ))
}

fn jose_header(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').next().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn veteran_payloads_match_the_golden_files() {
    let app = spawn_app().await;
    let base = app.base.as_str();
    let jwks = app.jwks().await;
    let mut payloads: Vec<(&str, Value)> = vec![];

    let discovery: Value = app
        .http
        .get(app.url("/oidc/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    payloads.push(("discovery.json", mask(&discovery, base, &[])));

    let tokens = app
        .tokens_for("veteran@sandbox.test", "openid military")
        .await;
    payloads.push(("token_response.json", mask(&tokens, base, &VOLATILE_TOKENS)));

    let id_token = tokens["id_token"].as_str().unwrap();
    let mut header = jose_header(id_token);
    // The kid is the thumbprint of a key generated at start.
    header["kid"] = placeholder(&header["kid"]);
    payloads.push(("id_token_header.json", mask(&header, base, &[])));
    let claims = verify_jwt(id_token, &jwks, &app.issuer, CONFIDENTIAL);
    payloads.push((
        "id_token_claims.json",
        mask(&claims, base, &VOLATILE_CLAIMS),
    ));

    let access = tokens["access_token"].as_str().unwrap();
    let body: Value = app
        .get_bearer("/api/public/v3/userinfo", access)
        .await
        .json()
        .await
        .unwrap();
    let info = verify_jwt(body.as_str().unwrap(), &jwks, &app.issuer, CONFIDENTIAL);
    payloads.push(("userinfo_claims.json", mask(&info, base, &VOLATILE_CLAIMS)));

    let attributes: Value = app
        .get_bearer("/api/public/v3/attributes.json", access)
        .await
        .json()
        .await
        .unwrap();
    payloads.push(("attributes.json", mask(&attributes, base, &[])));

    let failures: Vec<String> = payloads
        .iter()
        .filter_map(|(name, value)| compare(name, value))
        .collect();
    assert!(
        failures.is_empty(),
        "{} golden file(s) differ (after an intended change: UPDATE_GOLDEN=1 and review):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn masking_and_diffs_behave() {
    let v = serde_json::json!({
        "iss": "http://127.0.0.1:4242/oidc",
        "b": [{"iat": 5, "jti": "x"}],
        "a": true,
    });
    let m = mask(&v, "http://127.0.0.1:4242", &VOLATILE_CLAIMS);
    assert_eq!(
        m,
        serde_json::json!({
            "a": true,
            "b": [{"iat": "<masked number>", "jti": "<masked string>"}],
            "iss": "http://verity.test/oidc",
        })
    );
    assert_eq!(line_diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
    assert_eq!(line_diff("", "a\n"), "+ a\n");
    assert_eq!(line_diff("a\n", ""), "- a\n");
}
