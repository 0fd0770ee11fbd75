//! Authorization codes and the tokens issued from them, under the name other crates use: the
//! two aggregates live in [`crate::codes`] and [`crate::tokens`].

pub use crate::codes::{Code, CodePresentation, CodeRequest, FoundCode, Issued, TakeCode};
pub use crate::tokens::{Token, TokenKind};
