//! Retrieval over course content.

pub mod bm25;
pub mod chunk;
pub mod dense;
pub mod fusion;
pub mod index;
#[cfg(feature = "local-embeddings")]
pub mod local;
