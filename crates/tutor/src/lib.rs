//! The Socratic tutor: exercises as data and the one answer-matching module
//! the checker and the guard share, retrieval over course content, the
//! language-model client, and the ChatKit responder that runs a turn.

pub mod agent;
pub mod answers;
pub mod eval;
pub mod exercise;
pub mod guardrails;
pub mod llm;
pub mod retrieval;
pub mod settings;
pub mod turn;
