//! Request dispatch. Non-streaming requests answer JSON; streaming requests
//! persist the user's message first, then run the responder in a task that
//! saves items as they finish and writes SSE frames to the client. If the
//! client goes away mid-answer, the partial reply is saved with a hidden
//! marker, as the reference SDK does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::ids;
use crate::request::{Envelope, Order, Request, UserMessageInput};
use crate::sse;
use crate::store::{Store, StoreError};
use crate::types::*;

/// Told to the model after a cancelled answer so it does not continue it.
pub const CANCELLED_MARKER: &str =
    "The user cancelled the stream. Stop responding to the prior request.";

/// Told to the model after an answer that broke off with an error.
pub const INTERRUPTED_MARKER: &str = "The previous reply was cut off by an error. Do not continue it; answer the next message afresh.";

/// What a responder gets for one turn.
#[derive(Debug, Clone)]
pub struct TurnInput {
    /// The server's clock, for the timestamps of the items the responder writes.
    pub clock: Clock,
    pub thread: ThreadMetadata,
    /// The message being answered (`None` would be a continuation).
    pub user_message: Option<UserMessageItem>,
    /// The request's free-form metadata (page context). Never identity.
    pub metadata: Map<String, Value>,
}

/// A failure inside a turn; becomes an `error` event.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TurnError {
    /// Shown to the user as is.
    #[error("{message}")]
    Custom { message: String, allow_retry: bool },
    /// The client shows its own localized text.
    #[error("stream error")]
    Stream { allow_retry: bool },
}

pub type EventStream = BoxStream<'static, Result<ThreadStreamEvent, TurnError>>;

/// Where the time of new threads and items comes from: the wall clock unless
/// the application injects its own (tests move time by hand).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn new(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(Utc::now)
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// Produces the assistant's side of a turn.
#[async_trait]
pub trait Responder<C>: Send + Sync {
    async fn respond(&self, input: TurnInput, ctx: C) -> EventStream;
}

/// How a turn ended, for usage accounting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnReport {
    pub duration: Duration,
    pub failed: bool,
    pub cancelled: bool,
}

#[async_trait]
pub trait TurnObserver<C>: Send + Sync {
    async fn turn_finished(&self, ctx: &C, report: TurnReport);
}

/// A failure before any stream opens, with an HTTP-like status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProcessError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ProcessError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ProcessError {
            status,
            code,
            message: message.into(),
        }
    }
    fn not_found() -> Self {
        Self::new(404, "not_found", "No such thread or item")
    }
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ProcessError::not_found(),
            StoreError::Backend(msg) => {
                tracing::error!(error = %msg, "chat store failed");
                ProcessError::new(500, "internal", "Something went wrong on our side")
            }
        }
    }
}

pub enum Outcome {
    Json(Value),
    /// SSE frames, ready to write.
    Stream(mpsc::Receiver<Vec<u8>>),
}

/// Bounds on what a request may carry, checked before anything is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters of text in one user message (its parts and quoted text).
    pub max_message_chars: usize,
    /// Item ids in one `items.feedback`.
    pub max_feedback_items: usize,
    /// Characters of a thread title.
    pub max_title_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_chars: 4_000,
            max_feedback_items: 100,
            max_title_chars: 200,
        }
    }
}

pub struct ChatKitServer<C> {
    store: Arc<dyn Store<C>>,
    responder: Arc<dyn Responder<C>>,
    observer: Option<Arc<dyn TurnObserver<C>>>,
    limits: Limits,
    clock: Clock,
}

impl<C> Clone for ChatKitServer<C> {
    fn clone(&self) -> Self {
        ChatKitServer {
            store: self.store.clone(),
            responder: self.responder.clone(),
            observer: self.observer.clone(),
            limits: self.limits,
            clock: self.clock.clone(),
        }
    }
}

/// Characters no text field may hold: NUL and the other control characters
/// except tab and line breaks.
fn has_forbidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn visible(page: Page<ThreadItem>) -> Page<ThreadItem> {
    Page {
        data: page.data.into_iter().filter(|i| !i.is_hidden()).collect(),
        ..page
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl<C: Clone + Send + Sync + 'static> ChatKitServer<C> {
    pub fn new(store: Arc<dyn Store<C>>, responder: Arc<dyn Responder<C>>) -> Self {
        ChatKitServer {
            store,
            responder,
            observer: None,
            limits: Limits::default(),
            clock: Clock::default(),
        }
    }

    /// Stamps threads and items with `clock` instead of the wall clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Checks what a request carries against the limits, touching no storage:
    /// callers run it before charging a quota, and `process` runs it again.
    pub fn check(&self, request: &Request) -> Result<(), ProcessError> {
        match request {
            Request::CreateThread { input } | Request::AddUserMessage { input, .. } => {
                self.user_item_check(input)
            }
            Request::UpdateThread { title, .. } => {
                let title = title.trim();
                if title.is_empty()
                    || title.chars().count() > self.limits.max_title_chars
                    || title.chars().any(char::is_control)
                {
                    return Err(ProcessError::new(
                        422,
                        "invalid_title",
                        format!(
                            "A title is 1 to {} characters on one line",
                            self.limits.max_title_chars
                        ),
                    ));
                }
                Ok(())
            }
            Request::Feedback { item_ids, .. } => {
                if item_ids.is_empty() || item_ids.len() > self.limits.max_feedback_items {
                    return Err(ProcessError::new(
                        422,
                        "too_many_items",
                        format!(
                            "Give feedback on 1 to {} items at a time",
                            self.limits.max_feedback_items
                        ),
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn with_observer(mut self, observer: Arc<dyn TurnObserver<C>>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store<C>> {
        &self.store
    }

    pub async fn process(&self, envelope: Envelope, ctx: C) -> Result<Outcome, ProcessError> {
        self.check(&envelope.request)?;
        let Envelope { request, metadata } = envelope;
        let store = &self.store;
        match request {
            Request::GetThread { thread_id } => {
                let t = store.load_thread(&thread_id, &ctx).await?;
                let items = store
                    .load_thread_items(
                        &thread_id,
                        None,
                        crate::request::DEFAULT_PAGE_SIZE,
                        Order::Asc,
                        &ctx,
                    )
                    .await?;
                Ok(Outcome::Json(to_json(&Thread::from_metadata(
                    &t,
                    visible(items),
                ))))
            }
            Request::ListThreads { page } => {
                let page = store
                    .load_threads(page.limit, page.after.as_deref(), page.order, &ctx)
                    .await?;
                let out = Page {
                    data: page
                        .data
                        .iter()
                        .map(|t| Thread::from_metadata(t, Page::default()))
                        .collect(),
                    has_more: page.has_more,
                    after: page.after,
                };
                Ok(Outcome::Json(to_json(&out)))
            }
            Request::UpdateThread { thread_id, title } => {
                let mut t = store.load_thread(&thread_id, &ctx).await?;
                t.title = Some(title.trim().to_string());
                store.save_thread(&t, &ctx).await?;
                Ok(Outcome::Json(to_json(&Thread::from_metadata(
                    &t,
                    Page::default(),
                ))))
            }
            Request::DeleteThread { thread_id } => {
                store.load_thread(&thread_id, &ctx).await?;
                store.delete_thread(&thread_id, &ctx).await?;
                Ok(Outcome::Json(json!({})))
            }
            Request::ListItems { thread_id, page } => {
                store.load_thread(&thread_id, &ctx).await?;
                let page = store
                    .load_thread_items(
                        &thread_id,
                        page.after.as_deref(),
                        page.limit,
                        page.order,
                        &ctx,
                    )
                    .await?;
                Ok(Outcome::Json(to_json(&visible(page))))
            }
            Request::Feedback {
                thread_id,
                item_ids,
                kind,
            } => {
                store.load_thread(&thread_id, &ctx).await?;
                store
                    .add_feedback(&thread_id, &item_ids, kind, &ctx)
                    .await?;
                Ok(Outcome::Json(json!({})))
            }
            Request::Unsupported {
                kind,
                streaming: false,
            } => Err(ProcessError::new(
                400,
                "unsupported",
                format!("`{kind}` is not supported by this server"),
            )),
            Request::Unsupported {
                kind,
                streaming: true,
            } => {
                let (tx, rx) = mpsc::channel(1);
                let frame = sse::encode(&ThreadStreamEvent::Error {
                    code: "custom".into(),
                    message: Some(format!("`{kind}` is not supported by this server")),
                    allow_retry: false,
                });
                let _ = tx.send(frame).await;
                Ok(Outcome::Stream(rx))
            }
            Request::CreateThread { input } => {
                let thread = ThreadMetadata {
                    id: ids::thread_id(),
                    title: None,
                    created_at: self.clock.now(),
                    status: ThreadStatus::Active,
                    metadata: Map::new(),
                };
                store.save_thread(&thread, &ctx).await?;
                let item = self.add_user_message(&thread.id, input, &ctx).await?;
                let pre = vec![
                    ThreadStreamEvent::ThreadCreated {
                        thread: Thread::from_metadata(&thread, Page::default()),
                    },
                    ThreadStreamEvent::ItemDone {
                        item: ThreadItem::UserMessage(item.clone()),
                    },
                ];
                Ok(self.run(thread, Some(item), metadata, pre, ctx))
            }
            Request::AddUserMessage { thread_id, input } => {
                let thread = self.active_thread(&thread_id, &ctx).await?;
                let item = self.add_user_message(&thread.id, input, &ctx).await?;
                let pre = vec![ThreadStreamEvent::ItemDone {
                    item: ThreadItem::UserMessage(item.clone()),
                }];
                Ok(self.run(thread, Some(item), metadata, pre, ctx))
            }
            Request::RetryAfterItem { thread_id, item_id } => {
                let thread = self.active_thread(&thread_id, &ctx).await?;
                // Walk newest to oldest until the item; everything newer goes.
                let mut newer = Vec::new();
                let mut found = None;
                let mut after: Option<String> = None;
                'pages: loop {
                    let page = store
                        .load_thread_items(&thread_id, after.as_deref(), 50, Order::Desc, &ctx)
                        .await?;
                    for item in page.data {
                        if item.id() == item_id {
                            found = Some(item);
                            break 'pages;
                        }
                        newer.push(item.id().to_string());
                    }
                    if !page.has_more {
                        break;
                    }
                    after = page.after;
                }
                let Some(found) = found else {
                    return Err(ProcessError::not_found());
                };
                let ThreadItem::UserMessage(user) = found else {
                    return Err(ProcessError::new(
                        400,
                        "not_a_user_message",
                        "Retry needs the id of a user message",
                    ));
                };
                for id in newer {
                    store.delete_thread_item(&thread_id, &id, &ctx).await?;
                }
                Ok(self.run(thread, Some(user), metadata, Vec::new(), ctx))
            }
        }
    }

    /// A thread that still takes messages: a locked or closed one refuses.
    async fn active_thread(
        &self,
        thread_id: &str,
        ctx: &C,
    ) -> Result<ThreadMetadata, ProcessError> {
        let thread = self.store.load_thread(thread_id, ctx).await?;
        if thread.status != ThreadStatus::Active {
            return Err(ProcessError::new(
                409,
                "thread_not_active",
                "This thread is locked or closed",
            ));
        }
        Ok(thread)
    }

    /// Stores the user's message as the thread's newest item.
    async fn add_user_message(
        &self,
        thread_id: &str,
        input: UserMessageInput,
        ctx: &C,
    ) -> Result<UserMessageItem, ProcessError> {
        let item = user_item(thread_id, input, self.clock.now());
        self.store
            .add_thread_item(thread_id, &ThreadItem::UserMessage(item.clone()), ctx)
            .await?;
        Ok(item)
    }

    fn user_item_check(&self, input: &UserMessageInput) -> Result<(), ProcessError> {
        let has_text = input.content.iter().any(|c| match c {
            UserMessageContent::InputText { text } => !text.trim().is_empty(),
            UserMessageContent::InputTag { .. } => true,
        });
        if !has_text {
            return Err(ProcessError::new(
                422,
                "empty_message",
                "The message is empty",
            ));
        }
        let texts: Vec<&str> = input
            .content
            .iter()
            .filter_map(|c| match c {
                UserMessageContent::InputText { text } => Some(text.as_str()),
                UserMessageContent::InputTag { .. } => None,
            })
            .collect();
        let quoted = input.quoted_text.as_deref().unwrap_or_default();
        if texts
            .iter()
            .chain([&quoted])
            .any(|t| has_forbidden_control(t))
        {
            return Err(ProcessError::new(
                400,
                "invalid_characters",
                "The message holds control characters",
            ));
        }
        let max = self.limits.max_message_chars;
        let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
        if chars > max || quoted.chars().count() > max {
            return Err(ProcessError::new(
                422,
                "message_too_long",
                format!("Your message is longer than {max} characters; shorten it and ask again."),
            ));
        }
        Ok(())
    }

    fn run(
        &self,
        thread: ThreadMetadata,
        user: Option<UserMessageItem>,
        metadata: Map<String, Value>,
        pre: Vec<ThreadStreamEvent>,
        ctx: C,
    ) -> Outcome {
        let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
        let this = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let (failed, cancelled) = this.drive(thread, user, metadata, pre, &ctx, &tx).await;
            if let Some(obs) = &this.observer {
                obs.turn_finished(
                    &ctx,
                    TurnReport {
                        duration: started.elapsed(),
                        failed,
                        cancelled,
                    },
                )
                .await;
            }
        });
        Outcome::Stream(rx)
    }

    /// Returns (failed, cancelled).
    async fn drive(
        &self,
        mut thread: ThreadMetadata,
        user: Option<UserMessageItem>,
        metadata: Map<String, Value>,
        pre: Vec<ThreadStreamEvent>,
        ctx: &C,
        tx: &mpsc::Sender<Vec<u8>>,
    ) -> (bool, bool) {
        let store = &self.store;
        for ev in pre
            .iter()
            .chain(std::iter::once(&ThreadStreamEvent::StreamOptions {
                stream_options: StreamOptions { allow_cancel: true },
            }))
        {
            if tx.send(sse::encode(ev)).await.is_err() {
                // Gone before the answer started: nothing partial to keep.
                return (false, true);
            }
        }
        let input = TurnInput {
            clock: self.clock.clone(),
            thread: thread.clone(),
            user_message: user,
            metadata,
        };
        let mut stream = self.responder.respond(input, ctx.clone()).await;
        let mut pending: HashMap<String, AssistantMessageItem> = HashMap::new();
        let mut failed = false;
        let mut cancelled = false;
        loop {
            let next = tokio::select! {
                _ = tx.closed() => { cancelled = true; break; }
                next = stream.next() => next,
            };
            let event = match next {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(err)) => {
                    failed = true;
                    let ev = match err {
                        TurnError::Custom {
                            message,
                            allow_retry,
                        } => ThreadStreamEvent::Error {
                            code: "custom".into(),
                            message: Some(message),
                            allow_retry,
                        },
                        TurnError::Stream { allow_retry } => ThreadStreamEvent::Error {
                            code: "stream.error".into(),
                            message: None,
                            allow_retry,
                        },
                    };
                    let _ = tx.send(sse::encode(&ev)).await;
                    break;
                }
            };
            let mut send = true;
            let persisted: Result<(), StoreError> = match &event {
                ThreadStreamEvent::ItemAdded {
                    item: ThreadItem::AssistantMessage(a),
                } => {
                    pending.insert(a.base.id.clone(), a.clone());
                    Ok(())
                }
                ThreadStreamEvent::ItemUpdated { item_id, update } => {
                    if let Some(a) = pending.get_mut(item_id) {
                        apply(a, update);
                    }
                    Ok(())
                }
                ThreadStreamEvent::ItemDone { item } => {
                    pending.remove(item.id());
                    send = !item.is_hidden();
                    store.add_thread_item(&thread.id, item, ctx).await
                }
                ThreadStreamEvent::ItemRemoved { item_id } => {
                    pending.remove(item_id);
                    store.delete_thread_item(&thread.id, item_id, ctx).await
                }
                ThreadStreamEvent::ItemReplaced { item } => {
                    pending.remove(item.id());
                    store.save_item(&thread.id, item, ctx).await
                }
                ThreadStreamEvent::ThreadUpdated { thread: t } => {
                    thread.title = t.title.clone();
                    thread.status = t.status.clone();
                    store.save_thread(&thread, ctx).await
                }
                _ => Ok(()),
            };
            if let Err(e) = persisted {
                tracing::error!(error = %e, "saving a chat item failed");
                failed = true;
                let _ = tx
                    .send(sse::encode(&ThreadStreamEvent::Error {
                        code: "stream.error".into(),
                        message: None,
                        allow_retry: true,
                    }))
                    .await;
                break;
            }
            if send && tx.send(sse::encode(&event)).await.is_err() {
                cancelled = true;
                break;
            }
        }
        // Stop the responder (and whatever upstream call it holds) now.
        drop(stream);
        if cancelled {
            self.save_partial(&thread, pending, ctx, CANCELLED_MARKER)
                .await;
        } else if failed && pending.values().any(|a| !a.text().trim().is_empty()) {
            // What the user already read stays in the thread, as after a
            // disconnect; the error event tells them it is incomplete.
            self.save_partial(&thread, pending, ctx, INTERRUPTED_MARKER)
                .await;
        }
        (failed, cancelled)
    }

    async fn save_partial(
        &self,
        thread: &ThreadMetadata,
        pending: HashMap<String, AssistantMessageItem>,
        ctx: &C,
        marker_text: &str,
    ) {
        let mut saved_any = false;
        for (_, item) in pending {
            if item.text().trim().is_empty() {
                continue;
            }
            if let Err(e) = self
                .store
                .add_thread_item(&thread.id, &ThreadItem::AssistantMessage(item), ctx)
                .await
            {
                tracing::error!(error = %e, "saving a partial reply failed");
            }
            saved_any = true;
        }
        let marker = ThreadItem::SdkHiddenContext(SdkHiddenContextItem {
            base: ItemBase {
                id: ids::new_id("shcx"),
                thread_id: thread.id.clone(),
                created_at: self.clock.now(),
            },
            content: marker_text.into(),
        });
        if let Err(e) = self.store.add_thread_item(&thread.id, &marker, ctx).await {
            tracing::error!(error = %e, "saving the partial-reply marker failed");
        }
        tracing::info!(thread = %thread.id, partial = saved_any, "answer ended early; partial reply kept");
    }
}

fn user_item(thread_id: &str, input: UserMessageInput, now: DateTime<Utc>) -> UserMessageItem {
    UserMessageItem {
        base: ItemBase {
            id: ids::message_id(),
            thread_id: thread_id.to_string(),
            created_at: now,
        },
        content: input.content,
        attachments: Vec::new(),
        quoted_text: input.quoted_text.filter(|q| !q.is_empty()),
        inference_options: input.inference_options,
    }
}

/// Applies an update to a pending assistant message, as the client does.
pub fn apply(item: &mut AssistantMessageItem, update: &ThreadItemUpdate) {
    let pad = |item: &mut AssistantMessageItem, idx: usize| {
        while item.content.len() <= idx {
            item.content.push(OutputText {
                text: String::new(),
                annotations: Vec::new(),
            });
        }
    };
    match update {
        ThreadItemUpdate::ContentPartAdded {
            content_index,
            content,
        }
        | ThreadItemUpdate::ContentPartDone {
            content_index,
            content,
        } => {
            pad(item, *content_index);
            item.content[*content_index] = content.clone();
        }
        ThreadItemUpdate::TextDelta {
            content_index,
            delta,
        } => {
            pad(item, *content_index);
            item.content[*content_index].text.push_str(delta);
        }
        ThreadItemUpdate::AnnotationAdded {
            content_index,
            annotation_index,
            annotation,
        } => {
            pad(item, *content_index);
            let anns = &mut item.content[*content_index].annotations;
            let at = (*annotation_index).min(anns.len());
            anns.insert(at, annotation.clone());
        }
    }
}
