//! How a person authenticated, and what an app may demand of it (SPEC 3 and 13; NIST SP 800-63B
//! rev. 4; RFC 8176 for `amr`).
//!
//! Three ways in: a password (AAL1); a password and a second factor, a TOTP code or a passkey
//! (AAL2); a passkey alone (AAL2: WebAuthn passkeys always verify the person, by PIN or
//! biometric, so one is a multi-factor authenticator). Only a passkey is phishing resistant: its
//! signature covers the origin the browser saw, so a relaying page gets nothing it can use.
//!
//! What an app may demand comes from `acr_values` (OIDC Core 3.1.2.1) and from the app's own
//! setting, and the sign-in journey asks for whatever is still missing ([`Demand::met`]).

use serde::{Deserialize, Serialize};

/// `acr` for a password alone.
pub const ACR_AAL1: &str = "http://idmanagement.gov/ns/assurance/aal/1";
/// `acr` for two factors, one of which may be phishable (TOTP).
pub const ACR_AAL2: &str = "http://idmanagement.gov/ns/assurance/aal/2";
/// `acr` for two factors through a phishing-resistant authenticator (a passkey): login.gov's
/// value for the same demand.
pub const ACR_AAL2_PHISHING_RESISTANT: &str =
    "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true";

/// Every `acr` value this provider understands, weakest first (discovery's
/// `acr_values_supported`).
pub const ACR_VALUES: [&str; 3] = [ACR_AAL1, ACR_AAL2, ACR_AAL2_PHISHING_RESISTANT];

/// How long a WebAuthn challenge may be answered (seconds). A ceremony is a tap or a fingerprint:
/// five minutes leave room for finding a security key, not for a relayed session to wait.
pub const CHALLENGE_TTL: i64 = 300;

/// The longest name a person may give a passkey.
pub const PASSKEY_NAME_MAX_CHARS: usize = 60;

/// A passkey's part in a sign-in: where its key lives, and whether it was beside a password.
///
/// `hardware` is read from the authenticator's backup eligibility (WebAuthn Level 3 `BE`): a
/// credential that cannot leave its device is a hardware-bound key (`hwk`); one that a platform
/// syncs between devices is software-held as far as the provider can tell (`swk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    pub hardware: bool,
    /// The password was given first in the same sign-in (the passkey was the second factor).
    pub with_password: bool,
}

impl KeyUse {
    /// The RFC 8176 `amr` values for this use. A passkey always verifies its person (`user`)
    /// and is multi-factor on its own (`mfa`).
    pub fn amr(self) -> Vec<&'static str> {
        let mut amr = Vec::with_capacity(4);
        if self.with_password {
            amr.push("pwd");
        }
        amr.push(if self.hardware { "hwk" } else { "swk" });
        amr.extend(["user", "mfa"]);
        amr
    }

    /// The stored form: `amr` values joined by spaces.
    pub fn as_stored(self) -> String {
        self.amr().join(" ")
    }

    /// Reads [`KeyUse::as_stored`] back.
    pub fn from_stored(stored: &str) -> Option<KeyUse> {
        let words: Vec<&str> = stored.split(' ').collect();
        let hardware = words.contains(&"hwk");
        if !hardware && !words.contains(&"swk") {
            return None;
        }
        Some(KeyUse {
            hardware,
            with_password: words.contains(&"pwd"),
        })
    }
}

impl Serialize for KeyUse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_stored())
    }
}

impl<'de> Deserialize<'de> for KeyUse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = String::deserialize(d)?;
        KeyUse::from_stored(&stored)
            .ok_or_else(|| serde::de::Error::custom("not a stored passkey use"))
    }
}

/// How the user authenticated for this grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthFacts {
    /// Two factors were shown (a password and a code or passkey, or a passkey alone).
    pub mfa: bool,
    /// A passkey was used (`None`: a password, and a TOTP or recovery code when `mfa`).
    #[serde(default)]
    pub passkey: Option<KeyUse>,
}

impl AuthFacts {
    /// A password, then a TOTP or recovery code when `mfa`.
    pub fn password(mfa: bool) -> AuthFacts {
        AuthFacts { mfa, passkey: None }
    }

    /// The sign-in's RFC 8176 `amr` values.
    pub fn amr(&self) -> Vec<&'static str> {
        match self.passkey {
            Some(key) => key.amr(),
            None if self.mfa => vec!["pwd", "otp", "mfa"],
            None => vec!["pwd"],
        }
    }

    /// Whether no relaying page could have obtained this sign-in.
    pub fn phishing_resistant(&self) -> bool {
        self.mfa && self.passkey.is_some()
    }

    /// The authentication context class reached.
    pub fn acr(&self) -> &'static str {
        self.level().acr()
    }

    /// The assurance level reached.
    pub fn level(&self) -> Level {
        if self.phishing_resistant() {
            Level::PhishingResistant
        } else if self.mfa {
            Level::Aal2
        } else {
            Level::Aal1
        }
    }

    /// The `credential_aal` attribute value.
    pub fn credential_aal(&self) -> &'static str {
        if self.mfa { "AAL2" } else { "AAL1" }
    }
}

/// Authentication assurance, ordered weakest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Aal1,
    Aal2,
    PhishingResistant,
}

impl Level {
    pub fn acr(self) -> &'static str {
        match self {
            Level::Aal1 => ACR_AAL1,
            Level::Aal2 => ACR_AAL2,
            Level::PhishingResistant => ACR_AAL2_PHISHING_RESISTANT,
        }
    }

    fn from_acr(value: &str) -> Option<Level> {
        match value {
            ACR_AAL1 => Some(Level::Aal1),
            ACR_AAL2 => Some(Level::Aal2),
            ACR_AAL2_PHISHING_RESISTANT => Some(Level::PhishingResistant),
            _ => None,
        }
    }
}

/// The level an `acr_values` parameter demands: the weakest value it lists that this provider
/// knows (the app accepts any of them; OIDC Core 3.1.2.1), values it does not know ignored.
/// `None` when it names none this provider knows.
pub fn demanded_by_acr_values(acr_values: &str) -> Option<Level> {
    acr_values.split(' ').filter_map(Level::from_acr).min()
}

/// What a sign-in must reach for this request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Demand {
    /// The request's `acr_values`, as [`demanded_by_acr_values`] reads them.
    pub acr: Option<Level>,
    /// The app requires phishing-resistant sign-ins (its `require_phishing_resistant` setting).
    pub app_phishing_resistant: bool,
}

impl Demand {
    /// The level required (AAL1 when nothing is demanded).
    pub fn level(&self) -> Level {
        let app = if self.app_phishing_resistant {
            Level::PhishingResistant
        } else {
            Level::Aal1
        };
        self.acr.unwrap_or_default().max(app)
    }

    /// Whether `auth` reaches it.
    pub fn met(&self, auth: AuthFacts) -> bool {
        auth.level() >= self.level()
    }
}

/// What is wrong with a name a person gives a passkey, if anything.
pub fn passkey_name_problem(name: &str) -> Option<&'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Some("Give the passkey a name, such as the device it is on.");
    }
    if name.chars().count() > PASSKEY_NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Some("Use at most 60 letters, digits and spaces.");
    }
    None
}

/// The WebAuthn user handle of an account: its uuid's 16 bytes when it is 32 hex digits (every
/// account Verity creates), else the first 16 bytes of its SHA-256 (an imported identifier). No
/// email or name: a user handle must not identify the person to anyone but this provider.
pub fn user_handle(uuid: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    if uuid.len() == 32 && uuid.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, pair) in uuid.as_bytes().chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).unwrap_or("00");
            out[i] = u8::from_str_radix(text, 16).unwrap_or(0);
        }
    } else {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, uuid.as_bytes());
        out.copy_from_slice(&digest.as_ref()[..16]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HW_SECOND: KeyUse = KeyUse {
        hardware: true,
        with_password: true,
    };
    const SYNCED_ALONE: KeyUse = KeyUse {
        hardware: false,
        with_password: false,
    };

    #[test]
    fn amr_says_what_happened() {
        assert_eq!(AuthFacts::password(false).amr(), ["pwd"]);
        assert_eq!(AuthFacts::password(true).amr(), ["pwd", "otp", "mfa"]);
        let second = AuthFacts {
            mfa: true,
            passkey: Some(HW_SECOND),
        };
        assert_eq!(second.amr(), ["pwd", "hwk", "user", "mfa"]);
        let alone = AuthFacts {
            mfa: true,
            passkey: Some(SYNCED_ALONE),
        };
        assert_eq!(alone.amr(), ["swk", "user", "mfa"]);
        assert_eq!(alone.acr(), ACR_AAL2_PHISHING_RESISTANT);
        assert_eq!(AuthFacts::password(true).acr(), ACR_AAL2);
        assert_eq!(AuthFacts::password(false).acr(), ACR_AAL1);
    }

    #[test]
    fn key_use_round_trips_through_storage() {
        for hardware in [true, false] {
            for with_password in [true, false] {
                let k = KeyUse {
                    hardware,
                    with_password,
                };
                assert_eq!(KeyUse::from_stored(&k.as_stored()), Some(k));
                let json = serde_json::to_string(&k).unwrap_or_default();
                assert_eq!(serde_json::from_str::<KeyUse>(&json).ok(), Some(k));
            }
        }
        assert_eq!(KeyUse::from_stored("pwd otp mfa"), None);
    }

    #[test]
    fn acr_values_demand_the_weakest_known_value() {
        assert_eq!(demanded_by_acr_values("urn:other"), None);
        assert_eq!(
            demanded_by_acr_values(ACR_AAL2_PHISHING_RESISTANT),
            Some(Level::PhishingResistant)
        );
        let both = format!("{ACR_AAL2_PHISHING_RESISTANT} {ACR_AAL2}");
        assert_eq!(demanded_by_acr_values(&both), Some(Level::Aal2));
    }

    #[test]
    fn demands_are_met_only_by_enough() {
        let pr = Demand {
            acr: Some(Level::PhishingResistant),
            app_phishing_resistant: false,
        };
        assert!(!pr.met(AuthFacts::password(true)));
        assert!(pr.met(AuthFacts {
            mfa: true,
            passkey: Some(SYNCED_ALONE)
        }));
        let app = Demand {
            acr: Some(Level::Aal1),
            app_phishing_resistant: true,
        };
        assert_eq!(app.level(), Level::PhishingResistant);
        assert!(Demand::default().met(AuthFacts::password(false)));
        let aal2 = Demand {
            acr: Some(Level::Aal2),
            app_phishing_resistant: false,
        };
        assert!(!aal2.met(AuthFacts::password(false)));
        assert!(aal2.met(AuthFacts::password(true)));
    }

    #[test]
    fn user_handles_are_the_uuid_bytes() {
        let h = user_handle("000102030405060708090a0b0c0d0e0f");
        assert_eq!(h, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        assert_ne!(user_handle("persona-1"), user_handle("persona-2"));
    }

    #[test]
    fn passkey_names_are_short_and_printable() {
        assert!(passkey_name_problem("  ").is_some());
        assert!(passkey_name_problem("Laptop\u{7}").is_some());
        assert!(passkey_name_problem(&"x".repeat(61)).is_some());
        assert_eq!(passkey_name_problem("Work laptop"), None);
    }
}
