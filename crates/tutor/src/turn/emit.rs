//! Emitting a reply as ChatKit events: an assistant message started lazily,
//! text deltas, withdrawal of a draft, citations, and the finished item.

use chatkit::TurnError;
use chatkit::types::{
    Annotation, AssistantMessageItem, ItemBase, OutputText, Source, ThreadItem, ThreadItemUpdate,
    ThreadStreamEvent,
};
use chrono::Utc;
use tokio::sync::mpsc;

use crate::agent;
use crate::retrieval::bm25::Passage;

pub type Events = mpsc::Sender<Result<ThreadStreamEvent, TurnError>>;

/// The client went away: the turn stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client left")]
pub struct Gone;

/// Sends events for one assistant message, starting it lazily.
pub struct Writer<'a> {
    tx: &'a Events,
    thread_id: String,
    id: Option<String>,
    text: String,
}

impl<'a> Writer<'a> {
    pub fn new(tx: &'a Events, thread_id: &str) -> Self {
        Writer {
            tx,
            thread_id: thread_id.to_string(),
            id: None,
            text: String::new(),
        }
    }

    pub async fn send(&self, e: ThreadStreamEvent) -> Result<(), Gone> {
        self.tx.send(Ok(e)).await.map_err(|_| Gone)
    }

    /// What has been shown of the current message.
    pub fn shown(&self) -> &str {
        &self.text
    }

    /// Streams `delta`.
    pub async fn delta(&mut self, delta: &str) -> Result<(), Gone> {
        if delta.is_empty() {
            return Ok(());
        }
        if self.id.is_none() {
            let id = chatkit::ids::message_id();
            let base = ItemBase {
                id: id.clone(),
                thread_id: self.thread_id.clone(),
                created_at: Utc::now(),
            };
            self.id = Some(id.clone());
            self.send(ThreadStreamEvent::ItemAdded {
                item: ThreadItem::AssistantMessage(AssistantMessageItem {
                    base,
                    content: vec![],
                }),
            })
            .await?;
            self.send(ThreadStreamEvent::ItemUpdated {
                item_id: id,
                update: ThreadItemUpdate::ContentPartAdded {
                    content_index: 0,
                    content: OutputText {
                        text: String::new(),
                        annotations: vec![],
                    },
                },
            })
            .await?;
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
    pub async fn retract(&mut self) -> Result<(), Gone> {
        self.text.clear();
        match self.id.take() {
            Some(id) => {
                self.send(ThreadStreamEvent::ItemRemoved { item_id: id })
                    .await
            }
            None => Ok(()),
        }
    }

    pub async fn finish(&mut self, annotations: Vec<Annotation>) -> Result<(), Gone> {
        if self.id.is_none() {
            self.delta(" ").await?;
        }
        let id = self.id.clone().unwrap_or_default();
        for (i, a) in annotations.iter().enumerate() {
            self.send(ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::AnnotationAdded {
                    content_index: 0,
                    annotation_index: i,
                    annotation: a.clone(),
                },
            })
            .await?;
        }
        let done = OutputText {
            text: self.text.clone(),
            annotations,
        };
        self.send(ThreadStreamEvent::ItemUpdated {
            item_id: id.clone(),
            update: ThreadItemUpdate::ContentPartDone {
                content_index: 0,
                content: done.clone(),
            },
        })
        .await?;
        let base = ItemBase {
            id,
            thread_id: self.thread_id.clone(),
            created_at: Utc::now(),
        };
        self.id = None;
        self.send(ThreadStreamEvent::ItemDone {
            item: ThreadItem::AssistantMessage(AssistantMessageItem {
                base,
                content: vec![done],
            }),
        })
        .await
    }

    /// A whole message at once (safety text, redirections, hints), word by word.
    pub async fn say(&mut self, text: &str, annotations: Vec<Annotation>) -> Result<(), Gone> {
        for word in text.split_inclusive(' ') {
            self.delta(word).await?;
        }
        self.finish(annotations).await
    }
}

pub fn url_annotation(p: &Passage, index: usize) -> Annotation {
    Annotation {
        source: Source::Url {
            title: p.title.clone(),
            url: p.url.clone(),
            description: None,
            group: None,
        },
        index: Some(index),
    }
}

/// Citations for the `[n]` markers of `text` that name a retrieved passage.
pub fn cite(passages: &[Passage], text: &str) -> Vec<Annotation> {
    agent::citations(text, passages.len())
        .into_iter()
        .map(|(n, at)| url_annotation(&passages[n - 1], at))
        .collect()
}

pub const RETRIEVAL_ONLY_NOTICE: &str = "*Retrieval-only mode: no language model is configured, so this reply is built from your lessons, not written for you.*";
