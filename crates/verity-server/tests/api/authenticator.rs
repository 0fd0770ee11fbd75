//! A software WebAuthn authenticator (ES256, `none` attestation), written here from the WebAuthn
//! Level 2 data formats (6.1 authenticator data, 6.5 attestation object, 5.8.1 client data) so a
//! test can answer Verity's ceremonies over HTTP, and also answer them wrongly on purpose: another
//! origin, another RP ID, a counter that goes backwards. Signatures by aws-lc-rs; the CBOR is the
//! handful of shapes WebAuthn needs, written out.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::helpers::base64_url;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const AT: u8 = 0x40;

/// A CBOR item's head (RFC 8949 3): major type and argument.
fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn cbor_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        head(0, i as u64, out);
    } else {
        head(1, (-1 - i) as u64, out);
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    head(2, b.len() as u64, out);
    out.extend_from_slice(b);
}

fn cbor_text(t: &str, out: &mut Vec<u8>) {
    head(3, t.len() as u64, out);
    out.extend_from_slice(t.as_bytes());
}

/// Client data (WebAuthn 5.8.1) as the browser would write it.
fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

/// What a test may change about an answer.
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    /// The origin the "browser" reports (another site).
    pub origin: Option<String>,
    /// The RP ID whose hash the authenticator signs.
    pub rp_id: Option<String>,
    /// The signature counter to report instead of the next one.
    pub counter: Option<u32>,
    /// The authenticator reports no user verification (a security key without a PIN).
    pub unverified: bool,
}

/// One credential on a software authenticator.
pub struct SoftKey {
    key: EcdsaKeyPair,
    pub id: Vec<u8>,
    pub rp_id: String,
    pub origin: String,
    /// Synced (backup eligible): the sign-in says `swk`; else `hwk`.
    pub backup_eligible: bool,
    /// The last signature counter reported.
    pub counter: u32,
    /// The user handle it was registered with.
    pub user_handle: Vec<u8>,
}

impl SoftKey {
    /// A new key for the relying party at `origin` (RP ID its host).
    pub fn new(origin: &str, backup_eligible: bool) -> SoftKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let id = digest(&SHA256, key.public_key().as_ref()).as_ref()[..16].to_vec();
        let rp_id = url::Url::parse(origin)
            .unwrap()
            .host_str()
            .unwrap()
            .to_owned();
        SoftKey {
            key,
            id,
            rp_id,
            origin: origin.to_owned(),
            backup_eligible,
            counter: 0,
            user_handle: Vec::new(),
        }
    }

    fn auth_data(&self, rp_id: &str, flags: u8, counter: u32, attested: Option<&[u8]>) -> Vec<u8> {
        let mut out = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        let be = if self.backup_eligible { BE } else { 0 };
        out.push(flags | be);
        out.extend(counter.to_be_bytes());
        if let Some(a) = attested {
            out.extend_from_slice(a);
        }
        out
    }

    /// The COSE_Key (RFC 9053 7.1.1) of the public key: EC2, ES256, P-256.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let mut out = Vec::new();
        head(5, 5, &mut out);
        for (k, v) in [(1, 2), (3, -7), (-1, 1)] {
            cbor_int(k, &mut out);
            cbor_int(v, &mut out);
        }
        cbor_int(-2, &mut out);
        cbor_bytes(x, &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(y, &mut out);
        out
    }

    /// Answers `navigator.credentials.create` options (`{"publicKey": ...}`) as a browser would
    /// post them (tampered as told): the registration JSON.
    pub fn register_tampered(&mut self, options: &Value, t: &Tamper) -> Value {
        let pk = &options["publicKey"];
        let challenge = pk["challenge"].as_str().unwrap();
        self.user_handle = decode_b64u(pk["user"]["id"].as_str().unwrap());
        let origin = t.origin.as_deref().unwrap_or(&self.origin);
        let rp_id = t.rp_id.clone().unwrap_or_else(|| self.rp_id.clone());
        let mut attested = vec![0u8; 16]; // AAGUID: none
        attested.extend((self.id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&self.id);
        attested.extend(self.cose_key());
        let auth_data = self.auth_data(&rp_id, UP | UV | AT, 0, Some(&attested));
        let mut object = Vec::new();
        head(5, 3, &mut object);
        cbor_text("fmt", &mut object);
        cbor_text("none", &mut object);
        cbor_text("attStmt", &mut object);
        head(5, 0, &mut object);
        cbor_text("authData", &mut object);
        cbor_bytes(&auth_data, &mut object);
        let client = client_data("webauthn.create", challenge, origin);
        json!({
            "id": base64_url(&self.id),
            "rawId": base64_url(&self.id),
            "type": "public-key",
            "response": {
                "attestationObject": base64_url(&object),
                "clientDataJSON": base64_url(&client),
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get` options: the assertion JSON, its counter one more.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.assert_tampered(options, &Tamper::default())
    }

    pub fn assert_tampered(&mut self, options: &Value, t: &Tamper) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        let origin = t.origin.as_deref().unwrap_or(&self.origin);
        let rp_id = t.rp_id.clone().unwrap_or_else(|| self.rp_id.clone());
        let counter = t.counter.unwrap_or(self.counter + 1);
        self.counter = counter;
        let uv = if t.unverified { 0 } else { UV };
        let auth_data = self.auth_data(&rp_id, UP | uv, counter, None);
        let client = client_data("webauthn.get", challenge, origin);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client).as_ref());
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": base64_url(&self.id),
            "rawId": base64_url(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": base64_url(&auth_data),
                "clientDataJSON": base64_url(&client),
                "signature": base64_url(signature.as_ref()),
                "userHandle": base64_url(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

/// Base64url (with or without padding) to bytes.
pub fn decode_b64u(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}
