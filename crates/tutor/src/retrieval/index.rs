//! The search index's life: built once in the background at start-up (or
//! reopened from the folder it was left in), then kept current lesson by
//! lesson from the database's change log, so no request ever waits for a
//! full build. Every instance follows the same log: an edit made on one is
//! applied by the others as the same per-lesson delta.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Notify, RwLock, Semaphore};

use super::bm25::{Bm25, IndexError, Passage};

/// Where content stands in the database: which database (`epoch`) and the
/// number of the last logged change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub epoch: String,
    pub seq: i64,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("reading course content failed: {0}")]
pub struct SourceError(pub String);

/// What the index reads from the database.
#[async_trait]
pub trait ContentSource: Send + Sync {
    async fn version(&self) -> Result<Version, SourceError>;
    /// Up to `limit` passages with chunk ids after `after`, in id order.
    async fn passages_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Passage>, SourceError>;
    /// The lessons changed after `seq`, and the highest change number read.
    async fn changed_since(&self, seq: i64) -> Result<(Vec<String>, i64), SourceError>;
    /// The current passages of these lessons (none for a deleted lesson).
    async fn passages_of(&self, lessons: &[String]) -> Result<Vec<Passage>, SourceError>;
}

/// A point in the index's life: its full build (or reopening) and the last
/// change applied since. Followers of the index (the vector store) compare
/// marks to know what they missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mark {
    pub build: u64,
    pub seq: i64,
}

/// One applied delta: the lessons changed between two change numbers.
struct Delta {
    from: i64,
    to: i64,
    lessons: Vec<String>,
}

/// The recent deltas of the current build, for followers that update lesson
/// by lesson too; one further behind than it reaches syncs whole.
#[derive(Default)]
struct Journal {
    build: u64,
    /// The last change applied (with `build`, the index's mark).
    seq: i64,
    deltas: std::collections::VecDeque<Delta>,
}

/// Deltas the journal keeps.
const JOURNAL: usize = 256;

/// How far the vector store has followed the index (`/ready`).
#[derive(Debug, Clone, Serialize)]
pub struct VectorStatus {
    /// `syncing`, `ready` or `failed`.
    pub state: &'static str,
    /// The change number the vectors match, once synced.
    pub seq: Option<i64>,
    pub full_syncs: u64,
    pub lessons_synced: u64,
}

/// Counters an operator (and a test) can read.
#[derive(Debug, Default)]
pub struct Stats {
    /// Full builds (start-up without a usable index on disk, or another database).
    pub index_builds: AtomicU64,
    /// Lessons whose passages were replaced one by one.
    pub lessons_reindexed: AtomicU64,
    /// Start-ups that reopened the index left on disk.
    pub index_reopened: AtomicU64,
}

impl Stats {
    pub fn index_builds(&self) -> u64 {
        self.index_builds.load(Ordering::Relaxed)
    }
    pub fn lessons_reindexed(&self) -> u64 {
        self.lessons_reindexed.load(Ordering::Relaxed)
    }
}

/// The state `/ready` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not started (this process does not answer chat turns).
    Off,
    /// The first build (or reopening) is running; turns get a notice.
    Warming,
    Ready,
    /// The first build failed; it is retried.
    Failed,
}

impl State {
    fn from_u8(v: u8) -> State {
        match v {
            1 => State::Warming,
            2 => State::Ready,
            3 => State::Failed,
            _ => State::Off,
        }
    }
}

/// What `/ready` shows about search.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state: State,
    pub passages: u64,
    /// The last change of the log this index contains.
    pub seq: Option<i64>,
    pub builds: u64,
    /// Start-ups that reopened the index left on disk instead of building.
    pub reopened: u64,
    pub lessons_reindexed: u64,
    /// How long the last full build or reopening took.
    pub warm_ms: Option<u64>,
    /// The vector store, when dense retrieval is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vectors: Option<VectorStatus>,
}

/// A delta larger than this is left to the background task rather than
/// applied by the turn that notices it.
const INLINE_DELTA: usize = 50;
/// Lessons per query and commit while catching up.
const DELTA_BATCH: usize = 500;
/// Passages per query during a full build.
const BUILD_BATCH: usize = 2_000;
/// How often an idle instance looks for changes made elsewhere.
const POLL: Duration = Duration::from_secs(2);
/// What the payload of a commit records, so a reopened index knows what it holds.
const SCHEMA: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Payload {
    schema: u32,
    epoch: String,
    seq: i64,
}

fn payload(v: &Version) -> String {
    serde_json::to_string(&Payload {
        schema: SCHEMA,
        epoch: v.epoch.clone(),
        seq: v.seq,
    })
    .unwrap_or_default()
}

fn ierr(e: IndexError) -> SourceError {
    SourceError(e.to_string())
}

/// The live index and what it contains.
struct Live {
    bm25: Arc<Bm25>,
    /// Keeps a private folder (when the shared one is in use) until the index goes.
    _private: Option<tempfile::TempDir>,
}

/// The process's one search index.
pub struct SearchIndex {
    source: Arc<dyn ContentSource>,
    /// Where the index is kept; in memory when `None`.
    dir: Option<PathBuf>,
    live: RwLock<Option<Arc<Live>>>,
    /// The version the live index contains; held while a delta is applied,
    /// so one writer runs at a time.
    applied: Mutex<Option<Version>>,
    /// The applied change number, readable without waiting.
    applied_seq: AtomicU64,
    state: AtomicU8,
    stopped: AtomicBool,
    warm_ms: AtomicU64,
    wake: Notify,
    /// Tests hold the first build here to watch a warming server.
    gate: std::sync::Mutex<Option<Arc<Semaphore>>>,
    /// Keeps the shared folder this process's alone.
    lock: std::sync::Mutex<Option<std::fs::File>>,
    journal: std::sync::Mutex<Journal>,
    /// Tells followers each new mark.
    marks: tokio::sync::watch::Sender<Option<Mark>>,
    vectors: std::sync::Mutex<Option<VectorStatus>>,
    pub stats: Arc<Stats>,
}

impl SearchIndex {
    /// An index kept under `dir` (memory-mapped), or in memory.
    pub fn new(source: Arc<dyn ContentSource>, dir: Option<PathBuf>) -> Self {
        SearchIndex {
            source,
            dir,
            live: RwLock::new(None),
            applied: Mutex::new(None),
            applied_seq: AtomicU64::new(0),
            state: AtomicU8::new(0),
            stopped: AtomicBool::new(false),
            warm_ms: AtomicU64::new(u64::MAX),
            wake: Notify::new(),
            gate: std::sync::Mutex::new(None),
            lock: std::sync::Mutex::new(None),
            journal: std::sync::Mutex::new(Journal::default()),
            marks: tokio::sync::watch::Sender::new(None),
            vectors: std::sync::Mutex::new(None),
            stats: Arc::new(Stats::default()),
        }
    }

    fn mark(&self) -> Mark {
        let j = self.journal.lock();
        let (build, seq) = j.map(|j| (j.build, j.seq)).unwrap_or_default();
        Mark { build, seq }
    }

    /// The index now holds other contents wholesale (built, reopened, or
    /// rebuilt for another database) at change `seq`.
    fn new_build(&self, seq: i64) {
        if let Ok(mut j) = self.journal.lock() {
            j.build += 1;
            j.seq = seq;
            j.deltas.clear();
        }
        self.applied_seq.store(seq.max(0) as u64, Ordering::Relaxed);
        self.marks.send_replace(Some(self.mark()));
    }

    /// `lessons` were applied, moving the index from change `from` to `to`.
    fn applied_delta(&self, from: i64, to: i64, lessons: &[String]) {
        if let Ok(mut j) = self.journal.lock() {
            if j.deltas.len() == JOURNAL {
                j.deltas.pop_front();
            }
            j.deltas.push_back(Delta {
                from,
                to,
                lessons: lessons.to_vec(),
            });
            j.seq = to;
        }
        self.applied_seq.store(to.max(0) as u64, Ordering::Relaxed);
        self.marks.send_replace(Some(self.mark()));
    }

    /// The lessons changed from `from` to `to`, when the journal still holds
    /// every delta between them (`None`: sync whole).
    pub fn lessons_between(&self, from: Mark, to: Mark) -> Option<Vec<String>> {
        let j = self.journal.lock().ok()?;
        if from.build != j.build || to.build != j.build || from.seq > to.seq {
            return None;
        }
        let mut at = from.seq;
        let mut out = std::collections::BTreeSet::new();
        for d in j
            .deltas
            .iter()
            .filter(|d| d.to > from.seq && d.to <= to.seq)
        {
            if d.from > at {
                return None;
            }
            out.extend(d.lessons.iter().cloned());
            at = d.to;
        }
        (at == to.seq).then(|| out.into_iter().collect())
    }

    /// Every new mark, for a follower of the index (it also wakes when the
    /// index halts).
    pub fn marks(&self) -> tokio::sync::watch::Receiver<Option<Mark>> {
        self.marks.subscribe()
    }

    /// What the vector store's follower reports for `/ready`.
    pub fn set_vectors(&self, status: VectorStatus) {
        if let Ok(mut v) = self.vectors.lock() {
            *v = Some(status);
        }
    }

    /// Holds the first build until `gate` gets a permit (tests).
    pub fn hold_first_build(&self, gate: Arc<Semaphore>) {
        if let Ok(mut g) = self.gate.lock() {
            *g = Some(gate);
        }
    }

    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Release);
    }

    pub async fn status(&self) -> Status {
        let live = self.live.read().await.clone();
        let warm = self.warm_ms.load(Ordering::Relaxed);
        Status {
            state: self.state(),
            passages: live.as_ref().map(|l| l.bm25.len()).unwrap_or(0),
            seq: live
                .as_ref()
                .map(|_| self.applied_seq.load(Ordering::Relaxed) as i64),
            builds: self.stats.index_builds(),
            reopened: self.stats.index_reopened.load(Ordering::Relaxed),
            lessons_reindexed: self.stats.lessons_reindexed(),
            warm_ms: (warm != u64::MAX).then_some(warm),
            vectors: self.vectors.lock().ok().and_then(|v| v.clone()),
        }
    }

    /// The index to search, once the first build is done.
    pub async fn current(&self) -> Option<(Arc<Bm25>, Mark)> {
        let live = self.live.read().await.clone()?;
        Some((live.bm25.clone(), self.mark()))
    }

    /// Starts the first build in the background, then follows the change
    /// log. Call once, inside the runtime.
    pub fn start(self: &Arc<Self>) {
        if self.state() != State::Off {
            return;
        }
        self.set_state(State::Warming);
        // Listed at 0 from the start, so a scrape shows every counter.
        for name in [
            "tutor_index_builds_total",
            "tutor_index_reopened_total",
            "tutor_index_lessons_reindexed_total",
        ] {
            metrics::counter!(name).increment(0);
        }
        let this = self.clone();
        tokio::spawn(async move { this.run().await });
    }

    /// Ends the background task (at its next wake-up); the index stays
    /// searchable until [`Self::close`].
    pub fn halt(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
        self.marks.send_modify(|_| {});
    }

    /// Stops following the log and lets go of the index and its folder
    /// (server shutdown: another process may take the folder over).
    pub async fn close(&self) {
        self.halt();
        let _writer = self.applied.lock().await;
        *self.live.write().await = None;
        if let Ok(mut l) = self.lock.lock() {
            *l = None;
        }
    }

    /// Whether the background work (this index's and its followers') should end.
    pub fn halted(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    async fn run(self: Arc<Self>) {
        let gate = self.gate.lock().ok().and_then(|g| g.clone());
        if let Some(gate) = gate {
            tokio::select! {
                _ = gate.acquire() => {}
                _ = self.wake.notified() => {}
            }
        }
        loop {
            if self.halted() {
                return;
            }
            let started = Instant::now();
            match self.warm_up().await {
                Ok(()) => {
                    let ms = started.elapsed().as_millis() as u64;
                    self.warm_ms.store(ms, Ordering::Relaxed);
                    self.set_state(State::Ready);
                    tracing::info!(ms, "search index ready");
                    break;
                }
                Err(e) => {
                    self.set_state(State::Failed);
                    tracing::error!(error = %e, "building the search index failed; retrying in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = self.wake.notified() => {}
            }
            if self.halted() {
                return;
            }
            if let Err(e) = self.catch_up(usize::MAX).await {
                tracing::warn!(error = %e, "applying content changes to the search index failed; will retry");
            }
        }
    }

    /// Opens the index left on disk when it was built from this database
    /// and catches it up; otherwise builds it from scratch.
    async fn warm_up(&self) -> Result<(), SourceError> {
        if self.live.read().await.is_some() {
            // Built or reopened already; only catching up failed.
            return self.catch_up(usize::MAX).await;
        }
        let version = self.source.version().await?;
        let (bm25, private, found) = self.open()?;
        let bm25 = Arc::new(bm25);
        let reusable = found
            .as_deref()
            .and_then(|p| serde_json::from_str::<Payload>(p).ok())
            .filter(|p| p.schema == SCHEMA && p.epoch == version.epoch && p.seq <= version.seq);
        let applied = match reusable {
            Some(p) => {
                self.stats.index_reopened.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("tutor_index_reopened_total").increment(1);
                tracing::info!(seq = p.seq, "search index reopened from disk");
                Version {
                    epoch: p.epoch,
                    seq: p.seq,
                }
            }
            None => {
                let n = self.build(&bm25, &version).await?;
                self.stats.index_builds.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("tutor_index_builds_total").increment(1);
                tracing::info!(passages = n, seq = version.seq, "search index built");
                version
            }
        };
        let seq = applied.seq;
        *self.applied.lock().await = Some(applied);
        *self.live.write().await = Some(Arc::new(Live {
            bm25,
            _private: private,
        }));
        self.new_build(seq);
        // Changes logged while it was built or since it was left.
        self.catch_up(usize::MAX).await
    }

    /// The index folder: the shared one under the data folder when this
    /// process can have it to itself, else a private one removed with it.
    #[allow(clippy::type_complexity)]
    fn open(&self) -> Result<(Bm25, Option<tempfile::TempDir>, Option<String>), SourceError> {
        let Some(root) = &self.dir else {
            return Ok((Bm25::build(&[]).map_err(ierr)?, None, None));
        };
        let io =
            |e: std::io::Error| SourceError(format!("search index folder {}: {e}", root.display()));
        std::fs::create_dir_all(root).map_err(io)?;
        let held = self.lock.lock().is_ok_and(|l| l.is_some());
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("lexical.lock"))
            .map_err(io)?;
        if !held && lock.try_lock().is_err() {
            // Another process on the same data folder keeps the shared index.
            let tmp = tempfile::Builder::new()
                .prefix("lexical-")
                .tempdir_in(root)
                .map_err(io)?;
            let (bm25, _) = Bm25::open_dir(tmp.path()).map_err(ierr)?;
            tracing::info!(dir = %tmp.path().display(), "the shared search index folder is in use; building a private one");
            return Ok((bm25, Some(tmp), None));
        }
        if let Ok(mut l) = self.lock.lock()
            && l.is_none()
        {
            *l = Some(lock);
        }
        let dir = root.join("lexical");
        std::fs::create_dir_all(&dir).map_err(io)?;
        match Bm25::open_dir(&dir) {
            Ok((bm25, payload)) => Ok((bm25, None, payload)),
            Err(e) => {
                // Written by another version, or damaged: start again.
                tracing::warn!(error = %e, "the search index on disk cannot be used; rebuilding it");
                clear(&dir).map_err(io)?;
                let (bm25, _) = Bm25::open_dir(&dir).map_err(ierr)?;
                Ok((bm25, None, None))
            }
        }
    }

    /// Every passage of the database into `bm25`, batch by batch: the
    /// database is read while the index is written on a blocking thread.
    async fn build(&self, bm25: &Arc<Bm25>, version: &Version) -> Result<u64, SourceError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Passage>, IndexError>>(2);
        let writer = {
            let bm25 = bm25.clone();
            let payload = payload(version);
            tokio::task::spawn_blocking(move || bm25.rebuild(rx, Some(&payload)))
        };
        let mut after: Option<String> = None;
        let read = async {
            loop {
                let batch = self
                    .source
                    .passages_after(after.as_deref(), BUILD_BATCH)
                    .await?;
                let Some(last) = batch.last() else {
                    return Ok::<(), SourceError>(());
                };
                after = Some(last.chunk_id.clone());
                let full = batch.len() == BUILD_BATCH;
                let tx = tx.clone();
                // The channel is bounded: wait for the writer off the runtime.
                let sent = tokio::task::spawn_blocking(move || tx.send(Ok(batch)).is_ok())
                    .await
                    .unwrap_or(false);
                if !sent || !full {
                    return Ok(());
                }
            }
        }
        .await;
        if let Err(e) = &read {
            // The writer must not commit a partial index: it gets the error.
            let e = IndexError::new(e.to_string());
            let _ = tokio::task::spawn_blocking(move || tx.send(Err(e))).await;
        } else {
            drop(tx);
        }
        let written = writer
            .await
            .map_err(|e| SourceError(e.to_string()))?
            .map_err(ierr);
        read?;
        written
    }

    /// Replaces the passages of `lessons` with their current ones, in one
    /// commit recording `record`.
    async fn apply(
        &self,
        live: &Live,
        lessons: &[String],
        record: &Version,
    ) -> Result<(), SourceError> {
        let passages = self.source.passages_of(lessons).await?;
        let bm25 = live.bm25.clone();
        let ids = lessons.to_vec();
        let p = payload(record);
        tokio::task::spawn_blocking(move || bm25.replace_lessons(&ids, &passages, Some(&p)))
            .await
            .map_err(|e| SourceError(e.to_string()))?
            .map_err(ierr)?;
        self.stats
            .lessons_reindexed
            .fetch_add(lessons.len() as u64, Ordering::Relaxed);
        metrics::counter!("tutor_index_lessons_reindexed_total").increment(lessons.len() as u64);
        Ok(())
    }

    /// Applies the changes logged since the index's version. A turn calls it
    /// with a small `limit` and waits at most for a delta of one batch that
    /// is being applied; a larger delta is left to the background task, which
    /// applies it batch by batch so turns can go between.
    pub async fn catch_up(&self, limit: usize) -> Result<(), SourceError> {
        let Some(live) = self.live.read().await.clone() else {
            return Ok(());
        };
        let inline = limit != usize::MAX;
        // The common case, without queueing behind other turns: nothing new.
        let seen = self.source.version().await?;
        if seen.seq.max(0) as u64 == self.applied_seq.load(Ordering::Relaxed)
            && self
                .applied
                .try_lock()
                .is_ok_and(|a| a.as_ref() == Some(&seen))
        {
            return Ok(());
        }
        let mut applied = self.applied.lock().await;
        let Some(current) = applied.clone() else {
            return Ok(());
        };
        // Read under the lock: nothing else moves the index meanwhile.
        let version = self.source.version().await?;
        if current == version {
            return Ok(());
        }
        if current.epoch != version.epoch || version.seq < current.seq {
            // Another database (restored, replaced): rebuild in place.
            if inline {
                drop(applied);
                self.wake.notify_one();
                return Ok(());
            }
            let n = self.build(&live.bm25, &version).await?;
            self.stats.index_builds.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("tutor_index_builds_total").increment(1);
            tracing::info!(passages = n, "search index rebuilt for another database");
            self.new_build(version.seq);
            *applied = Some(version);
            return Ok(());
        }
        let (lessons, upto) = self.source.changed_since(current.seq).await?;
        if lessons.len() > limit {
            drop(applied);
            self.wake.notify_one();
            return Ok(());
        }
        // Every change up to the version read before the log was committed
        // before it (numbers are taken under one row lock), so it is in `lessons`.
        let upto = upto.max(current.seq).max(version.seq);
        let done = Version {
            epoch: current.epoch.clone(),
            seq: upto,
        };
        if lessons.len() <= DELTA_BATCH {
            // Also records how far the log was read when no lesson is left.
            self.apply(&live, &lessons, &done).await?;
        } else {
            drop(applied);
            for batch in lessons.chunks(DELTA_BATCH) {
                let _one_writer = self.applied.lock().await;
                // Committed with the old version: a restart redoes the delta.
                self.apply(&live, batch, &current).await?;
            }
            applied = self.applied.lock().await;
            if applied.as_ref() != Some(&current) {
                return Ok(());
            }
            self.apply(&live, &[], &done).await?;
        }
        if !lessons.is_empty() {
            tracing::info!(lessons = lessons.len(), seq = upto, "search index updated");
        }
        self.applied_delta(current.seq, upto, &lessons);
        *applied = Some(done);
        Ok(())
    }

    /// Catches up with small deltas before a search (see [`Self::catch_up`]).
    pub async fn refresh(&self) -> Result<(), SourceError> {
        self.catch_up(INLINE_DELTA).await
    }
}

/// Empties a folder.
fn clear(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}
