//! Retrieval over course content.

pub mod bm25;
pub mod chunk;
pub mod dense;
pub mod fusion;
#[cfg(feature = "local-embeddings")]
pub mod local;
