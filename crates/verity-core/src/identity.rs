//! The identity model of SPEC section 8: attributes, groups, verifications, policies, and the
//! claims a grant releases in each claim-name family.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use verity_proto::attributes::{
    Attribute, AttributesResponse, GroupStatus, PolicyGroup, PolicyResponse,
};

/// The group name under which identity (IAL2) verification is recorded.
pub const IDENTITY: &str = "identity";
/// The handle of the identity policy.
pub const IDENTITY_POLICY: &str = "http://idmanagement.gov/ns/assurance/ial/2/aal/2";

/// One attribute of the catalog: its handle (ID.me family), display name, and OIDC claim.
#[derive(Debug, Clone, Copy)]
pub struct AttributeDef {
    pub handle: &'static str,
    pub name: &'static str,
    pub oidc: OidcClaim,
}

/// Where an attribute goes in the `oidc` claim-name family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcClaim {
    /// A top-level claim with this name.
    Claim(&'static str),
    /// A member of the OIDC Core 5.1.1 `address` object.
    Address(&'static str),
}

macro_rules! attr {
    ($h:literal, $n:literal) => {
        AttributeDef {
            handle: $h,
            name: $n,
            oidc: OidcClaim::Claim($h),
        }
    };
    ($h:literal, $n:literal, claim $o:literal) => {
        AttributeDef {
            handle: $h,
            name: $n,
            oidc: OidcClaim::Claim($o),
        }
    };
    ($h:literal, $n:literal, address $o:literal) => {
        AttributeDef {
            handle: $h,
            name: $n,
            oidc: OidcClaim::Address($o),
        }
    };
}

/// The attribute catalog of SPEC section 8, in display order.
pub const ATTRIBUTES: &[AttributeDef] = &[
    attr!("uuid", "Unique Identifier"),
    attr!("email", "Email"),
    // Whether the sign-in email was shown to reach its owner (a confirmation or reset link
    // followed, or an operator created the account); OIDC Core 5.1's `email_verified`.
    attr!("emails_confirmed", "Emails Confirmed", claim "email_verified"),
    attr!("fname", "First Name", claim "given_name"),
    attr!("mname", "Middle Name", claim "middle_name"),
    attr!("lname", "Last Name", claim "family_name"),
    attr!("birth_date", "Birth Date", claim "birthdate"),
    attr!("social", "Social Security Number"),
    attr!("phone", "Phone Number", claim "phone_number"),
    attr!("street", "Street", address "street_address"),
    attr!("city", "City", address "locality"),
    attr!("state", "State", address "region"),
    attr!("zip", "Zip Code", address "postal_code"),
    attr!("country", "Country", address "country"),
    attr!("military_branch", "Military Branch"),
    attr!("military_service_component", "Military Service Component"),
    attr!("military_service_started", "Military Service Started"),
    attr!("level_of_assurance", "Level of Assurance"),
    attr!("multifactor", "Multifactor"),
    attr!("credential_ial", "Identity Assurance Level"),
    attr!("credential_aal", "Authenticator Assurance Level"),
];

/// Attributes computed from verifications and the sign-in, never stored.
pub const COMPUTED: [&str; 7] = [
    "uuid",
    "email",
    "emails_confirmed",
    "level_of_assurance",
    "multifactor",
    "credential_ial",
    "credential_aal",
];

pub fn attribute(handle: &str) -> Option<&'static AttributeDef> {
    ATTRIBUTES.iter().find(|a| a.handle == handle)
}

/// A verification group: handle, display name, subgroups.
#[derive(Debug, Clone, Copy)]
pub struct GroupDef {
    pub handle: &'static str,
    pub name: &'static str,
    pub subgroups: &'static [&'static str],
}

pub const GROUPS: &[GroupDef] = &[
    GroupDef {
        handle: "military",
        name: "Military",
        subgroups: &[
            "Service Member",
            "Veteran",
            "Retiree",
            "Military Spouse",
            "Military Family",
            "Surviving Spouse",
        ],
    },
    GroupDef {
        handle: "student",
        name: "Student",
        subgroups: &[],
    },
    GroupDef {
        handle: "teacher",
        name: "Teacher",
        subgroups: &[],
    },
    GroupDef {
        handle: "responder",
        name: "First Responder",
        subgroups: &[],
    },
    GroupDef {
        handle: "nurse",
        name: "Nurse",
        subgroups: &[],
    },
    GroupDef {
        handle: "government",
        name: "Government Employee",
        subgroups: &[],
    },
    GroupDef {
        handle: IDENTITY,
        name: "Identity (IAL2)",
        subgroups: &[],
    },
];

pub fn group(handle: &str) -> Option<&'static GroupDef> {
    GROUPS.iter().find(|g| g.handle == handle)
}

/// Claim-name family: `idme` (`fname`, `birth_date`, ...) or `oidc` (`given_name`, `birthdate`,
/// `address`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Idme,
    Oidc,
}

/// What a policy needs before its verification counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "group")]
pub enum Needs {
    Nothing,
    Group(String),
    /// Identity verified at IAL2, signed in with a second factor (AAL2).
    Identity,
}

impl Needs {
    /// The verification group this policy reports in `status`, if any.
    pub fn group(&self) -> Option<&str> {
        match self {
            Needs::Nothing => None,
            Needs::Group(g) => Some(g),
            Needs::Identity => Some(IDENTITY),
        }
    }
}

/// A policy (scope handle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub handle: String,
    pub name: String,
    pub needs: Needs,
    pub releases: Vec<String>,
    /// `None`: the family follows the app's profile (built-in policies); organizations may pin one.
    pub family: Option<Family>,
}

fn policy(handle: &str, name: &str, needs: Needs, releases: &[&str]) -> Policy {
    Policy {
        handle: handle.to_owned(),
        name: name.to_owned(),
        needs,
        releases: releases.iter().map(|s| (*s).to_owned()).collect(),
        family: None,
    }
}

/// The built-in policies of SPEC section 8.
pub fn builtin_policies() -> Vec<Policy> {
    const GROUP_RELEASE: &[&str] = &["uuid", "email", "fname", "lname", "zip"];
    let mut out = vec![
        policy("openid", "OpenID", Needs::Nothing, &[]),
        policy("login", "Login", Needs::Nothing, &["uuid", "email"]),
        policy("email", "Email", Needs::Nothing, &["uuid", "email"]),
        policy(
            "profile",
            "Profile",
            Needs::Nothing,
            &["uuid", "fname", "mname", "lname"],
        ),
        policy(
            IDENTITY_POLICY,
            "Identity Verification (IAL2/AAL2)",
            Needs::Identity,
            &[
                "uuid",
                "email",
                "fname",
                "mname",
                "lname",
                "birth_date",
                "social",
                "phone",
                "street",
                "city",
                "state",
                "zip",
                "country",
                "level_of_assurance",
                "credential_ial",
                "credential_aal",
                "multifactor",
            ],
        ),
        policy(
            "military",
            "Military",
            Needs::Group("military".into()),
            &[
                "uuid",
                "email",
                "fname",
                "lname",
                "zip",
                "military_branch",
                "military_service_component",
                "military_service_started",
            ],
        ),
    ];
    for (handle, name) in [
        ("student", "Student"),
        ("teacher", "Teacher"),
        ("responder", "First Responder"),
        ("nurse", "Nurse"),
        ("government", "Government Employee"),
    ] {
        out.push(policy(
            handle,
            name,
            Needs::Group(handle.into()),
            GROUP_RELEASE,
        ));
    }
    out
}

/// One recorded verification of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub group: String,
    pub verified: bool,
    pub subgroups: Vec<String>,
}

/// A user's stored identity data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserData {
    pub uuid: String,
    pub email: String,
    /// Whether the sign-in email is confirmed (`emails_confirmed`, `email_verified`).
    pub email_confirmed: bool,
    /// Stored attributes by handle; a `null` value is kept as such.
    pub attributes: BTreeMap<String, Value>,
    pub verifications: Vec<Verification>,
}

impl UserData {
    pub fn is_verified(&self, group: &str) -> bool {
        self.verifications
            .iter()
            .any(|v| v.group == group && v.verified)
    }
}

pub use crate::authn::AuthFacts;

/// Whether a policy's needs are met by this user and sign-in.
pub fn satisfied(needs: &Needs, user: &UserData, auth: AuthFacts) -> bool {
    match needs {
        Needs::Nothing => true,
        Needs::Group(g) => user.is_verified(g),
        Needs::Identity => user.is_verified(IDENTITY) && auth.mfa,
    }
}

/// Groups that the given policies need and the user has not verified (AAL2 aside: a missing
/// second factor is the MFA step's business, not the verification page's).
pub fn missing_verifications(policies: &[&Policy], user: &UserData) -> Vec<String> {
    let mut out = Vec::new();
    for p in policies {
        if let Some(g) = p.needs.group()
            && !user.is_verified(g)
            && !out.iter().any(|o: &String| o == g)
        {
            out.push(g.to_owned());
        }
    }
    out
}

fn computed_value(handle: &str, user: &UserData, auth: AuthFacts) -> Option<Value> {
    let ial2 = user.is_verified(IDENTITY);
    Some(match handle {
        "uuid" => Value::from(user.uuid.clone()),
        "email" => Value::from(user.email.clone()),
        "emails_confirmed" => Value::from(user.email_confirmed),
        "level_of_assurance" => Value::from(if ial2 && auth.mfa { 3 } else { 1 }),
        "multifactor" => Value::from(auth.mfa),
        "credential_ial" => Value::from(if ial2 { "IAL2" } else { "IAL1" }),
        "credential_aal" => Value::from(auth.credential_aal()),
        _ => return None,
    })
}

/// The handles a policy's release of `handle` stands for: `email` brings `emails_confirmed`
/// with it (whoever receives an address learns whether it is confirmed, as ID.me's payloads
/// and OIDC's `email_verified` do), so no policy has to list it.
fn release_of(handle: &str) -> impl Iterator<Item = &str> {
    let with = (handle == "email").then_some("emails_confirmed");
    std::iter::once(handle).chain(with)
}

/// The handles `policies` release, in order of first release, each once.
fn release_order<'p>(policies: &[&'p Policy]) -> Vec<&'p str> {
    let mut handles: Vec<&str> = Vec::new();
    for p in policies {
        for h in &p.releases {
            for h in release_of(h) {
                if !handles.contains(&h) {
                    handles.push(h);
                }
            }
        }
    }
    handles
}

/// The attribute handles `policies` release, in order of first release, each once: what a
/// release record keeps (never the values).
pub fn released_handles(policies: &[&Policy]) -> Vec<String> {
    release_order(policies)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The attributes released by `policies`, in catalog order of first release; a released
/// attribute the user lacks is present as `null`.
pub fn released(policies: &[&Policy], user: &UserData, auth: AuthFacts) -> Vec<(String, Value)> {
    release_order(policies)
        .into_iter()
        .map(|h| {
            let value = computed_value(h, user, auth)
                .or_else(|| user.attributes.get(h).cloned())
                .unwrap_or(Value::Null);
            (h.to_owned(), value)
        })
        .collect()
}

/// Claims for the released attributes in one family. The `idme` family keeps `null` values
/// (ID.me sends them); the `oidc` family omits them (OIDC Core 5.3.2) and nests the address.
pub fn claims(family: Family, released: &[(String, Value)]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut address = Map::new();
    for (handle, value) in released {
        match family {
            Family::Idme => {
                out.insert(handle.clone(), value.clone());
            }
            Family::Oidc => {
                if value.is_null() {
                    continue;
                }
                match attribute(handle).map(|a| a.oidc) {
                    Some(OidcClaim::Address(member)) => {
                        address.insert(member.to_owned(), value.clone());
                    }
                    Some(OidcClaim::Claim(name)) => {
                        out.insert(name.to_owned(), value.clone());
                    }
                    None => {
                        out.insert(handle.clone(), value.clone());
                    }
                }
            }
        }
    }
    if !address.is_empty() {
        out.insert("address".into(), Value::Object(address));
    }
    out
}

/// The `status` entries: one per granted policy that verifies a group.
pub fn status(policies: &[&Policy], user: &UserData, auth: AuthFacts) -> Vec<GroupStatus> {
    let mut out: Vec<GroupStatus> = Vec::new();
    for p in policies {
        let Some(g) = p.needs.group() else { continue };
        if out.iter().any(|s| s.group == g) {
            continue;
        }
        let subgroups = user
            .verifications
            .iter()
            .find(|v| v.group == g && v.verified)
            .map(|v| v.subgroups.clone())
            .unwrap_or_default();
        out.push(GroupStatus {
            group: g.to_owned(),
            subgroups,
            verified: satisfied(&p.needs, user, auth),
        });
    }
    out
}

/// `attributes.json` (SPEC section 7): handles are always the catalog's (ID.me) handles.
pub fn attributes_response(
    policies: &[&Policy],
    user: &UserData,
    auth: AuthFacts,
) -> AttributesResponse {
    let attributes = released(policies, user, auth)
        .into_iter()
        .map(|(handle, value)| Attribute {
            name: attribute(&handle).map_or_else(|| handle.clone(), |a| a.name.to_owned()),
            handle,
            value,
        })
        .collect();
    AttributesResponse {
        attributes,
        status: status(policies, user, auth),
    }
}

/// One element of the `policies` answer.
pub fn policy_response(p: &Policy) -> PolicyResponse {
    let groups = p
        .needs
        .group()
        .and_then(group)
        .map(|g| PolicyGroup {
            name: g.name.to_owned(),
            handle: g.handle.to_owned(),
            subgroups: g.subgroups.iter().map(|s| (*s).to_owned()).collect(),
        })
        .into_iter()
        .collect();
    PolicyResponse {
        name: p.name.clone(),
        handle: p.handle.clone(),
        active: true,
        groups,
    }
}

/// Every claim name either family can release (for `claims_supported`).
pub fn claims_supported() -> Vec<String> {
    let mut out: Vec<String> = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "at_hash",
        "jti",
        "address",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for a in ATTRIBUTES {
        for name in [
            a.handle,
            match a.oidc {
                OidcClaim::Claim(c) => c,
                OidcClaim::Address(_) => a.handle,
            },
        ] {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn veteran() -> UserData {
        UserData {
            uuid: "u1".into(),
            email: "veteran@sandbox.test".into(),
            email_confirmed: true,
            attributes: BTreeMap::from([
                ("fname".into(), json!("Jane")),
                ("lname".into(), json!("Doe")),
                ("zip".into(), Value::Null),
                ("military_branch".into(), json!("Navy")),
            ]),
            verifications: vec![Verification {
                group: "military".into(),
                verified: true,
                subgroups: vec!["Veteran".into()],
            }],
        }
    }

    fn policies(handles: &[&str]) -> Vec<Policy> {
        builtin_policies()
            .into_iter()
            .filter(|p| handles.contains(&p.handle.as_str()))
            .collect()
    }

    #[test]
    fn military_release_and_status() {
        let ps = policies(&["military"]);
        let refs: Vec<&Policy> = ps.iter().collect();
        let resp = attributes_response(&refs, &veteran(), AuthFacts::default());
        let handles: Vec<&str> = resp.attributes.iter().map(|a| a.handle.as_str()).collect();
        let expected = "uuid email emails_confirmed fname lname zip military_branch \
                        military_service_component military_service_started";
        assert_eq!(handles, expected.split_whitespace().collect::<Vec<_>>());
        assert_eq!(resp.attributes[2].value, Value::Bool(true));
        assert_eq!(resp.attributes[5].value, Value::Null);
        assert_eq!(
            resp.status,
            vec![GroupStatus {
                group: "military".into(),
                subgroups: vec!["Veteran".into()],
                verified: true
            }]
        );
    }

    #[test]
    fn families_rename_and_nest() {
        let ps = policies(&["profile", "military"]);
        let refs: Vec<&Policy> = ps.iter().collect();
        let mut user = veteran();
        user.attributes.insert("zip".into(), json!("12345"));
        let rel = released(&refs, &user, AuthFacts::default());
        let idme = claims(Family::Idme, &rel);
        assert_eq!(idme["fname"], json!("Jane"));
        assert_eq!(idme["mname"], Value::Null);
        let oidc = claims(Family::Oidc, &rel);
        assert_eq!(oidc["given_name"], json!("Jane"));
        assert_eq!(oidc["email_verified"], json!(true), "released with email");
        assert_eq!(idme["emails_confirmed"], json!(true));
        assert!(!oidc.contains_key("middle_name"));
        assert_eq!(oidc["address"], json!({"postal_code": "12345"}));
    }

    #[test]
    fn an_unconfirmed_email_is_released_as_such_and_only_with_the_email() {
        let mut user = veteran();
        user.email_confirmed = false;
        let ps = policies(&["military"]);
        let rel = released(&ps.iter().collect::<Vec<_>>(), &user, AuthFacts::default());
        assert_eq!(claims(Family::Oidc, &rel)["email_verified"], json!(false));
        let ps = policies(&["profile"]);
        let refs: Vec<&Policy> = ps.iter().collect();
        let rel = released(&refs, &user, AuthFacts::default());
        assert!(rel.iter().all(|(h, _)| h != "emails_confirmed"), "{rel:?}");
        assert!(!released_handles(&refs).contains(&"emails_confirmed".to_owned()));
    }

    #[test]
    fn identity_needs_mfa() {
        let ps = policies(&[IDENTITY_POLICY]);
        let refs: Vec<&Policy> = ps.iter().collect();
        let mut user = veteran();
        user.verifications.push(Verification {
            group: IDENTITY.into(),
            verified: true,
            subgroups: vec![],
        });
        assert!(!status(&refs, &user, AuthFacts::password(false))[0].verified);
        assert!(status(&refs, &user, AuthFacts::password(true))[0].verified);
        assert!(missing_verifications(&refs, &user).is_empty());
    }
}
