//! Retrieval for a turn: BM25 over every passage, fused with dense vectors
//! when configured, filtered to the stages the learner may see. The index is
//! the process's [`SearchIndex`]: built in the background at start-up and
//! kept current lesson by lesson, so a turn never waits for a build; during
//! the first build a search says it is warming up.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::repo::{Repository, Scope};
use crate::retrieval::bm25::{Bm25, Passage};
use crate::retrieval::dense::{Embedder, EmbeddingCache, Point, VectorStore, embedding_text};
use crate::retrieval::fusion::rrf;
pub use crate::retrieval::index::{SearchIndex, Stats};

/// Dense retrieval: an embedder and where the vectors live.
pub struct Dense {
    pub embedder: Arc<dyn Embedder>,
    pub store: Arc<dyn VectorStore>,
    cache: EmbeddingCache,
    synced: Mutex<Option<String>>,
}

impl Dense {
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<dyn VectorStore>) -> Self {
        Dense {
            embedder,
            store,
            cache: EmbeddingCache::default(),
            synced: Mutex::new(None),
        }
    }
}

/// Passages, and whether part of the search failed.
pub struct Found {
    pub passages: Vec<Passage>,
    pub limited: bool,
    /// The first build is still running: nothing was searched.
    pub warming: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    #[error(transparent)]
    Repo(#[from] super::repo::RepoError),
    #[error("building the search index failed: {0}")]
    Index(String),
}

/// How many lexical (and dense) hits are fused before cutting to `k`.
const LEXICAL: usize = 20;

impl Found {
    fn warming() -> Self {
        Found {
            passages: Vec::new(),
            limited: false,
            warming: true,
        }
    }
}

pub struct Retrieval {
    pub index: Arc<SearchIndex>,
    pub dense: Option<Dense>,
}

impl Retrieval {
    pub fn new(dense: Option<Dense>, index: Arc<SearchIndex>) -> Self {
        Retrieval { index, dense }
    }

    /// Brings the vector store in line with the current chunks.
    async fn sync_dense(&self, dense: &Dense, generation: &str, idx: &Bm25) -> Result<(), String> {
        let mut synced = dense.synced.lock().await;
        if synced.as_deref() == Some(generation) {
            return Ok(());
        }
        let passages = idx.all_passages().map_err(|e| e.to_string())?;
        let texts: Vec<String> = passages.iter().map(embedding_text).collect();
        let vectors = dense
            .cache
            .embed_all(dense.embedder.as_ref(), &texts)
            .await
            .map_err(|e| e.to_string())?;
        let points = passages
            .iter()
            .zip(vectors)
            .map(|(p, v)| Point::of(p, v))
            .collect();
        dense
            .store
            .replace_all(points)
            .await
            .map_err(|e| e.to_string())?;
        *synced = Some(generation.to_string());
        Ok(())
    }

    /// The index as it stands after catching up with content changes;
    /// `None` during the first build.
    async fn current(&self) -> Option<(Arc<Bm25>, i64)> {
        if let Err(e) = self.index.refresh().await {
            // The index as it stands still answers; the next turn tries again.
            tracing::warn!(error = %e, "catching up with content changes failed");
        }
        self.index.current().await
    }

    /// BM25, fused with dense results when configured. A failing vector
    /// store leaves BM25 alone and marks the result as limited.
    pub async fn search(
        &self,
        _repo: &dyn Repository,
        query: &str,
        scope: &Scope,
        k: usize,
    ) -> Result<Found, RetrieveError> {
        let Some((idx, seq)) = self.current().await else {
            return Ok(Found::warming());
        };
        let hits = idx
            .search(query, &scope.course_id, &scope.stages, LEXICAL)
            .map_err(index_error)?;
        self.fuse(&idx, seq, query, scope, hits, k).await
    }

    /// A turn's searches: [`Retrieval::search`], and BM25 over every stage
    /// of the course, locked ones included, with the index both came from
    /// (for deciding what a question is about: a locked stage can be named;
    /// callers show only passages of unlocked stages). One query serves
    /// both when it can. No index during the first build.
    pub async fn search_for_turn(
        &self,
        query: &str,
        scope: &Scope,
        k: usize,
        candidates: usize,
    ) -> Result<(Found, Option<(Arc<Bm25>, Vec<Passage>)>), RetrieveError> {
        let Some((idx, seq)) = self.current().await else {
            return Ok((Found::warming(), None));
        };
        let (open, any) = idx
            .search_open_and_any(query, &scope.course_id, &scope.stages, LEXICAL, candidates)
            .map_err(index_error)?;
        let found = self.fuse(&idx, seq, query, scope, open, k).await?;
        let any = any.into_iter().map(|(_, p)| p).collect();
        Ok((found, Some((idx, any))))
    }

    /// The lexical hits, fused with dense neighbours when configured, cut
    /// to the scope's stages and to `k`.
    async fn fuse(
        &self,
        idx: &Bm25,
        seq: i64,
        query: &str,
        scope: &Scope,
        hits: Vec<(f32, Passage)>,
        k: usize,
    ) -> Result<Found, RetrieveError> {
        let generation = seq.to_string();
        let lexical: Vec<String> = hits.iter().map(|(_, p)| p.chunk_id.clone()).collect();
        let mut by_id: HashMap<String, Passage> = hits
            .into_iter()
            .map(|(_, p)| (p.chunk_id.clone(), p))
            .collect();
        let mut limited = false;
        let ranked: Vec<String> = match &self.dense {
            None => lexical,
            Some(dense) => {
                let dense_ids = async {
                    self.sync_dense(dense, &generation, idx).await?;
                    let v = dense
                        .embedder
                        .embed(&[query.to_string()])
                        .await
                        .map_err(|e| e.to_string())?;
                    let v = v.into_iter().next().unwrap_or_default();
                    dense
                        .store
                        .search(&v, &scope.course_id, &scope.stages, LEXICAL)
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                match dense_ids {
                    // Only lexical hits decide that a question is on topic:
                    // dense neighbours always exist.
                    Ok(_) if lexical.is_empty() => Vec::new(),
                    Ok(ids) => rrf(&[lexical, ids]).into_iter().map(|(id, _)| id).collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "vector search failed; using BM25 alone");
                        limited = true;
                        lexical
                    }
                }
            }
        };
        // Dense neighbours the lexical search did not return.
        let missing: Vec<String> = ranked
            .iter()
            .filter(|id| !by_id.contains_key(*id))
            .take(k * 2)
            .cloned()
            .collect();
        if !missing.is_empty() {
            for p in idx.by_chunk_ids(&missing).map_err(index_error)? {
                by_id.insert(p.chunk_id.clone(), p);
            }
        }
        // Stage access applies on every path, whatever a store returned.
        let passages = ranked
            .into_iter()
            .filter_map(|id| by_id.remove(&id))
            .filter(|p| p.course_id == scope.course_id && scope.stages.contains(&p.stage_position))
            .take(k)
            .collect();
        Ok(Found {
            passages,
            limited,
            warming: false,
        })
    }
}

fn index_error(e: crate::retrieval::bm25::IndexError) -> RetrieveError {
    RetrieveError::Index(e.to_string())
}
