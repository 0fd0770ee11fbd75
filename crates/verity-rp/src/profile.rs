//! The profile form: its fields, where each value comes from (verified by the provider, or typed
//! by the person), and the checks a save must pass. No I/O: the routes read and store, this
//! decides.
//!
//! The verified values (`verifications`) and what the person saved (`saved_profiles`) are kept
//! apart: a save never overwrites what the provider said, and the page can tell the two apart.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use verity_client::Identity;

/// One field of the form, read by handle, never by position.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub handle: &'static str,
    pub label: &'static str,
    /// The HTML `autocomplete` token, so browsers and password managers fill the right field.
    pub autocomplete: &'static str,
    /// The HTML input `type`.
    pub kind: &'static str,
}

const fn field(
    handle: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    kind: &'static str,
) -> Field {
    Field {
        handle,
        label,
        autocomplete,
        kind,
    }
}

/// The form, in the order it is shown.
pub const FIELDS: &[Field] = &[
    field("fname", "First name", "given-name", "text"),
    field("mname", "Middle name", "additional-name", "text"),
    field("lname", "Last name", "family-name", "text"),
    field("email", "Email", "email", "email"),
    field("birth_date", "Birth date", "bday", "text"),
    field("phone", "Phone", "tel", "tel"),
    field("street", "Street", "street-address", "text"),
    field("city", "City", "address-level2", "text"),
    field("state", "State", "address-level1", "text"),
    field("zip", "Zip code", "postal-code", "text"),
    field("country", "Country", "country", "text"),
];

/// The longest text a field keeps, in characters.
pub const MAX_LEN: usize = 200;

/// Where the value shown in a field comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// As the provider verified it.
    Verified,
    /// What the person saved here, different from the verified value.
    Typed,
    /// The provider shared nothing and the person typed nothing.
    Empty,
}

/// Why a submitted field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    TooLong,
    ControlCharacter,
}

impl FieldError {
    /// The sentence shown beside the field.
    pub fn message(self) -> String {
        match self {
            FieldError::TooLong => format!("Use at most {MAX_LEN} characters."),
            FieldError::ControlCharacter => "Use one line of text, without tabs.".to_owned(),
        }
    }
}

/// A field as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ShownField {
    pub handle: &'static str,
    pub label: &'static str,
    pub autocomplete: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub source: Source,
    /// The verified value, when the person typed something else (shown beside it).
    pub verified: Option<String>,
    /// Why the value just submitted was refused.
    pub error: Option<String>,
}

/// The verified text of `handle` (`None`: not shared, or shared as null).
fn verified(identity: &Identity, handle: &str) -> Option<String> {
    identity.text(handle).filter(|v| !v.is_empty())
}

/// The form as stored: the saved value where there is one, else the verified value.
pub fn show(identity: &Identity, saved: &BTreeMap<String, String>) -> Vec<ShownField> {
    FIELDS
        .iter()
        .map(|f| {
            let verified = verified(identity, f.handle);
            let typed = saved
                .get(f.handle)
                .filter(|t| verified.as_ref() != Some(*t));
            let (value, source) = match (typed, &verified) {
                (Some(typed), _) => (typed.clone(), Source::Typed),
                (None, Some(v)) => (v.clone(), Source::Verified),
                (None, None) => (String::new(), Source::Empty),
            };
            ShownField {
                handle: f.handle,
                label: f.label,
                autocomplete: f.autocomplete,
                kind: f.kind,
                verified: verified.filter(|_| source == Source::Typed),
                value,
                source,
                error: None,
            }
        })
        .collect()
}

/// The outcome of a submitted form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// What to store (replacing the previous save), and the handles whose shown value changed.
    Save {
        fields: BTreeMap<String, String>,
        changed: Vec<&'static str>,
    },
    /// Refused: the errors by handle, and the text as typed to show back.
    Refused {
        errors: Vec<(&'static str, FieldError)>,
        typed: BTreeMap<String, String>,
    },
}

/// Checks a submitted form against the verified values and the previous save. Each field is
/// trimmed; a value equal to the verified one is not kept (the field stays "verified"); a field
/// missing from the form keeps its previous save. Unknown names are ignored.
pub fn submit(
    identity: &Identity,
    previous: &BTreeMap<String, String>,
    form: &HashMap<String, String>,
) -> Submitted {
    let mut fields = BTreeMap::new();
    let mut changed = Vec::new();
    let mut errors = Vec::new();
    let mut typed = BTreeMap::new();
    for f in FIELDS {
        let verified = verified(identity, f.handle).unwrap_or_default();
        let before = previous.get(f.handle).unwrap_or(&verified).clone();
        let Some(raw) = form.get(f.handle) else {
            if let Some(kept) = previous.get(f.handle) {
                fields.insert(f.handle.to_owned(), kept.clone());
            }
            continue;
        };
        let value = raw.trim();
        typed.insert(f.handle.to_owned(), value.to_owned());
        if value.chars().count() > MAX_LEN {
            errors.push((f.handle, FieldError::TooLong));
            continue;
        }
        if value.chars().any(char::is_control) {
            errors.push((f.handle, FieldError::ControlCharacter));
            continue;
        }
        if value != before {
            changed.push(f.handle);
        }
        if value != verified {
            fields.insert(f.handle.to_owned(), value.to_owned());
        }
    }
    if errors.is_empty() {
        Submitted::Save { fields, changed }
    } else {
        Submitted::Refused { errors, typed }
    }
}

/// The form shown back after a refused save: what the person typed, each error beside its field.
pub fn show_refused(
    identity: &Identity,
    previous: &BTreeMap<String, String>,
    typed: &BTreeMap<String, String>,
    errors: &[(&'static str, FieldError)],
) -> Vec<ShownField> {
    let mut shown = show(identity, previous);
    for f in &mut shown {
        if let Some(t) = typed.get(f.handle) {
            f.value.clone_from(t);
        }
        f.error = errors
            .iter()
            .find(|(h, _)| *h == f.handle)
            .map(|(_, e)| e.message());
    }
    shown
}

/// How the app greets the person: their first name as shown on the profile, else their email.
pub fn greeting_name(shown: &[ShownField]) -> Option<String> {
    ["fname", "email"].iter().find_map(|handle| {
        shown
            .iter()
            .find(|f| f.handle == *handle)
            .map(|f| f.value.clone())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity() -> Identity {
        let claims = json!({"given_name": "Jordan", "email": "j@example.test", "city": "Norfolk",
                            "zip": null});
        Identity::from_parts("sub", claims.as_object().unwrap(), None)
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn field<'a>(shown: &'a [ShownField], handle: &str) -> &'a ShownField {
        shown.iter().find(|f| f.handle == handle).unwrap()
    }

    #[test]
    fn a_typed_value_is_kept_beside_the_verified_one_and_shown_first() {
        let id = identity();
        let Submitted::Save { fields, changed } = submit(
            &id,
            &BTreeMap::new(),
            &form(&[("fname", " Jordan "), ("city", "Richmond"), ("zip", "")]),
        ) else {
            panic!("refused");
        };
        assert_eq!(fields.len(), 1, "only what differs from the verified value");
        assert_eq!(fields["city"], "Richmond");
        assert_eq!(changed, ["city"]);
        let shown = show(&id, &fields);
        let city = field(&shown, "city");
        assert_eq!(
            (city.value.as_str(), city.source),
            ("Richmond", Source::Typed)
        );
        assert_eq!(city.verified.as_deref(), Some("Norfolk"));
        let fname = field(&shown, "fname");
        assert_eq!(
            (fname.value.as_str(), fname.source),
            ("Jordan", Source::Verified)
        );
        assert_eq!(field(&shown, "zip").source, Source::Empty, "null is empty");
        assert_eq!(greeting_name(&shown).as_deref(), Some("Jordan"));
    }

    #[test]
    fn setting_a_field_back_to_the_verified_value_forgets_the_typed_one() {
        let id = identity();
        let previous = BTreeMap::from([("city".to_owned(), "Richmond".to_owned())]);
        let Submitted::Save { fields, changed } =
            submit(&id, &previous, &form(&[("city", "Norfolk")]))
        else {
            panic!("refused");
        };
        assert!(fields.is_empty());
        assert_eq!(changed, ["city"]);
        // A field left out of the form keeps its previous save.
        let Submitted::Save { fields, changed } = submit(&id, &previous, &form(&[("fname", "Jo")]))
        else {
            panic!("refused");
        };
        assert_eq!(fields["city"], "Richmond");
        assert_eq!(fields["fname"], "Jo");
        assert_eq!(changed, ["fname"]);
    }

    #[test]
    fn too_long_or_multi_line_text_is_refused_and_shown_back() {
        let id = identity();
        let long = "x".repeat(MAX_LEN + 1);
        let Submitted::Refused { errors, typed } = submit(
            &id,
            &BTreeMap::new(),
            &form(&[("city", &long), ("street", "1 Main\nSt"), ("fname", "Jo")]),
        ) else {
            panic!("saved");
        };
        assert_eq!(
            errors,
            [
                ("street", FieldError::ControlCharacter),
                ("city", FieldError::TooLong)
            ]
        );
        let shown = show_refused(&id, &BTreeMap::new(), &typed, &errors);
        assert_eq!(field(&shown, "city").value, long, "kept as typed");
        assert_eq!(field(&shown, "fname").value, "Jo");
        assert!(field(&shown, "city").error.is_some());
        assert!(field(&shown, "fname").error.is_none());
        // Exactly the limit is fine, counted in characters, not bytes.
        let Submitted::Save { fields, .. } = submit(
            &id,
            &BTreeMap::new(),
            &form(&[("city", &"é".repeat(MAX_LEN))]),
        ) else {
            panic!("refused");
        };
        assert_eq!(fields["city"].chars().count(), MAX_LEN);
    }
}
