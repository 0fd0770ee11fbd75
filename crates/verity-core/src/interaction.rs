//! Which page of the sign-in journey comes next (OIDC Core 3.1.2.3 / 3.1.2.4, SPEC section 3).
//!
//! The journey is: sign in (or sign up), then the second factor, then verification of any group a
//! requested policy needs, then consent, then a code. This module only decides; the server renders.

use verity_proto::error::ErrorCode;

use crate::authn::{AuthFacts, Demand, KeyUse, Level};
use crate::authorize::{AuthorizeRequest, Op};

/// The signed-in session, as far as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts {
    pub auth_time: i64,
    pub mfa: bool,
    pub passkey: Option<KeyUse>,
}

impl SessionFacts {
    pub fn auth(&self) -> AuthFacts {
        AuthFacts {
            mfa: self.mfa,
            passkey: self.passkey,
        }
    }
}

/// Everything known about this authorization attempt.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub request: &'a AuthorizeRequest,
    pub now: i64,
    pub session: Option<SessionFacts>,
    /// The user signed in during this very interaction (satisfies `prompt=login` and `max_age`).
    pub signed_in_here: bool,
    pub user_has_totp: bool,
    /// The user has registered at least one passkey.
    pub user_has_passkey: bool,
    /// What the request and the app demand of the sign-in (`acr_values`, the app's setting).
    pub demand: Demand,
    /// A requested policy needs AAL2 (the identity policy).
    pub needs_aal2: bool,
    /// Groups a requested policy needs that the user has not verified.
    pub missing_verifications: Vec<String>,
    /// The user already answered the verification page in this interaction.
    pub verification_answered: bool,
    /// A remembered `allow` covers the requested scopes.
    pub consent_remembered: bool,
    /// The user allowed in this interaction.
    pub consented_here: bool,
}

/// Which second factors the second-factor page may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondFactors {
    pub totp: bool,
    pub passkey: bool,
    /// A recovery code stands in for a lost second factor (never for a phishing-resistant
    /// demand: a code can be relayed).
    pub recovery_code: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    SignIn,
    SignUp,
    Mfa(SecondFactors),
    /// The request demands more than this account can give (a passkey it has not registered):
    /// the person is told, and may go back to the app (`unmet_authentication_requirements`).
    Unmet(Level),
    Verify(Vec<String>),
    Consent,
    /// Everything is satisfied: issue the code.
    Issue,
    /// `prompt=none` and something needs the user: answer this error to the app.
    Fail(ErrorCode),
}

pub fn next_step(f: &Facts<'_>) -> Step {
    let req = f.request;
    let login_needed = match f.session {
        None => true,
        Some(s) if !f.signed_in_here => {
            req.prompt.login || req.max_age.is_some_and(|max| f.now - s.auth_time > max)
        }
        Some(_) => false,
    };
    if login_needed {
        if req.prompt.none {
            return Step::Fail(ErrorCode::LoginRequired);
        }
        return match req.op {
            Op::Signup if f.session.is_none() => Step::SignUp,
            _ => Step::SignIn,
        };
    }
    let auth = f.session.map(|s| s.auth()).unwrap_or_default();
    let demanded = f.demand.level();
    // What the demand leaves usable: a phishing-resistant demand takes a passkey only.
    let phishable = demanded < Level::PhishingResistant;
    let factors = SecondFactors {
        totp: f.user_has_totp && phishable,
        passkey: f.user_has_passkey,
        recovery_code: (f.user_has_totp || f.user_has_passkey) && phishable,
    };
    if !f.demand.met(auth) {
        if req.prompt.none {
            return Step::Fail(ErrorCode::LoginRequired);
        }
        if factors.totp || factors.passkey {
            return Step::Mfa(factors);
        }
        return Step::Unmet(demanded);
    }
    // A second factor is asked when one is enrolled; a policy at AAL2 needs it too, but can only
    // get it from a user who has one (otherwise that policy reports unverified).
    if (f.user_has_totp || f.user_has_passkey) && !auth.mfa {
        if req.prompt.none {
            return Step::Fail(ErrorCode::LoginRequired);
        }
        return Step::Mfa(SecondFactors {
            totp: f.user_has_totp,
            passkey: f.user_has_passkey,
            recovery_code: true,
        });
    }
    if !f.missing_verifications.is_empty() && !f.verification_answered {
        if req.prompt.none {
            return Step::Fail(ErrorCode::InteractionRequired);
        }
        return Step::Verify(f.missing_verifications.clone());
    }
    let consent_needed = (!f.consent_remembered || req.prompt.consent) && !f.consented_here;
    if consent_needed {
        if req.prompt.none {
            return Step::Fail(ErrorCode::ConsentRequired);
        }
        return Step::Consent;
    }
    Step::Issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::Prompt;
    use crate::scope::ScopeSet;

    fn request() -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: "c".into(),
            response_mode: Default::default(),
            redirect_uri: crate::redirect::RedirectUri::registered(
                &["https://a/cb".into()],
                "https://a/cb",
            )
            .unwrap(),
            scope: ScopeSet::parse("openid").unwrap(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            op: Op::Signin,
            eid: None,
            claims: None,
            dpop_jkt: None,
            acr: None,
        }
    }

    fn facts(req: &AuthorizeRequest) -> Facts<'_> {
        Facts {
            request: req,
            now: 1000,
            session: Some(SessionFacts {
                auth_time: 900,
                mfa: false,
                passkey: None,
            }),
            signed_in_here: false,
            user_has_totp: false,
            user_has_passkey: false,
            demand: Demand::default(),
            needs_aal2: false,
            missing_verifications: vec![],
            verification_answered: false,
            consent_remembered: true,
            consented_here: false,
        }
    }

    #[test]
    fn live_session_with_consent_issues() {
        let r = request();
        assert_eq!(next_step(&facts(&r)), Step::Issue);
    }

    #[test]
    fn no_session_signs_in_or_up() {
        let mut r = request();
        let mut f = facts(&r);
        f.session = None;
        assert_eq!(next_step(&f), Step::SignIn);
        r.op = Op::Signup;
        let mut f = facts(&r);
        f.session = None;
        assert_eq!(next_step(&f), Step::SignUp);
        r.prompt.none = true;
        let mut f = facts(&r);
        f.session = None;
        assert_eq!(next_step(&f), Step::Fail(ErrorCode::LoginRequired));
    }

    #[test]
    fn prompt_login_and_max_age_force_a_fresh_sign_in() {
        let mut r = request();
        r.prompt.login = true;
        assert_eq!(next_step(&facts(&r)), Step::SignIn);
        let mut f = facts(&r);
        f.signed_in_here = true;
        assert_eq!(next_step(&f), Step::Issue);
        let mut r = request();
        r.max_age = Some(50);
        assert_eq!(next_step(&facts(&r)), Step::SignIn);
        r.max_age = Some(100);
        assert_eq!(next_step(&facts(&r)), Step::Issue);
    }

    #[test]
    fn mfa_verification_and_consent_in_order() {
        let mut r = request();
        let mut f = facts(&r);
        f.user_has_totp = true;
        f.missing_verifications = vec!["military".into()];
        f.consent_remembered = false;
        let totp_only = SecondFactors {
            totp: true,
            passkey: false,
            recovery_code: true,
        };
        assert_eq!(next_step(&f), Step::Mfa(totp_only));
        f.session = Some(SessionFacts {
            auth_time: 900,
            mfa: true,
            passkey: None,
        });
        assert_eq!(next_step(&f), Step::Verify(vec!["military".into()]));
        f.verification_answered = true;
        assert_eq!(next_step(&f), Step::Consent);
        f.consented_here = true;
        assert_eq!(next_step(&f), Step::Issue);
        r.prompt.consent = true;
        let mut f = facts(&r);
        assert_eq!(next_step(&f), Step::Consent);
        f.consented_here = true;
        assert_eq!(next_step(&f), Step::Issue);
    }

    #[test]
    fn prompt_none_never_shows_a_page() {
        let mut r = request();
        r.prompt.none = true;
        let mut f = facts(&r);
        f.consent_remembered = false;
        assert_eq!(next_step(&f), Step::Fail(ErrorCode::ConsentRequired));
        f.missing_verifications = vec!["student".into()];
        assert_eq!(next_step(&f), Step::Fail(ErrorCode::InteractionRequired));
    }

    #[test]
    fn a_phishing_resistant_demand_takes_a_passkey_only() {
        let mut r = request();
        r.acr = Some(Level::PhishingResistant);
        let mut f = facts(&r);
        f.demand.acr = r.acr;
        f.user_has_totp = true;
        // TOTP already passed is not enough, and the page offers no TOTP.
        f.session = Some(SessionFacts {
            auth_time: 900,
            mfa: true,
            passkey: None,
        });
        assert_eq!(next_step(&f), Step::Unmet(Level::PhishingResistant));
        f.user_has_passkey = true;
        let passkey_only = SecondFactors {
            totp: false,
            passkey: true,
            recovery_code: false,
        };
        assert_eq!(next_step(&f), Step::Mfa(passkey_only));
        f.session = Some(SessionFacts {
            auth_time: 900,
            mfa: true,
            passkey: Some(KeyUse {
                hardware: false,
                with_password: true,
            }),
        });
        assert_eq!(next_step(&f), Step::Issue);
        r.prompt.none = true;
        let mut f = facts(&r);
        f.demand.acr = r.acr;
        assert_eq!(next_step(&f), Step::Fail(ErrorCode::LoginRequired));
    }

    #[test]
    fn an_app_setting_demands_as_acr_values_do() {
        let r = request();
        let mut f = facts(&r);
        f.demand.app_phishing_resistant = true;
        assert_eq!(next_step(&f), Step::Unmet(Level::PhishingResistant));
        // A passkey alone (passwordless) meets it.
        f.session = Some(SessionFacts {
            auth_time: 900,
            mfa: true,
            passkey: Some(KeyUse {
                hardware: true,
                with_password: false,
            }),
        });
        assert_eq!(next_step(&f), Step::Issue);
    }

    #[test]
    fn an_enrolled_passkey_is_asked_after_a_password() {
        let r = request();
        let mut f = facts(&r);
        f.user_has_passkey = true;
        // A lost passkey: a recovery code stands in.
        let passkey_only = SecondFactors {
            totp: false,
            passkey: true,
            recovery_code: true,
        };
        assert_eq!(next_step(&f), Step::Mfa(passkey_only));
    }
}
