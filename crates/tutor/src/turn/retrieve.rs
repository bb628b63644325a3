//! Retrieval for a turn: BM25 over every passage, fused with dense vectors
//! when configured, filtered to the stages the learner may see. The index is
//! the process's [`SearchIndex`]: built in the background at start-up and
//! kept current lesson by lesson, so a turn never waits for a build; during
//! the first build a search says it is warming up.

use std::collections::HashMap;
use std::sync::Arc;

use super::repo::{Repository, Scope};
use crate::retrieval::bm25::{Bm25, Passage};
use crate::retrieval::dense::{
    DenseError, Embedder, EmbeddingCache, Point, VectorStore, embedding_text,
};
use crate::retrieval::fusion::rrf;
pub use crate::retrieval::index::{Mark, SearchIndex, Stats, VectorStatus};

/// Dense retrieval: an embedder and where the vectors live.
pub struct Dense {
    pub embedder: Arc<dyn Embedder>,
    pub store: Arc<dyn VectorStore>,
    cache: EmbeddingCache,
}

impl Dense {
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<dyn VectorStore>) -> Self {
        Dense {
            embedder,
            store,
            cache: EmbeddingCache::default(),
        }
    }

    async fn points(&self, passages: &[Passage]) -> Result<Vec<Point>, DenseError> {
        let texts: Vec<String> = passages.iter().map(embedding_text).collect();
        let vectors = self.cache.embed_all(self.embedder.as_ref(), &texts).await?;
        Ok(passages
            .iter()
            .zip(vectors)
            .map(|(p, v)| Point::of(p, v))
            .collect())
    }

    /// Brings the store from `from` (nothing known: all of it) to `to`:
    /// the changed lessons when the index's journal reaches back that far,
    /// else every passage.
    async fn sync(
        &self,
        index: &SearchIndex,
        bm25: &Arc<Bm25>,
        from: Option<Mark>,
        to: Mark,
        report: &mut VectorStatus,
    ) -> Result<(), DenseError> {
        let index_err = |e: crate::retrieval::bm25::IndexError| DenseError(e.to_string());
        if let Some(lessons) = from.and_then(|f| index.lessons_between(f, to)) {
            let mut passages = Vec::new();
            for l in &lessons {
                passages.extend(bm25.lesson_passages(l).map_err(index_err)?);
            }
            let points = self.points(&passages).await?;
            self.store.replace_lessons(&lessons, points).await?;
            report.lessons_synced += lessons.len() as u64;
            return Ok(());
        }
        let all = bm25.clone();
        let passages = tokio::task::spawn_blocking(move || all.all_passages())
            .await
            .map_err(|e| DenseError(e.to_string()))?
            .map_err(index_err)?;
        let points = self.points(&passages).await?;
        self.store.replace_all(points).await?;
        report.full_syncs += 1;
        tracing::info!(passages = passages.len(), "vector store synced whole");
        Ok(())
    }
}

/// Keeps the vector store in step with the index, in the background so no
/// turn waits for embeddings: everything after a full build, then the
/// lessons of each delta. Turns search the store as it stands; a point
/// whose chunk is gone is dropped when its passage is looked up.
async fn follow(index: Arc<SearchIndex>, dense: Arc<Dense>) {
    let mut marks = index.marks();
    let mut synced: Option<Mark> = None;
    let mut report = VectorStatus {
        state: "syncing",
        seq: None,
        full_syncs: 0,
        lessons_synced: 0,
    };
    index.set_vectors(report.clone());
    loop {
        // Seen before reading the index: a mark set meanwhile wakes us.
        marks.borrow_and_update();
        if index.halted() {
            return;
        }
        if let Some((bm25, mark)) = index.current().await
            && synced != Some(mark)
        {
            report.state = "syncing";
            index.set_vectors(report.clone());
            match dense.sync(&index, &bm25, synced, mark, &mut report).await {
                Ok(()) => {
                    synced = Some(mark);
                    report.state = "ready";
                    report.seq = Some(mark.seq);
                    index.set_vectors(report.clone());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "syncing the vector store failed; retrying in 5 s");
                    report.state = "failed";
                    index.set_vectors(report.clone());
                    let _ = tokio::time::timeout(RETRY, marks.changed()).await;
                }
            }
            continue;
        }
        if marks.changed().await.is_err() {
            return;
        }
    }
}

/// How long a failed vector sync waits before it is tried again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

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
    pub dense: Option<Arc<Dense>>,
}

impl Retrieval {
    /// Starts the vector store's follower (inside the runtime) when dense
    /// retrieval is configured.
    pub fn new(dense: Option<Dense>, index: Arc<SearchIndex>) -> Self {
        let dense = dense.map(Arc::new);
        if let Some(d) = &dense {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(follow(index.clone(), d.clone()));
                }
                Err(_) => tracing::warn!("no runtime: the vector store will not be synced"),
            }
        }
        Retrieval { index, dense }
    }

    /// The index as it stands after catching up with content changes;
    /// `None` during the first build.
    async fn current(&self) -> Option<(Arc<Bm25>, Mark)> {
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
        let Some((idx, _)) = self.current().await else {
            return Ok(Found::warming());
        };
        let hits = idx
            .search(query, &scope.course_id, &scope.stages, LEXICAL)
            .map_err(index_error)?;
        self.fuse(&idx, query, scope, hits, k).await
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
        let Some((idx, _)) = self.current().await else {
            return Ok((Found::warming(), None));
        };
        let (open, any) = idx
            .search_open_and_any(query, &scope.course_id, &scope.stages, LEXICAL, candidates)
            .map_err(index_error)?;
        let found = self.fuse(&idx, query, scope, open, k).await?;
        let any = any.into_iter().map(|(_, p)| p).collect();
        Ok((found, Some((idx, any))))
    }

    /// The lexical hits, fused with dense neighbours when configured, cut
    /// to the scope's stages and to `k`.
    async fn fuse(
        &self,
        idx: &Bm25,
        query: &str,
        scope: &Scope,
        hits: Vec<(f32, Passage)>,
        k: usize,
    ) -> Result<Found, RetrieveError> {
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
                    let v = dense.embedder.embed(&[query.to_string()]).await?;
                    let v = v.into_iter().next().unwrap_or_default();
                    dense
                        .store
                        .search(&v, &scope.course_id, &scope.stages, LEXICAL)
                        .await
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
