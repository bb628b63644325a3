//! The Socratic tutor. For now: retrieval's first step, splitting lessons
//! into chunks by heading.

pub mod agent;
pub mod eval;
pub mod guardrails;
pub mod llm;
pub mod retrieval;
