//! The tutor as a ChatKit responder. Without a language model configured it
//! runs in retrieval-only mode: it answers with the best passages from the
//! lessons the student has unlocked, cited, and one guiding question — and
//! says plainly that no model wrote it.

use std::sync::Arc;

use async_trait::async_trait;
use chatkit::types::{
    Annotation, AssistantMessageItem, ItemBase, OutputText, Source, ThreadItem, ThreadItemUpdate,
    ThreadStreamEvent,
};
use chatkit::{EventStream, Responder, TurnError, TurnInput};
use chrono::{DateTime, Utc};
use common::{Db, on_db};
use futures_util::StreamExt;
use tokio::sync::RwLock;
use tutor::retrieval::bm25::{Bm25, Passage};

use super::ChatContext;
use crate::content::store as content;

pub const RETRIEVAL_ONLY_NOTICE: &str = "*Retrieval-only mode: no language model is configured, so these are the most relevant parts of your lessons, not a written answer.*";

/// A chunk with the slugs its citation links to.
#[derive(sqlx::FromRow)]
struct ChunkRow {
    id: String,
    course_id: String,
    stage_position: i64,
    heading_path: String,
    anchor: String,
    text: String,
    stage_slug: String,
    lesson_slug: String,
}

/// (chunk count, newest chunk) identifies an index generation.
type Generation = (i64, Option<DateTime<Utc>>);

pub struct TutorResponder {
    pub db: Db,
    index: RwLock<Option<(Generation, Arc<Bm25>)>>,
}

impl TutorResponder {
    pub fn new(db: Db) -> Self {
        TutorResponder {
            db,
            index: RwLock::new(None),
        }
    }

    /// The BM25 index, rebuilt when the chunks changed (an authoring edit).
    async fn index(&self) -> Result<Arc<Bm25>, String> {
        let generation: Generation = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT COUNT(*), MAX(created_at) FROM content_chunk").fetch_one(pool).await)
        .map_err(|e| e.to_string())?;
        if let Some((g, idx)) = self.index.read().await.as_ref()
            && *g == generation
        {
            return Ok(idx.clone());
        }
        let rows: Vec<ChunkRow> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT c.id, c.course_id, c.stage_position, c.heading_path, c.anchor, c.text, s.slug AS stage_slug, l.slug AS lesson_slug
             FROM content_chunk c JOIN lesson l ON l.id = c.lesson_id JOIN stage s ON s.id = l.stage_id")
            .fetch_all(pool).await).map_err(|e| e.to_string())?;
        let passages: Vec<Passage> = rows
            .into_iter()
            .map(|r: ChunkRow| Passage {
                url: if r.anchor.is_empty() {
                    format!("/learn/{}/{}", r.stage_slug, r.lesson_slug)
                } else {
                    format!("/learn/{}/{}#{}", r.stage_slug, r.lesson_slug, r.anchor)
                },
                chunk_id: r.id,
                course_id: r.course_id,
                stage_position: r.stage_position.max(0) as u64,
                title: r.heading_path,
                text: r.text,
            })
            .collect();
        let built = Arc::new(
            tokio::task::spawn_blocking(move || Bm25::build(&passages))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?,
        );
        *self.index.write().await = Some((generation, built.clone()));
        Ok(built)
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

#[async_trait]
impl Responder<ChatContext> for TutorResponder {
    async fn respond(&self, input: TurnInput, ctx: ChatContext) -> EventStream {
        let question = input
            .user_message
            .as_ref()
            .map(|m| m.text())
            .unwrap_or_default();
        let query = match &ctx.page.selected_text {
            Some(sel) => format!("{question} {sel}"),
            None => question.clone(),
        };
        let hits = async {
            let index = self.index().await?;
            let Some((course, stages)) = self.scope(&ctx).await? else {
                return Ok::<_, String>(Vec::new());
            };
            index
                .search(&query, &course, &stages, 3)
                .map_err(|e| e.to_string())
        }
        .await;
        let hits = match hits {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "retrieval failed");
                return futures_util::stream::iter(vec![Err(TurnError::Stream {
                    allow_retry: true,
                })])
                .boxed();
            }
        };
        let (text, annotations) = compose(&hits);
        let id = chatkit::ids::message_id();
        let base = ItemBase {
            id: id.clone(),
            thread_id: input.thread.id.clone(),
            created_at: Utc::now(),
        };
        let mut events = vec![
            ThreadStreamEvent::ItemAdded {
                item: ThreadItem::AssistantMessage(AssistantMessageItem {
                    base: base.clone(),
                    content: vec![],
                }),
            },
            ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::ContentPartAdded {
                    content_index: 0,
                    content: OutputText {
                        text: String::new(),
                        annotations: vec![],
                    },
                },
            },
        ];
        for word in text.split_inclusive(' ') {
            events.push(ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::TextDelta {
                    content_index: 0,
                    delta: word.to_string(),
                },
            });
        }
        for (i, a) in annotations.iter().enumerate() {
            events.push(ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::AnnotationAdded {
                    content_index: 0,
                    annotation_index: i,
                    annotation: a.clone(),
                },
            });
        }
        let done = OutputText { text, annotations };
        events.push(ThreadStreamEvent::ItemUpdated {
            item_id: id.clone(),
            update: ThreadItemUpdate::ContentPartDone {
                content_index: 0,
                content: done.clone(),
            },
        });
        events.push(ThreadStreamEvent::ItemDone {
            item: ThreadItem::AssistantMessage(AssistantMessageItem {
                base,
                content: vec![done],
            }),
        });
        if input.thread.title.is_none() && !question.trim().is_empty() {
            let mut thread =
                chatkit::types::Thread::from_metadata(&input.thread, Default::default());
            thread.title = Some(question.chars().take(60).collect());
            events.push(ThreadStreamEvent::ThreadUpdated { thread });
        }
        futures_util::stream::iter(events.into_iter().map(Ok)).boxed()
    }
}
