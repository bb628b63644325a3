//! The tutor as a ChatKit responder. Without a language model configured it
//! runs in retrieval-only mode: it answers with the best passages from the
//! lessons the student has unlocked, cited, and one guiding question — and
//! says plainly that no model wrote it.

use std::sync::Arc;

use async_trait::async_trait;
use chatkit::types::{
    Annotation, AssistantMessageItem, ItemBase, NoticeLevel, OutputText, Source, ThreadItem,
    ThreadItemUpdate, ThreadStreamEvent,
};
use chatkit::{EventStream, Responder, TurnError, TurnInput};
use chrono::{DateTime, Utc};
use common::{Db, on_db};
use futures_util::StreamExt;
use tokio::sync::RwLock;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tutor::agent;
use tutor::guardrails;
use tutor::llm::{Chunk, LlmClient, Message};
use tutor::retrieval::bm25::{Bm25, Passage};
use tutor::retrieval::dense::{Embedder, EmbeddingCache, Point, VectorStore};
use tutor::retrieval::fusion::rrf;

use super::ChatContext;
use crate::content::store as content;

pub const RETRIEVAL_ONLY_NOTICE: &str = "*Retrieval-only mode: no language model is configured, so these are the most relevant parts of your lessons, not a written answer.*";

/// A chunk with the slugs its citation links to.
#[derive(sqlx::FromRow)]
struct ChunkRow {
    id: String,
    lesson_id: String,
    course_id: String,
    stage_position: i64,
    heading_path: String,
    anchor: String,
    text: String,
    stage_slug: String,
    lesson_slug: String,
}

fn passage(r: ChunkRow) -> Passage {
    Passage {
        url: if r.anchor.is_empty() {
            format!("/learn/{}/{}", r.stage_slug, r.lesson_slug)
        } else {
            format!("/learn/{}/{}#{}", r.stage_slug, r.lesson_slug, r.anchor)
        },
        chunk_id: r.id,
        lesson_id: r.lesson_id,
        course_id: r.course_id,
        stage_position: r.stage_position.max(0) as u64,
        title: r.heading_path,
        text: r.text,
    }
}

/// (chunk count, newest chunk) identifies an index generation.
type Generation = (i64, Option<DateTime<Utc>>);

/// The tutor: with a language model when one is configured, else
/// retrieval-only.
#[derive(Clone)]
pub struct TutorResponder {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub db: Db,
    pub llm: Option<LlmClient>,
    pub dense: Option<Dense>,
    index: RwLock<Option<(Generation, Arc<Indexed>)>>,
}

/// The lexical index and every passage by chunk id.
struct Indexed {
    bm25: Bm25,
    by_id: std::collections::HashMap<String, Passage>,
}

/// Dense retrieval: an embedder and where the vectors live.
pub struct Dense {
    pub embedder: Arc<dyn Embedder>,
    pub store: Arc<dyn VectorStore>,
    cache: EmbeddingCache,
    synced: tokio::sync::Mutex<Option<Generation>>,
}

impl Dense {
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<dyn VectorStore>) -> Self {
        Dense {
            embedder,
            store,
            cache: EmbeddingCache::default(),
            synced: tokio::sync::Mutex::new(None),
        }
    }
}

/// Passages, and whether part of the search failed.
pub struct Found {
    pub passages: Vec<Passage>,
    pub limited: bool,
}

pub const LIMITED_NOTICE: &str = "Search results may be limited";

impl std::ops::Deref for TutorResponder {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl TutorResponder {
    pub fn new(db: Db, llm: Option<LlmClient>, dense: Option<Dense>) -> Self {
        TutorResponder {
            inner: Arc::new(Inner {
                db,
                llm,
                dense,
                index: RwLock::new(None),
            }),
        }
    }

    /// The BM25 index, rebuilt when the chunks changed (an authoring edit).
    async fn index(&self) -> Result<(Generation, Arc<Indexed>), String> {
        let generation: Generation = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT COUNT(*), MAX(created_at) FROM content_chunk").fetch_one(pool).await)
        .map_err(|e| e.to_string())?;
        if let Some((g, idx)) = self.index.read().await.as_ref()
            && *g == generation
        {
            return Ok((generation, idx.clone()));
        }
        let rows: Vec<ChunkRow> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT c.id, c.lesson_id, c.course_id, c.stage_position, c.heading_path, c.anchor, c.text, s.slug AS stage_slug, l.slug AS lesson_slug
             FROM content_chunk c JOIN lesson l ON l.id = c.lesson_id JOIN stage s ON s.id = l.stage_id")
            .fetch_all(pool).await).map_err(|e| e.to_string())?;
        let passages: Vec<Passage> = rows.into_iter().map(passage).collect();
        let by_id = passages
            .iter()
            .map(|p| (p.chunk_id.clone(), p.clone()))
            .collect();
        let bm25 = tokio::task::spawn_blocking(move || Bm25::build(&passages))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let built = Arc::new(Indexed { bm25, by_id });
        *self.index.write().await = Some((generation, built.clone()));
        Ok((generation, built))
    }

    /// The course the student is asking about and the stages they may see.
    async fn scope(&self, ctx: &ChatContext) -> Result<Option<(String, Vec<u64>)>, String> {
        let courses = content::courses(&self.db)
            .await
            .map_err(|e| e.to_string())?;
        let course = ctx
            .page
            .course
            .as_ref()
            .and_then(|slug| courses.iter().find(|c| &c.slug == slug))
            .or_else(|| courses.first());
        let Some(course) = course else {
            return Ok(None);
        };
        let stages = content::stages(&self.db, &course.id)
            .await
            .map_err(|e| e.to_string())?;
        let allowed: Vec<u64> = if ctx.user.is_staff() {
            stages.iter().map(|s| s.position.max(0) as u64).collect()
        } else {
            match content::enrolment(&self.db, &ctx.user.id, &course.id)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(e) => stages
                    .iter()
                    .filter(|s| s.position <= e.unlocked_position)
                    .map(|s| s.position.max(0) as u64)
                    .collect(),
                None => Vec::new(),
            }
        };
        Ok(Some((course.id.clone(), allowed)))
    }
}

fn excerpt(text: &str, words: usize) -> String {
    let w: Vec<&str> = text.split_whitespace().collect();
    if w.len() <= words {
        w.join(" ")
    } else {
        format!("{} …", w[..words].join(" "))
    }
}

/// Builds the retrieval-only reply and its citations.
pub fn compose(hits: &[(f32, Passage)]) -> (String, Vec<Annotation>) {
    let mut text = String::from(RETRIEVAL_ONLY_NOTICE);
    text.push_str("\n\n");
    let mut annotations = Vec::new();
    if hits.is_empty() {
        text.push_str(
            "I couldn't find anything about that in the lessons you have unlocked. Try rephrasing with words from your current lesson, or ask about a topic from your current stage.",
        );
        return (text, annotations);
    }
    for (i, (_, p)) in hits.iter().enumerate() {
        text.push_str(&format!(
            "**{}** — {} [{}]",
            p.title,
            excerpt(&p.text, 70),
            i + 1
        ));
        annotations.push(Annotation {
            source: Source::Url {
                title: p.title.clone(),
                url: p.url.clone(),
                description: None,
                group: None,
            },
            index: Some(text.chars().count()),
        });
        text.push_str("\n\n");
    }
    let heading = hits[0]
        .1
        .title
        .rsplit(" › ")
        .next()
        .unwrap_or_default()
        .to_string();
    text.push_str(&format!(
        "**A question to guide you:** in *{heading}*, what is the key idea, and how would you apply it to what you asked? Try answering in your own words before reading further."
    ));
    (text, annotations)
}

/// Sends events for one assistant message, starting it lazily.
struct Writer<'a> {
    tx: &'a mpsc::Sender<Result<ThreadStreamEvent, TurnError>>,
    thread_id: String,
    id: Option<String>,
    text: String,
}

impl<'a> Writer<'a> {
    fn new(tx: &'a mpsc::Sender<Result<ThreadStreamEvent, TurnError>>, thread_id: &str) -> Self {
        Writer {
            tx,
            thread_id: thread_id.to_string(),
            id: None,
            text: String::new(),
        }
    }

    async fn send(&self, e: ThreadStreamEvent) -> bool {
        self.tx.send(Ok(e)).await.is_ok()
    }

    /// Streams `delta`; false when the client has gone.
    async fn delta(&mut self, delta: &str) -> bool {
        if delta.is_empty() {
            return true;
        }
        if self.id.is_none() {
            let id = chatkit::ids::message_id();
            let base = ItemBase {
                id: id.clone(),
                thread_id: self.thread_id.clone(),
                created_at: Utc::now(),
            };
            self.id = Some(id.clone());
            if !self
                .send(ThreadStreamEvent::ItemAdded {
                    item: ThreadItem::AssistantMessage(AssistantMessageItem {
                        base,
                        content: vec![],
                    }),
                })
                .await
            {
                return false;
            }
            if !self
                .send(ThreadStreamEvent::ItemUpdated {
                    item_id: id,
                    update: ThreadItemUpdate::ContentPartAdded {
                        content_index: 0,
                        content: OutputText {
                            text: String::new(),
                            annotations: vec![],
                        },
                    },
                })
                .await
            {
                return false;
            }
        }
        self.text.push_str(delta);
        let item_id = self.id.clone().unwrap_or_default();
        self.send(ThreadStreamEvent::ItemUpdated {
            item_id,
            update: ThreadItemUpdate::TextDelta {
                content_index: 0,
                delta: delta.to_string(),
            },
        })
        .await
    }

    /// Withdraws whatever was shown of this message.
    async fn retract(&mut self) -> bool {
        self.text.clear();
        match self.id.take() {
            Some(id) => {
                self.send(ThreadStreamEvent::ItemRemoved { item_id: id })
                    .await
            }
            None => true,
        }
    }

    async fn finish(&mut self, annotations: Vec<Annotation>) -> bool {
        if self.id.is_none() && !self.delta(" ").await {
            return false;
        }
        let id = self.id.clone().unwrap_or_default();
        for (i, a) in annotations.iter().enumerate() {
            if !self
                .send(ThreadStreamEvent::ItemUpdated {
                    item_id: id.clone(),
                    update: ThreadItemUpdate::AnnotationAdded {
                        content_index: 0,
                        annotation_index: i,
                        annotation: a.clone(),
                    },
                })
                .await
            {
                return false;
            }
        }
        let done = OutputText {
            text: self.text.clone(),
            annotations,
        };
        if !self
            .send(ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::ContentPartDone {
                    content_index: 0,
                    content: done.clone(),
                },
            })
            .await
        {
            return false;
        }
        let base = ItemBase {
            id,
            thread_id: self.thread_id.clone(),
            created_at: Utc::now(),
        };
        self.send(ThreadStreamEvent::ItemDone {
            item: ThreadItem::AssistantMessage(AssistantMessageItem {
                base,
                content: vec![done],
            }),
        })
        .await
    }

    /// A whole message at once (safety text, redirections, hints).
    async fn say(&mut self, text: &str) -> bool {
        for word in text.split_inclusive(' ') {
            if !self.delta(word).await {
                return false;
            }
        }
        self.finish(Vec::new()).await
    }
}

fn cite(passages: &[Passage], text: &str) -> Vec<Annotation> {
    agent::citations(text, passages.len())
        .into_iter()
        .map(|(n, at)| {
            let p = &passages[n - 1];
            Annotation {
                source: Source::Url {
                    title: p.title.clone(),
                    url: p.url.clone(),
                    description: None,
                    group: None,
                },
                index: Some(at),
            }
        })
        .collect()
}

const OFF_TOPIC: &str = "That seems to be outside what this course covers, or outside the lessons you have unlocked so far. Ask me about something from your lessons — for example, one of the sections on this page — and we can work through it together.";

impl TutorResponder {
    async fn flag_thread(&self, thread_id: &str, flag: &str) {
        let res = on_db!(&self.db, pool => sqlx::query_as::<_, (String,)>("SELECT metadata FROM chatkit_thread WHERE id = $1")
            .bind(thread_id).fetch_optional(pool).await);
        let mut meta: serde_json::Map<String, serde_json::Value> = match res {
            Ok(Some((m,))) => serde_json::from_str(&m).unwrap_or_default(),
            _ => return,
        };
        let flags = meta.entry("flags").or_insert_with(|| serde_json::json!([]));
        if let Some(list) = flags.as_array_mut()
            && !list.iter().any(|f| f == flag)
        {
            list.push(serde_json::Value::String(flag.to_string()));
        }
        let text = serde_json::Value::Object(meta).to_string();
        let _ = on_db!(&self.db, pool => sqlx::query("UPDATE chatkit_thread SET metadata = $1 WHERE id = $2")
            .bind(text).bind(thread_id).execute(pool).await.map(|_| ()));
    }

    /// Exercise answers of the lessons in play: never to be given away.
    async fn answers(&self, passages: &[Passage], ctx: &ChatContext) -> Vec<String> {
        let mut ids: Vec<String> = passages.iter().map(|p| p.lesson_id.clone()).collect();
        if let (Some(stage), Some(lesson)) = (&ctx.page.stage, &ctx.page.lesson) {
            let row: Option<(String,)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT l.id FROM lesson l JOIN stage s ON s.id = l.stage_id WHERE s.slug = $1 AND l.slug = $2")
                .bind(stage).bind(lesson).fetch_optional(pool).await).ok().flatten();
            if let Some((id,)) = row {
                ids.push(id);
            }
        }
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            if let Ok(Some(l)) = content::lesson_by_id(&self.db, &id).await {
                out.extend(l.exercises().into_iter().map(|e| e.answer));
            }
        }
        out
    }

    async fn hint(&self, passages: &[Passage]) -> String {
        for p in passages {
            if let Ok(Some(l)) = content::lesson_by_id(&self.db, &p.lesson_id).await
                && let Some(h) = l.exercises().into_iter().flat_map(|e| e.hints).next()
            {
                return format!(
                    "I can't give that answer away, but here is a hint: {h} What do you get when you try that?"
                );
            }
        }
        "I can't give that answer away. Which step are you unsure about? Tell me what you have tried so far.".into()
    }

    async fn history(&self, thread_id: &str, exclude: Option<&str>) -> Vec<(bool, String)> {
        let rows: Vec<(String,)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT content FROM chatkit_thread_item WHERE thread_id = $1 ORDER BY seq DESC LIMIT 30")
            .bind(thread_id).fetch_all(pool).await).unwrap_or_default();
        let mut out: Vec<(bool, String)> = rows
            .into_iter()
            .filter_map(|(c,)| serde_json::from_str::<ThreadItem>(&c).ok())
            .filter(|i| Some(i.id()) != exclude)
            .filter_map(|i| match i {
                ThreadItem::UserMessage(u) => Some((true, u.text())),
                ThreadItem::AssistantMessage(a) => Some((false, a.text())),
                _ => None,
            })
            .collect();
        out.reverse();
        out
    }

    /// The opening chunks of the lesson the student is on, if they may see it.
    async fn page_passages(&self, ctx: &ChatContext) -> Vec<Passage> {
        let (Some(stage), Some(lesson)) = (&ctx.page.stage, &ctx.page.lesson) else {
            return Vec::new();
        };
        let Ok(Some((course, allowed))) = self.scope(ctx).await else {
            return Vec::new();
        };
        let rows: Vec<ChunkRow> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT c.id, c.lesson_id, c.course_id, c.stage_position, c.heading_path, c.anchor, c.text, s.slug AS stage_slug, l.slug AS lesson_slug
             FROM content_chunk c JOIN lesson l ON l.id = c.lesson_id JOIN stage s ON s.id = l.stage_id
             WHERE s.slug = $1 AND l.slug = $2 AND c.course_id = $3 ORDER BY c.position LIMIT 3")
            .bind(stage).bind(lesson).bind(&course).fetch_all(pool).await)
        .unwrap_or_default();
        rows.into_iter()
            .filter(|r| allowed.contains(&(r.stage_position.max(0) as u64)))
            .map(passage)
            .collect()
    }

    /// Brings the vector store in line with the current chunks.
    async fn sync_dense(
        &self,
        dense: &Dense,
        generation: Generation,
        idx: &Indexed,
    ) -> Result<(), String> {
        let mut synced = dense.synced.lock().await;
        if *synced == Some(generation) {
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
        *synced = Some(generation);
        Ok(())
    }

    /// BM25, fused with dense results when configured. A failing vector
    /// store leaves BM25 alone and marks the result as limited.
    async fn search(&self, query: &str, ctx: &ChatContext, k: usize) -> Result<Found, String> {
        let (generation, idx) = self.index().await?;
        let Some((course, stages)) = self.scope(ctx).await? else {
            return Ok(Found {
                passages: Vec::new(),
                limited: false,
            });
        };
        let lexical: Vec<String> = idx
            .bm25
            .search(query, &course, &stages, 20)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(_, p)| p.chunk_id)
            .collect();
        let mut limited = false;
        let ranked: Vec<String> = match &self.dense {
            None => lexical,
            Some(dense) => {
                let dense_ids = async {
                    self.sync_dense(dense, generation, &idx).await?;
                    let v = dense
                        .embedder
                        .embed(&[query.to_string()])
                        .await
                        .map_err(|e| e.to_string())?;
                    let v = v.into_iter().next().unwrap_or_default();
                    dense
                        .store
                        .search(&v, &course, &stages, 20)
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
            .filter(|p| p.course_id == course && stages.contains(&p.stage_position))
            .take(k)
            .collect();
        Ok(Found { passages, limited })
    }

    /// One turn. Events go to `tx`; a closed channel means the client left.
    async fn turn(
        self,
        input: TurnInput,
        ctx: ChatContext,
        tx: mpsc::Sender<Result<ThreadStreamEvent, TurnError>>,
    ) {
        let question = input
            .user_message
            .as_ref()
            .map(|m| m.text())
            .unwrap_or_default();
        let selection = ctx.page.selected_text.clone();
        let thread_id = input.thread.id.clone();
        if question.chars().count() > guardrails::MAX_MESSAGE_CHARS {
            let _ = tx
                .send(Err(TurnError::Custom {
                    message: format!(
                        "Your message is longer than {} characters; shorten it and ask again.",
                        guardrails::MAX_MESSAGE_CHARS
                    ),
                    allow_retry: false,
                }))
                .await;
            return;
        }
        let mut flags = guardrails::injection_flags(&question);
        if let Some(sel) = &selection {
            flags.extend(guardrails::injection_flags(sel));
        }
        if !flags.is_empty() {
            tracing::warn!(user = %ctx.user.id, thread = %thread_id, ?flags, "possible prompt injection in chat input");
            self.flag_thread(&thread_id, "injection").await;
        }
        let mut w = Writer::new(&tx, &thread_id);
        if guardrails::mentions_self_harm(&question) {
            tracing::warn!(user = %ctx.user.id, thread = %thread_id, "self-harm language in chat; safety text sent");
            self.flag_thread(&thread_id, "self_harm").await;
            w.say(guardrails::SAFETY_TEXT).await;
            return;
        }
        let query = match &selection {
            Some(sel) => format!("{question} {sel}"),
            None => question.clone(),
        };
        let found = match self.search(&query, &ctx, 4).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "retrieval failed");
                let _ = tx.send(Err(TurnError::Stream { allow_retry: true })).await;
                return;
            }
        };
        if found.limited
            && !w
                .send(ThreadStreamEvent::Notice {
                    level: NoticeLevel::Warning,
                    message: LIMITED_NOTICE.into(),
                    title: None,
                })
                .await
        {
            return;
        }
        let mut passages = found.passages;
        let Some(llm) = self.llm.clone() else {
            let hits: Vec<(f32, Passage)> =
                passages.into_iter().take(3).map(|p| (0.0, p)).collect();
            let (text, annotations) = compose(&hits);
            for word in text.split_inclusive(' ') {
                if !w.delta(word).await {
                    return;
                }
            }
            w.finish(annotations).await;
            return;
        };
        if passages.is_empty() {
            // A question about the page itself ("what does this exercise want?")
            // is on topic even when its words match nothing.
            passages = self.page_passages(&ctx).await;
        }
        if passages.is_empty() {
            w.say(OFF_TOPIC).await;
            return;
        }
        let answers = self.answers(&passages, &ctx).await;
        let hold = guardrails::holdback(&answers);
        let history = self
            .history(
                &thread_id,
                input.user_message.as_ref().map(|m| m.base.id.as_str()),
            )
            .await;
        let page = agent::Context {
            lesson_title: ctx.page.title.clone(),
            page_headings: ctx.page.headings.clone(),
            selected_text: selection.clone(),
        };
        for attempt in 0..2 {
            let strict = attempt == 1;
            let mut messages = agent::build(&page, &passages, &history, &question, strict);
            let mut draft = String::new();
            let mut guard = guardrails::LeakGuard::new(&answers);
            let mut total = 0usize;
            let mut shown = 0usize;
            let mut leaked = false;
            'rounds: for _round in 0..3 {
                let mut stream = match llm.stream(&messages, &[agent::search_tool()]).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "the model failed");
                        let _ = tx.send(Err(TurnError::Stream { allow_retry: true })).await;
                        return;
                    }
                };
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(Chunk::Text(t)) => {
                            draft.push_str(&t);
                            total += t.chars().count();
                            if guard.push(&t) {
                                leaked = true;
                                break 'rounds;
                            }
                            let safe = total.saturating_sub(hold);
                            if safe > shown {
                                // Only the unshown tail is walked, not the whole draft.
                                let from = total - shown;
                                let tail_start = draft
                                    .char_indices()
                                    .rev()
                                    .nth(from.saturating_sub(1))
                                    .map(|(i, _)| i)
                                    .unwrap_or(0);
                                let piece: String =
                                    draft[tail_start..].chars().take(safe - shown).collect();
                                shown = safe;
                                if !w.delta(&piece).await {
                                    return;
                                }
                            }
                        }
                        Ok(Chunk::ToolCalls(calls)) => {
                            messages.push(Message::assistant_tool_calls(calls.clone()));
                            for call in calls {
                                let q = serde_json::from_str::<serde_json::Value>(
                                    &call.function.arguments,
                                )
                                .ok()
                                .and_then(|v| {
                                    v.get("query").and_then(|q| q.as_str()).map(str::to_string)
                                })
                                .unwrap_or_default();
                                let found = if call.function.name == "search_course" {
                                    self.search(&q, &ctx, 3)
                                        .await
                                        .map(|f| f.passages)
                                        .unwrap_or_default()
                                } else {
                                    Vec::new()
                                };
                                let first = passages.len() + 1;
                                let block = if found.is_empty() {
                                    "No passages found.".to_string()
                                } else {
                                    agent::passages_block(&found, first)
                                };
                                passages.extend(found);
                                messages.push(Message::tool_result(&call.id, block));
                            }
                            continue 'rounds;
                        }
                        Ok(Chunk::Done) => break 'rounds,
                        Err(e) => {
                            tracing::warn!(error = %e, "the model stream broke");
                            let _ = tx.send(Err(TurnError::Stream { allow_retry: true })).await;
                            return;
                        }
                    }
                }
                break;
            }
            if leaked {
                tracing::warn!(thread = %thread_id, attempt, "draft revealed an exercise answer; withdrawn");
                if !w.retract().await {
                    return;
                }
                if attempt == 0 {
                    continue;
                }
                let hint = self.hint(&passages).await;
                w.say(&hint).await;
                return;
            }
            let rest: String = draft.chars().skip(shown).collect();
            if !w.delta(&rest).await {
                return;
            }
            let annotations = cite(&passages, &draft);
            w.finish(annotations).await;
            break;
        }
        if input.thread.title.is_none() && !question.trim().is_empty() {
            let mut thread =
                chatkit::types::Thread::from_metadata(&input.thread, Default::default());
            thread.title = Some(question.chars().take(60).collect());
            let _ = tx
                .send(Ok(ThreadStreamEvent::ThreadUpdated { thread }))
                .await;
        }
    }
}

#[async_trait]
impl Responder<ChatContext> for TutorResponder {
    async fn respond(&self, input: TurnInput, ctx: ChatContext) -> EventStream {
        let (tx, rx) = mpsc::channel(64);
        // Dropping the stream (the client left) closes the channel, which ends
        // the turn and drops the model's stream with it.
        tokio::spawn(self.clone().turn(input, ctx, tx));
        ReceiverStream::new(rx).boxed()
    }
}
