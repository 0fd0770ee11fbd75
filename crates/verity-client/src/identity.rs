//! What the relying party learns about a person: attributes read by handle (never by position),
//! typed values, both claim-name families, and the verified groups.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One attribute as `attributes.json` lists it, or as a claim carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The display name (`First Name`), when the provider gave one.
    pub name: Option<String>,
    /// String, number, boolean, array, object, or `null` (released but the person has none).
    pub value: Value,
}

/// One group's verification status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub group: String,
    pub subgroups: Vec<String>,
    pub verified: bool,
}

/// `attributes.json`, read leniently: elements without a handle are skipped, values keep their type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    pub attributes: BTreeMap<String, Attribute>,
    pub status: Vec<Group>,
}

/// Parses an `attributes.json` body. Never panics; `None` when it is not the expected shape.
pub fn parse_attributes(body: &[u8]) -> Option<Attributes> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let obj = doc.as_object()?;
    let mut out = Attributes::default();
    for item in obj.get("attributes")?.as_array()? {
        let Some(handle) = item.get("handle").and_then(Value::as_str) else {
            continue;
        };
        out.attributes.insert(
            handle.to_owned(),
            Attribute {
                name: item.get("name").and_then(Value::as_str).map(str::to_owned),
                value: item.get("value").cloned().unwrap_or(Value::Null),
            },
        );
    }
    for item in obj
        .get("status")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(group) = item.get("group").and_then(Value::as_str) else {
            continue;
        };
        let subgroups = item
            .get("subgroups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        out.status.push(Group {
            group: group.to_owned(),
            subgroups,
            // Only an explicit `true` counts as verified.
            verified: item.get("verified") == Some(&Value::Bool(true)),
        });
    }
    Some(out)
}

/// The two claim-name families (SPEC 8): ID.me's handle, then the OIDC standard claim name, and
/// where the OIDC family nests it inside `address`.
const ALIASES: &[(&str, &str, Option<&str>)] = &[
    ("fname", "given_name", None),
    ("mname", "middle_name", None),
    ("lname", "family_name", None),
    ("birth_date", "birthdate", None),
    ("phone", "phone_number", None),
    ("street", "street_address", Some("street_address")),
    ("city", "locality", Some("locality")),
    ("state", "region", Some("region")),
    ("zip", "postal_code", Some("postal_code")),
    ("country", "country", Some("country")),
    ("uuid", "sub", None),
];

/// Claims that describe the token, not the person.
const TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "azp",
    "nonce",
    "at_hash",
    "auth_time",
    "acr",
    "amr",
    "sid",
    "typ",
];

/// A verified person: the ID token's subject, their attributes and groups, and every raw body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// `sub` of the ID token (for Verity and ID.me also `uuid`).
    pub subject: String,
    /// Every attribute by handle; unknown handles are kept.
    pub attributes: BTreeMap<String, Attribute>,
    pub groups: Vec<Group>,
}

impl Identity {
    /// Builds from userinfo claims and (when fetched) `attributes.json`; `attributes.json` wins on
    /// a handle both carry, since it is the provider's list of released attributes.
    pub fn from_parts(
        subject: &str,
        claims: &Map<String, Value>,
        attributes: Option<&Attributes>,
    ) -> Self {
        let mut map: BTreeMap<String, Attribute> = BTreeMap::new();
        for (k, v) in claims {
            if TOKEN_CLAIMS.contains(&k.as_str()) {
                continue;
            }
            map.insert(
                k.clone(),
                Attribute {
                    name: None,
                    value: v.clone(),
                },
            );
        }
        let mut groups = Vec::new();
        if let Some(a) = attributes {
            for (k, v) in &a.attributes {
                map.insert(k.clone(), v.clone());
            }
            groups = a.status.clone();
        }
        Identity {
            subject: subject.to_owned(),
            attributes: map,
            groups,
        }
    }

    /// The value of `handle`, in either claim-name family (`fname` finds `given_name` and back;
    /// `zip` finds `address.postal_code`). `Some(Value::Null)` when released but absent.
    pub fn get(&self, handle: &str) -> Option<&Value> {
        if let Some(a) = self.attributes.get(handle) {
            return Some(&a.value);
        }
        for (idme, oidc, in_address) in ALIASES {
            let other = if handle == *idme {
                oidc
            } else if handle == *oidc {
                idme
            } else {
                continue;
            };
            if let Some(a) = self.attributes.get(*other) {
                return Some(&a.value);
            }
            if let Some(field) = in_address
                && let Some(v) = self
                    .attributes
                    .get("address")
                    .and_then(|a| a.value.get(*field))
            {
                return Some(v);
            }
        }
        None
    }

    /// `handle` as text: strings as they are, numbers and booleans printed; `None` for null,
    /// missing, arrays and objects.
    pub fn text(&self, handle: &str) -> Option<String> {
        match self.get(handle)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// An assurance level (`credential_ial`, `credential_aal`, `level_of_assurance`) that ID.me
    /// sends as an integer or a string (`"2"`, `"IAL2"`, `".../ial/2"`).
    pub fn level(&self, handle: &str) -> Option<i64> {
        match self.get(handle)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => {
                let digits: String = s
                    .chars()
                    .rev()
                    .take_while(char::is_ascii_digit)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                digits.parse().ok()
            }
            _ => None,
        }
    }

    /// The status of `group`, if it was part of the grant.
    pub fn group(&self, group: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.group == group)
    }

    /// Whether `group` was verified.
    pub fn is_verified(&self, group: &str) -> bool {
        self.group(group).is_some_and(|g| g.verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_by_handle_in_both_families_and_keeps_types() {
        let attrs = parse_attributes(
            json!({"attributes": [
                {"handle": "zip", "name": "Zip Code", "value": null},
                {"handle": "fname", "name": "First Name", "value": "Mary-Jane"},
                {"handle": "credential_ial", "name": "IAL", "value": "2"},
                {"handle": "level_of_assurance", "name": "LOA", "value": 3},
                {"handle": "future_thing", "name": "New", "value": {"a": [1, true]}},
                {"name": "no handle"}
            ], "status": [{"group": "military", "subgroups": ["Veteran"], "verified": true},
                          {"group": "student", "subgroups": [], "verified": "yes"}]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let claims = json!({"family_name": "Smith", "birthdate": "1990-01-02", "iss": "i",
                            "address": {"locality": "Paris"}})
        .as_object()
        .unwrap()
        .clone();
        let id = Identity::from_parts("abc", &claims, Some(&attrs));
        assert_eq!(id.text("fname").as_deref(), Some("Mary-Jane"));
        assert_eq!(id.text("given_name").as_deref(), Some("Mary-Jane"));
        assert_eq!(id.text("lname").as_deref(), Some("Smith"));
        assert_eq!(id.text("birth_date").as_deref(), Some("1990-01-02"));
        assert_eq!(id.text("city").as_deref(), Some("Paris"));
        assert_eq!(id.get("zip"), Some(&Value::Null));
        assert_eq!(id.text("zip"), None);
        assert_eq!(id.level("credential_ial"), Some(2));
        assert_eq!(id.level("level_of_assurance"), Some(3));
        assert_eq!(id.get("future_thing"), Some(&json!({"a": [1, true]})));
        assert!(id.get("iss").is_none());
        assert!(id.is_verified("military"));
        assert!(!id.is_verified("student"), "only an explicit true verifies");
        assert_eq!(id.group("military").unwrap().subgroups, ["Veteran"]);
    }
}
