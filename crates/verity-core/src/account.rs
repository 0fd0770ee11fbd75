//! The rules an account's credentials must meet, the same at sign-up, through the admin API and
//! from the `verity admin` command (NIST SP 800-63B 5.1.1.2 for passwords).

/// The most bytes of a password (argon2id's input stays bounded; a form holds less anyway).
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// The fewest characters of a new password (SP 800-63B: at least 8, no composition rules).
pub const PASSWORD_MIN_CHARS: usize = 8;

/// The most bytes of an email address (RFC 5321 4.5.3.1.3, less the angle brackets).
pub const EMAIL_MAX_BYTES: usize = 254;

/// Whether `password` may be chosen as a new password.
pub fn acceptable_password(password: &str) -> bool {
    password.chars().count() >= PASSWORD_MIN_CHARS && password.len() <= PASSWORD_MAX_BYTES
}

/// Whether `email` (already trimmed and lowercased) looks like a deliverable address: one `@`
/// part with a dotted domain, no spaces or control characters.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= EMAIL_MAX_BYTES
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An email as accounts are keyed: trimmed and lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A field of the sign-up form (SPEC 3), named as the form names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Password,
    PasswordConfirm,
}

impl Field {
    /// The form field's `name` (and the page's element id).
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Password => "password",
            Field::PasswordConfirm => "password_confirm",
        }
    }
}

/// Every problem of a sign-up form at once, each with the field it belongs to, in the form's
/// order, so the page can say each beside its field. `email` is already normalized.
pub fn signup_problems(email: &str, password: &str, confirm: &str) -> Vec<(Field, &'static str)> {
    let mut problems = Vec::new();
    if email.is_empty() {
        problems.push((Field::Email, "Enter your email address."));
    } else if !valid_email(email) {
        problems.push((
            Field::Email,
            "Enter an email address like name@example.com.",
        ));
    }
    problems.extend(new_password_problems(password, confirm));
    problems
}

/// The problems of a new password and its confirmation (sign-up, a password change, a reset),
/// each with its field.
pub fn new_password_problems(password: &str, confirm: &str) -> Vec<(Field, &'static str)> {
    let mut problems = Vec::new();
    if !acceptable_password(password) {
        let text = if password.len() > PASSWORD_MAX_BYTES {
            "Choose a shorter password (at most 1024 bytes)."
        } else {
            "Choose a password of at least 8 characters."
        };
        problems.push((Field::Password, text));
    }
    if !crate::secret::constant_time_eq(password.as_bytes(), confirm.as_bytes()) {
        problems.push((
            Field::PasswordConfirm,
            "The two passwords do not match: type the same password twice.",
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_sign_up_form_gets_every_problem_beside_its_field() {
        let fields = |e: &str, p: &str, c: &str| -> Vec<Field> {
            signup_problems(e, p, c)
                .into_iter()
                .map(|(f, _)| f)
                .collect()
        };
        assert_eq!(
            fields("a@example.com", "long enough", "long enough"),
            vec![]
        );
        assert_eq!(
            fields("nope", "short", "other"),
            vec![Field::Email, Field::Password, Field::PasswordConfirm]
        );
        assert_eq!(fields("", "long enough", "long enough"), vec![Field::Email]);
        assert_eq!(
            fields("a@example.com", "long enough", "long enougH"),
            vec![Field::PasswordConfirm]
        );
        let long = "x".repeat(PASSWORD_MAX_BYTES + 1);
        let problems = signup_problems("a@example.com", &long, &long);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("shorter"));
    }

    #[test]
    fn passwords_need_eight_characters_and_fit_the_bound() {
        assert!(!acceptable_password("short"));
        assert!(acceptable_password("eight ch"));
        // Characters, not bytes: eight accented letters are enough.
        assert!(acceptable_password("éééééééé"));
        assert!(!acceptable_password(&"a".repeat(PASSWORD_MAX_BYTES + 1)));
    }

    #[test]
    fn emails_need_a_dotted_domain() {
        assert!(valid_email("a@example.test"));
        assert!(!valid_email("a@example"));
        assert!(!valid_email("@example.test"));
        assert!(!valid_email("a b@example.test"));
        assert!(!valid_email("a@.example"));
        assert!(!valid_email("a@example."));
        assert!(!valid_email(&format!("{}@example.test", "a".repeat(250))));
        assert_eq!(normalize_email("  Ada@Example.TEST "), "ada@example.test");
    }

    proptest! {
        #[test]
        fn email_checks_never_panic(s in ".{0,300}") {
            let _ = valid_email(&s);
            let _ = acceptable_password(&s);
        }
    }
}
