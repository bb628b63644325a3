//! Retrieval for a turn: BM25 over every passage, fused with dense vectors
//! when configured, filtered to the stages the learner may see. The index is
//! built once per content generation: concurrent turns that find it stale
//! wait for one build and share it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, RwLock};

use super::repo::{Repository, Scope};
use crate::retrieval::bm25::{Bm25, Passage};
use crate::retrieval::dense::{Embedder, EmbeddingCache, Point, VectorStore};
use crate::retrieval::fusion::rrf;

/// The lexical index and every passage by chunk id.
pub struct Indexed {
    bm25: Bm25,
    by_id: HashMap<String, Passage>,
}

impl Indexed {
    /// Every indexed passage (all courses, all stages): for statistics and
    /// decisions, never shown without a stage check.
    pub fn passages(&self) -> impl Iterator<Item = &Passage> {
        self.by_id.values()
    }
}

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

/// Counters an operator (and a test) can read.
#[derive(Debug, Default)]
pub struct Stats {
    pub index_builds: AtomicU64,
}

impl Stats {
    pub fn index_builds(&self) -> u64 {
        self.index_builds.load(Ordering::Relaxed)
    }
}

/// Passages, and whether part of the search failed.
pub struct Found {
    pub passages: Vec<Passage>,
    pub limited: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    #[error(transparent)]
    Repo(#[from] super::repo::RepoError),
    #[error("building the search index failed: {0}")]
    Index(String),
}

pub struct Retrieval {
    current: RwLock<Option<(String, Arc<Indexed>)>>,
    /// Held while an index is built, so only one build runs at a time.
    building: Mutex<()>,
    pub dense: Option<Dense>,
    pub stats: Arc<Stats>,
}

impl Retrieval {
    pub fn new(dense: Option<Dense>, stats: Arc<Stats>) -> Self {
        Retrieval {
            current: RwLock::new(None),
            building: Mutex::new(()),
            dense,
            stats,
        }
    }

    async fn cached(&self, generation: &str) -> Option<Arc<Indexed>> {
        self.current
            .read()
            .await
            .as_ref()
            .filter(|(g, _)| g == generation)
            .map(|(_, i)| i.clone())
    }

    /// The index for the current content, built if it changed. A burst of
    /// turns after start-up or an edit builds it once: the others wait for
    /// that build.
    pub async fn index(
        &self,
        repo: &dyn Repository,
    ) -> Result<(String, Arc<Indexed>), RetrieveError> {
        let generation = repo.generation().await?;
        if let Some(idx) = self.cached(&generation).await {
            return Ok((generation, idx));
        }
        let _build = self.building.lock().await;
        // Someone may have built it while we waited; take the newest.
        let generation = repo.generation().await?;
        if let Some(idx) = self.cached(&generation).await {
            return Ok((generation, idx));
        }
        // Drop the old index first: two generations never sit in memory.
        *self.current.write().await = None;
        let passages = repo.passages().await?;
        let by_id = passages
            .iter()
            .map(|p| (p.chunk_id.clone(), p.clone()))
            .collect();
        let bm25 = tokio::task::spawn_blocking(move || Bm25::build(&passages))
            .await
            .map_err(|e| RetrieveError::Index(e.to_string()))?
            .map_err(|e| RetrieveError::Index(e.to_string()))?;
        let built = Arc::new(Indexed { bm25, by_id });
        self.stats.index_builds.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tutor_index_builds_total").increment(1);
        tracing::info!(generation = %generation, "search index built");
        *self.current.write().await = Some((generation.clone(), built.clone()));
        Ok((generation, built))
    }

    /// Brings the vector store in line with the current chunks.
    async fn sync_dense(
        &self,
        dense: &Dense,
        generation: &str,
        idx: &Indexed,
    ) -> Result<(), String> {
        let mut synced = dense.synced.lock().await;
        if synced.as_deref() == Some(generation) {
            return Ok(());
        }
        let passages: Vec<&Passage> = idx.by_id.values().collect();
        let texts: Vec<String> = passages
            .iter()
            .map(|p| format!("{}\n{}", p.title, p.text))
            .collect();
        let vectors = dense
            .cache
            .embed_all(dense.embedder.as_ref(), &texts)
            .await
            .map_err(|e| e.to_string())?;
        let points = passages
            .iter()
            .zip(vectors)
            .map(|(p, v)| Point {
                chunk_id: p.chunk_id.clone(),
                course_id: p.course_id.clone(),
                stage_position: p.stage_position,
                vector: v,
            })
            .collect();
        dense
            .store
            .replace_all(points)
            .await
            .map_err(|e| e.to_string())?;
        *synced = Some(generation.to_string());
        Ok(())
    }

    /// BM25, fused with dense results when configured. A failing vector
    /// store leaves BM25 alone and marks the result as limited.
    pub async fn search(
        &self,
        repo: &dyn Repository,
        query: &str,
        scope: &Scope,
        k: usize,
    ) -> Result<Found, RetrieveError> {
        let (generation, idx) = self.index(repo).await?;
        let lexical: Vec<String> = idx
            .bm25
            .search(query, &scope.course_id, &scope.stages, 20)
            .map_err(|e| RetrieveError::Index(e.to_string()))?
            .into_iter()
            .map(|(_, p)| p.chunk_id)
            .collect();
        let mut limited = false;
        let ranked: Vec<String> = match &self.dense {
            None => lexical,
            Some(dense) => {
                let dense_ids = async {
                    self.sync_dense(dense, &generation, &idx).await?;
                    let v = dense
                        .embedder
                        .embed(&[query.to_string()])
                        .await
                        .map_err(|e| e.to_string())?;
                    let v = v.into_iter().next().unwrap_or_default();
                    dense
                        .store
                        .search(&v, &scope.course_id, &scope.stages, 20)
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
        // Stage access applies on every path, whatever a store returned.
        let passages = ranked
            .into_iter()
            .filter_map(|id| idx.by_id.get(&id).cloned())
            .filter(|p| p.course_id == scope.course_id && scope.stages.contains(&p.stage_position))
            .take(k)
            .collect();
        Ok(Found { passages, limited })
    }

    /// BM25 over every stage of `course_id`, locked ones included, with the
    /// index it came from. For deciding what a question is about (a locked
    /// stage can be named); callers show only passages of unlocked stages.
    pub async fn search_all_stages(
        &self,
        repo: &dyn Repository,
        query: &str,
        course_id: &str,
        k: usize,
    ) -> Result<(String, Arc<Indexed>, Vec<Passage>), RetrieveError> {
        let (generation, idx) = self.index(repo).await?;
        let mut stages: Vec<u64> = idx
            .by_id
            .values()
            .filter(|p| p.course_id == course_id)
            .map(|p| p.stage_position)
            .collect();
        stages.sort_unstable();
        stages.dedup();
        let hits = idx
            .bm25
            .search(query, course_id, &stages, k)
            .map_err(|e| RetrieveError::Index(e.to_string()))?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        Ok((generation, idx, hits))
    }
}
