//! Retrieval over course content.

pub mod bm25;
pub mod chunk;
