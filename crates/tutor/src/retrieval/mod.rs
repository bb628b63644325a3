//! Retrieval over course content.

pub mod bm25;
pub mod chunk;
pub mod dense;
pub mod fusion;
