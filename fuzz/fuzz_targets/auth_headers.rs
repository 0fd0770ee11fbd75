//! `Authorization: Basic` (RFC 6749 2.3.1) and `Authorization: Bearer` (RFC 6750 2.1) headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_core::client_auth::{parse_basic, parse_bearer};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(Ok(c)) = parse_basic(text) {
            assert!(!c.client_id.is_empty());
        }
        let _ = parse_bearer(text);
    }
});
