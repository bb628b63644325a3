//! Dense retrieval: embeddings from an OpenAI-compatible `/embeddings`
//! endpoint, kept in memory (the embedded default) or in Qdrant over its REST
//! API. Searches are filtered by course and unlocked stages in the store.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Value, json};
use url::Url;

use super::bm25::Passage;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DenseError(pub String);

fn err(e: impl std::fmt::Display) -> DenseError {
    DenseError(e.to_string())
}

#[async_trait]
pub trait Embedder: Send + Sync {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, DenseError>;
}

/// `POST {base}/embeddings`.
pub struct OpenAiEmbedder {
    pub http: reqwest::Client,
    pub base_url: Url,
    pub api_key: Option<String>,
    pub model: String,
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, DenseError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(64) {
            let mut base = self.base_url.clone();
            if !base.path().ends_with('/') {
                let p = format!("{}/", base.path());
                base.set_path(&p);
            }
            let mut req = self
                .http
                .post(base.join("embeddings").map_err(err)?)
                .json(&json!({"model": self.model, "input": batch}));
            if let Some(k) = &self.api_key {
                req = req.bearer_auth(k);
            }
            let res = req.send().await.map_err(|e| err(e.without_url()))?;
            if !res.status().is_success() {
                return Err(DenseError(format!(
                    "embeddings endpoint answered {}",
                    res.status()
                )));
            }
            let body: Value = res.json().await.map_err(|e| err(e.without_url()))?;
            let mut data: Vec<(usize, Vec<f32>)> = body["data"]
                .as_array()
                .ok_or_else(|| DenseError("embeddings reply has no data".into()))?
                .iter()
                .map(|d| {
                    let idx = d["index"].as_u64().unwrap_or(0) as usize;
                    let v = d["embedding"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_f64())
                                .map(|x| x as f32)
                                .collect()
                        })
                        .unwrap_or_default();
                    (idx, v)
                })
                .collect();
            data.sort_by_key(|d| d.0);
            out.extend(data.into_iter().map(|d| d.1));
        }
        if out.len() != texts.len() {
            return Err(DenseError("embeddings reply has the wrong length".into()));
        }
        Ok(out)
    }
}

/// A vector with what filters need.
#[derive(Debug, Clone)]
pub struct Point {
    pub chunk_id: String,
    /// Which lesson it belongs to: an edit replaces a lesson's points.
    pub lesson_id: String,
    pub course_id: String,
    pub stage_position: u64,
    pub vector: Vec<f32>,
}

impl Point {
    /// The point of a passage embedded as `vector`.
    pub fn of(p: &Passage, vector: Vec<f32>) -> Self {
        Point {
            chunk_id: p.chunk_id.clone(),
            lesson_id: p.lesson_id.clone(),
            course_id: p.course_id.clone(),
            stage_position: p.stage_position,
            vector,
        }
    }
}

/// The text a passage is embedded by: its heading path, then its body.
pub fn embedding_text(p: &Passage) -> String {
    format!("{}\n{}", p.title, p.text)
}

#[async_trait]
pub trait VectorStore: Send + Sync {
    /// Holds exactly `points` afterwards.
    async fn replace_all(&self, points: Vec<Point>) -> Result<(), DenseError>;
    /// Holds `points` in place of every point of `lessons` (a lesson with
    /// no points left is deleted).
    async fn replace_lessons(
        &self,
        lessons: &[String],
        points: Vec<Point>,
    ) -> Result<(), DenseError>;
    /// Chunk ids, best first, within the course and stages.
    async fn search(
        &self,
        vector: &[f32],
        course_id: &str,
        stages: &[u64],
        k: usize,
    ) -> Result<Vec<String>, DenseError>;
}

/// A vector in a quarter of the space: components scaled to `i8` by the
/// largest magnitude. Cosine similarity ignores the scale, and the rounding
/// moves it by well under 1%.
#[derive(Debug, Clone)]
pub struct Quantized {
    scale: f32,
    data: Box<[i8]>,
}

impl Quantized {
    pub fn new(v: &[f32]) -> Self {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        Quantized {
            scale,
            data: v
                .iter()
                .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
                .collect(),
        }
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|x| *x as f32 * self.scale).collect()
    }
}

fn cosine_q(q: &[f32], qn: f32, d: &[i8]) -> f32 {
    let mut dot = 0f32;
    let mut nd = 0f32;
    for (x, y) in q.iter().zip(d) {
        let y = *y as f32;
        dot += x * y;
        nd += y * y;
    }
    if qn == 0.0 || nd == 0.0 {
        0.0
    } else {
        dot / (qn * nd.sqrt())
    }
}

/// A stored point: the course as an index into the store's course list.
struct Stored {
    chunk_id: Box<str>,
    lesson_id: Box<str>,
    course: u32,
    stage_position: u64,
    vector: Quantized,
}

#[derive(Default)]
struct Points {
    courses: Vec<String>,
    points: Vec<Stored>,
}

/// In-memory vectors, quantized: exact cosine search over every point of a
/// course, enough for tens of thousands of chunks.
#[derive(Default)]
pub struct MemoryVectors {
    points: tokio::sync::RwLock<Points>,
}

impl Points {
    fn add(&mut self, p: Point) {
        let course = match self.courses.iter().position(|c| *c == p.course_id) {
            Some(i) => i,
            None => {
                self.courses.push(p.course_id);
                self.courses.len() - 1
            }
        } as u32;
        self.points.push(Stored {
            chunk_id: p.chunk_id.into_boxed_str(),
            lesson_id: p.lesson_id.into_boxed_str(),
            course,
            stage_position: p.stage_position,
            vector: Quantized::new(&p.vector),
        });
    }
}

#[async_trait]
impl VectorStore for MemoryVectors {
    async fn replace_all(&self, points: Vec<Point>) -> Result<(), DenseError> {
        let mut out = Points::default();
        for p in points {
            out.add(p);
        }
        *self.points.write().await = out;
        Ok(())
    }

    async fn replace_lessons(
        &self,
        lessons: &[String],
        points: Vec<Point>,
    ) -> Result<(), DenseError> {
        let gone: std::collections::HashSet<&str> = lessons.iter().map(String::as_str).collect();
        let mut all = self.points.write().await;
        all.points.retain(|p| !gone.contains(&*p.lesson_id));
        for p in points {
            all.add(p);
        }
        Ok(())
    }

    async fn search(
        &self,
        vector: &[f32],
        course_id: &str,
        stages: &[u64],
        k: usize,
    ) -> Result<Vec<String>, DenseError> {
        let all = self.points.read().await;
        let Some(course) = all.courses.iter().position(|c| c == course_id) else {
            return Ok(Vec::new());
        };
        let qn = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        let mut scored: Vec<(f32, &str)> = all
            .points
            .iter()
            .filter(|p| p.course == course as u32 && stages.contains(&p.stage_position))
            .map(|p| (cosine_q(vector, qn, &p.vector.data), &*p.chunk_id))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(scored
            .into_iter()
            .take(k)
            .map(|s| s.1.to_string())
            .collect())
    }
}

/// Qdrant over its REST API.
pub struct Qdrant {
    pub http: reqwest::Client,
    pub url: Url,
    pub collection: String,
    pub api_key: Option<String>,
}

/// Qdrant ids are integers or UUIDs: derive a stable UUID from the chunk id.
pub fn point_id(chunk_id: &str) -> String {
    let mut h: u128 = 0xcbf29ce484222325_84222325cbf29ce4;
    for b in chunk_id.bytes() {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Qdrant {
    fn req(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, DenseError> {
        let mut r = self.http.request(method, self.url.join(path).map_err(err)?);
        if let Some(k) = &self.api_key {
            r = r.header("api-key", k);
        }
        Ok(r)
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> Result<Value, DenseError> {
        let res = r.send().await.map_err(|e| err(e.without_url()))?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(DenseError(format!("Qdrant answered {status}")))
        }
    }
}

impl Qdrant {
    /// Creates the collection for vectors of `size`, unless it exists with
    /// that size already (kept, so searches go on during a full sync).
    async fn ensure_collection(&self, size: usize) -> Result<(), DenseError> {
        let c = &self.collection;
        let found = self
            .send(self.req(reqwest::Method::GET, &format!("collections/{c}"))?)
            .await
            .ok();
        let existing = found
            .as_ref()
            .and_then(|f| f["result"]["config"]["params"]["vectors"]["size"].as_u64());
        if existing == Some(size as u64) {
            return Ok(());
        }
        if found.is_some() {
            // Another embedding model: the old vectors cannot be compared.
            self.send(self.req(reqwest::Method::DELETE, &format!("collections/{c}"))?)
                .await?;
        }
        self.send(
            self.req(reqwest::Method::PUT, &format!("collections/{c}"))?
                .json(&json!({"vectors": {"size": size, "distance": "Cosine"}})),
        )
        .await?;
        Ok(())
    }

    /// Upserts `points` tagged with `sync` (a full sync's own tag, so the
    /// points it did not write can be found and deleted after).
    async fn upsert(&self, points: &[Point], sync: &str) -> Result<(), DenseError> {
        let c = &self.collection;
        for batch in points.chunks(128) {
            let pts: Vec<Value> = batch
                .iter()
                .map(|p| {
                    json!({"id": point_id(&p.chunk_id), "vector": p.vector,
                           "payload": {"chunk_id": p.chunk_id, "lesson_id": p.lesson_id, "course_id": p.course_id,
                                       "stage_position": p.stage_position, "sync": sync}})
                })
                .collect();
            self.send(
                self.req(
                    reqwest::Method::PUT,
                    &format!("collections/{c}/points?wait=true"),
                )?
                .json(&json!({"points": pts})),
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_where(&self, filter: Value) -> Result<(), DenseError> {
        let c = &self.collection;
        self.send(
            self.req(
                reqwest::Method::POST,
                &format!("collections/{c}/points/delete?wait=true"),
            )?
            .json(&json!({ "filter": filter })),
        )
        .await?;
        Ok(())
    }
}

/// A tag no earlier sync used.
fn sync_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}

#[async_trait]
impl VectorStore for Qdrant {
    async fn replace_all(&self, points: Vec<Point>) -> Result<(), DenseError> {
        let size = points.first().map(|p| p.vector.len()).unwrap_or(0);
        if size == 0 {
            return Ok(());
        }
        self.ensure_collection(size).await?;
        let tag = sync_tag();
        self.upsert(&points, &tag).await?;
        // What this sync did not write is gone from the content.
        self.delete_where(json!({"must_not": [{"key": "sync", "match": {"value": tag}}]}))
            .await
    }

    async fn replace_lessons(
        &self,
        lessons: &[String],
        points: Vec<Point>,
    ) -> Result<(), DenseError> {
        if lessons.is_empty() {
            return Ok(());
        }
        self.delete_where(json!({"must": [{"key": "lesson_id", "match": {"any": lessons}}]}))
            .await?;
        self.upsert(&points, &sync_tag()).await
    }

    async fn search(
        &self,
        vector: &[f32],
        course_id: &str,
        stages: &[u64],
        k: usize,
    ) -> Result<Vec<String>, DenseError> {
        let body = json!({
            "vector": vector,
            "limit": k,
            "with_payload": true,
            "filter": {"must": [
                {"key": "course_id", "match": {"value": course_id}},
                {"key": "stage_position", "match": {"any": stages}},
            ]},
        });
        let c = &self.collection;
        let res = self
            .send(
                self.req(
                    reqwest::Method::POST,
                    &format!("collections/{c}/points/search"),
                )?
                .json(&body),
            )
            .await?;
        Ok(res["result"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .filter_map(|h| h["payload"]["chunk_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Embeds every chunk once per text: a cache keyed by a hash of the text
/// (the text itself is not kept) holding quantized vectors survives syncs.
#[derive(Default)]
pub struct EmbeddingCache {
    map: tokio::sync::Mutex<HashMap<u64, Quantized>>,
}

/// Texts per call to the embedder while syncing.
const EMBED_BATCH: usize = 256;

fn text_key(t: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

impl EmbeddingCache {
    pub async fn embed_all(
        &self,
        embedder: &dyn Embedder,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, DenseError> {
        let mut map = self.map.lock().await;
        let missing: Vec<String> = texts
            .iter()
            .filter(|t| !map.contains_key(&text_key(t)))
            .cloned()
            .collect();
        // Kept batch by batch: a sync that fails part-way resumes where it
        // stopped instead of embedding everything again.
        for batch in missing.chunks(EMBED_BATCH) {
            let vectors = embedder.embed(batch).await?;
            for (t, v) in batch.iter().zip(vectors) {
                map.insert(text_key(t), Quantized::new(&v));
            }
        }
        Ok(texts
            .iter()
            .map(|t| {
                map.get(&text_key(t))
                    .map(Quantized::to_f32)
                    .unwrap_or_default()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_search_respects_course_and_stage_filters() {
        let store = MemoryVectors::default();
        let p = |id: &str, course: &str, stage: u64, v: Vec<f32>| Point {
            chunk_id: id.into(),
            lesson_id: format!("l-{id}"),
            course_id: course.into(),
            stage_position: stage,
            vector: v,
        };
        store
            .replace_all(vec![
                p("a", "c", 1, vec![1.0, 0.0]),
                p("b", "c", 2, vec![1.0, 0.1]),
                p("x", "other", 1, vec![1.0, 0.0]),
            ])
            .await
            .unwrap();
        assert_eq!(
            store.search(&[1.0, 0.0], "c", &[1], 5).await.unwrap(),
            vec!["a"]
        );
        assert_eq!(
            store.search(&[1.0, 0.1], "c", &[1, 2], 5).await.unwrap(),
            vec!["b", "a"]
        );
        // One lesson replaced, another deleted: the rest stays.
        store
            .replace_lessons(
                &["l-a".into(), "l-b".into()],
                vec![p("a2", "c", 1, vec![0.0, 1.0])],
            )
            .await
            .unwrap();
        assert_eq!(
            store.search(&[1.0, 0.0], "c", &[1, 2], 5).await.unwrap(),
            vec!["a2"]
        );
        assert_eq!(
            store.search(&[1.0, 0.0], "other", &[1], 5).await.unwrap(),
            vec!["x"]
        );
    }

    #[test]
    fn quantized_vectors_keep_cosine_order() {
        let a = [0.9f32, 0.1, -0.3, 0.05];
        let b = [0.1f32, 0.8, 0.2, -0.4];
        let q = [0.85f32, 0.15, -0.25, 0.0];
        let qn = q.iter().map(|x| x * x).sum::<f32>().sqrt();
        let qa = Quantized::new(&a);
        let qb = Quantized::new(&b);
        assert!(cosine_q(&q, qn, &qa.data) > cosine_q(&q, qn, &qb.data));
        let back = qa.to_f32();
        assert!(
            a.iter().zip(&back).all(|(x, y)| (x - y).abs() < 0.01),
            "{back:?}"
        );
    }

    /// Counts the texts it embeds; fails every call after `fail_after`.
    struct Flaky {
        embedded: std::sync::atomic::AtomicUsize,
        calls: std::sync::atomic::AtomicUsize,
        fail_after: usize,
    }

    #[async_trait]
    impl Embedder for Flaky {
        async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, DenseError> {
            use std::sync::atomic::Ordering::SeqCst;
            if self.calls.fetch_add(1, SeqCst) >= self.fail_after {
                return Err(DenseError("down".into()));
            }
            self.embedded.fetch_add(texts.len(), SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
    }

    #[tokio::test]
    async fn a_sync_that_fails_part_way_resumes_where_it_stopped() {
        use std::sync::atomic::Ordering::SeqCst;
        let texts: Vec<String> = (0..600).map(|i| format!("passage {i}")).collect();
        let cache = EmbeddingCache::default();
        let flaky = Flaky {
            embedded: 0.into(),
            calls: 0.into(),
            fail_after: 1,
        };
        assert!(cache.embed_all(&flaky, &texts).await.is_err());
        assert_eq!(flaky.embedded.load(SeqCst), EMBED_BATCH);
        let up = Flaky {
            embedded: 0.into(),
            calls: 0.into(),
            fail_after: usize::MAX,
        };
        let all = cache.embed_all(&up, &texts).await.unwrap();
        assert_eq!(all.len(), 600);
        assert_eq!(up.embedded.load(SeqCst), 600 - EMBED_BATCH, "only the rest");
    }

    #[test]
    fn point_ids_are_stable_uuids() {
        let id = point_id("abc");
        assert_eq!(id, point_id("abc"));
        assert_ne!(id, point_id("abd"));
        assert_eq!(id.len(), 36);
    }
}
