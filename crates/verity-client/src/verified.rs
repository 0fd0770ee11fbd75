//! [`Verified`]: what a completed sign-in hands the app. Its own module, below both the client
//! that builds it and the assurance checks that read it.

use crate::id_token::IdToken;
use crate::identity::{Attributes, Identity};
use crate::token::Tokens;
use crate::userinfo::UserInfo;

/// A completed sign-in: every step validated.
#[derive(Debug, Clone)]
pub struct Verified {
    pub tokens: Tokens,
    pub id_token: IdToken,
    pub userinfo: UserInfo,
    /// `attributes.json`, when the provider has it (ID.me and Verity do).
    pub attributes: Option<Attributes>,
    pub identity: Identity,
}
