//! Authorization codes and the tokens issued from them, under the name other crates use: the
//! two aggregates live in [`crate::codes`] and [`crate::tokens`] (a code itself is
//! [`verity_core::grant::Code`]).

pub use crate::codes::{Issue, Issued, Redeemed, TakeCode};
pub use crate::tokens::{Token, TokenKind};
