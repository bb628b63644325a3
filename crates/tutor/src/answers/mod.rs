//! Answer matching, one module for the checker and the guard alike: text
//! folded for comparison, numbers in every format, units converted within a
//! quantity, and the rules that say whether an attempt is right
//! ([`check`]) or a reply gives an answer away ([`guard`]).

pub mod check;
pub mod guard;
pub mod lex;
pub mod number;
pub mod quantity;
pub mod units;

pub use check::{Given, Malformed, Verdict, check};
pub use guard::{Forms, Guard, Hit};
