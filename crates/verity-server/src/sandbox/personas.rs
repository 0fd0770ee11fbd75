//! The personas of the sandbox (SPEC section 9): who they are, what they start verified for,
//! and the documents some of those verifications were decided on.

use serde_json::{Value, json};
use verity_core::identity::IDENTITY;

use super::{DOCUMENTS_APPROVED, DOCUMENTS_REJECTED};

/// A persona: email, attributes, verifications `(group, subgroups)`, the documents some were
/// decided on, TOTP enrolled.
pub(super) struct Persona {
    pub(super) email: &'static str,
    pub(super) attributes: Value,
    pub(super) verified: &'static [(&'static str, &'static [&'static str])],
    /// `(group, document type, what the reviewer read)`: that group's case is a `document` case
    /// (so that identity assurance answers carry evidence); the others are sandbox assertions.
    pub(super) documents: &'static [Document],
    pub(super) totp: bool,
}

pub(super) type Document = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// What the sandbox's reviewer read from the veteran's driver's license.
const VETERAN_LICENSE: &[(&str, &str)] = &[
    ("fname", "Jordan"),
    ("mname", "Lee"),
    ("lname", "Rivera"),
    ("birth_date", "1978-04-12"),
    ("street", "1200 Harbor Way"),
    ("city", "Norfolk"),
    ("state", "VA"),
    ("zip", "23511"),
    ("country", "US"),
    ("document_issuer", "Virginia"),
    ("document_number", "T12345678"),
    ("document_issued", "2023-04-12"),
    ("document_expires", "2031-04-12"),
];

pub(super) fn personas() -> Vec<Persona> {
    vec![
        Persona {
            email: "veteran@sandbox.test",
            attributes: json!({
                "fname": "Jordan", "mname": "Lee", "lname": "Rivera", "birth_date": "1978-04-12",
                "social": "123456789", "phone": "15555550101", "street": "1200 Harbor Way", "city": "Norfolk",
                "state": "VA", "zip": "23511", "country": "US", "military_branch": "Navy",
                "military_service_component": "Active Duty", "military_service_started": "1998-06-01",
            }),
            verified: &[(IDENTITY, &[]), ("military", &["Veteran"])],
            documents: &[
                (IDENTITY, "drivers_license", VETERAN_LICENSE),
                ("military", "dd214", &[]),
            ],
            totp: true,
        },
        Persona {
            email: "student@sandbox.test",
            attributes: json!({
                "fname": "Sam", "lname": "Chen", "birth_date": "2003-09-30", "phone": "15555550102",
                "street": "45 College Ave", "city": "Berkeley", "state": "CA", "zip": "94704", "country": "US",
            }),
            verified: &[("student", &[])],
            documents: &[],
            totp: false,
        },
        Persona {
            email: "unverified@sandbox.test",
            attributes: json!({"fname": "Casey", "lname": "Morgan"}),
            verified: &[],
            documents: &[],
            totp: false,
        },
        Persona {
            email: "international@sandbox.test",
            attributes: json!({
                "fname": "Amélie", "lname": "Dubois", "birth_date": "1990-01-15", "social": null,
                "phone": "33612345678", "street": null, "city": null, "state": null, "zip": null, "country": "FR",
            }),
            verified: &[(IDENTITY, &[])],
            documents: &[],
            totp: true,
        },
        Persona {
            email: "hyphen@sandbox.test",
            attributes: json!({
                "fname": "Mary-Jane", "mname": "Ann", "lname": "O'Connor-Smith", "birth_date": "1985-11-02",
                "social": "987654321", "phone": "15555550105", "street": "9 Elm St", "city": "Boston",
                "state": "MA", "zip": "02108", "country": "US",
            }),
            verified: &[(IDENTITY, &[])],
            documents: &[],
            totp: true,
        },
        Persona {
            email: "multi@sandbox.test",
            attributes: json!({
                "fname": "Alex", "lname": "Johnson", "zip": "78701", "country": "US", "state": "TX",
                "city": "Austin", "street": "300 Congress Ave", "military_branch": "Army",
                "military_service_component": "Reserve", "military_service_started": "2010-03-15",
            }),
            verified: &[
                ("military", &["Military Spouse"]),
                ("teacher", &[]),
                ("responder", &[]),
            ],
            documents: &[],
            totp: false,
        },
        Persona {
            email: DOCUMENTS_APPROVED,
            attributes: json!({
                "fname": "Robin", "lname": "Taylor", "birth_date": "1988-07-04",
                "street": "77 Main St", "city": "Columbus", "state": "OH", "zip": "43215", "country": "US",
            }),
            verified: &[],
            documents: &[],
            totp: false,
        },
        Persona {
            email: DOCUMENTS_REJECTED,
            attributes: json!({"fname": "Pat", "lname": "Quinn"}),
            verified: &[],
            documents: &[],
            totp: false,
        },
    ]
}
