//! The Socratic tutor. For now: retrieval's first step, splitting lessons
//! into chunks by heading.

pub mod retrieval;
