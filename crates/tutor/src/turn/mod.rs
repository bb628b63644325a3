//! The tutor as a ChatKit responder. A turn runs in four steps:
//!
//! 1. **retrieve**: passages from the lessons the learner has unlocked, the
//!    page's lesson, and the thread's history (through the ChatKit store);
//! 2. **guard**: every exercise in play — the page's lesson, the lesson of
//!    every passage retrieved (tool calls included, as they happen), and
//!    every exercise in play earlier in the thread — becomes answer forms,
//!    and an attempt in the message is checked;
//! 3. **generate**: the model writes (with its search tool) while the guard
//!    reads every piece; a draft that gives an answer away is withdrawn and
//!    written again under a stricter instruction, then replaced by that
//!    exercise's next hint. Without a model, the reply is built from the
//!    passages (retrieval-only mode, labelled as such);
//! 4. **emit**: only text the guard has decided is shown; the finished
//!    reply carries checked citations.
//!
//! Failures are typed ([`TurnFailure`]) and become one `error` event.

pub mod emit;
pub mod judge;
pub mod rank;
pub mod repo;
pub mod retrieve;
pub mod tutoring;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chatkit::request::Order;
use chatkit::types::{NoticeLevel, ThreadItem, ThreadStreamEvent};
use chatkit::{EventStream, Responder, Store, StoreError, TurnError, TurnInput};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::agent;
use crate::answers::guard::attempt_in;
use crate::answers::{self, Forms, Given, Guard, Hit};
use crate::exercise::{Exercise, Spec};
use crate::guardrails;
use crate::llm::{Chunk, LlmClient, LlmError, Message};
use crate::retrieval::bm25::Passage;
pub use emit::RETRIEVAL_ONLY_NOTICE;
use emit::{Events, Gone, Writer, cite};
use rank::{Decision, StageInfo, TermStats};
pub use repo::{
    AttemptSummary, FlagEvent, Learner, Page, PageLesson, RepoError, Repository, Scope,
    TurnContext, Verdicts,
};
pub use retrieve::{Dense, Found, Retrieval, RetrieveError, SearchIndex, Stats};

pub const LIMITED_NOTICE: &str = "Search results may be limited";

/// The notice, and the reply, while the search index's first build runs.
pub const WARMING_NOTICE: &str = "Search is warming up";
pub const WARMING_TEXT: &str = "Search is warming up: the lessons are still being indexed after a restart, so I cannot look anything up yet. Ask again in a few seconds and I will answer from your lessons.";

pub const OFF_TOPIC: &str = "That seems to be outside what this course covers, or outside the lessons you have unlocked so far. Ask me about something from your lessons — for example, one of the sections on this page — and we can work through it together.";

/// Why a turn stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TurnFailure {
    #[error("the message is longer than {0} characters")]
    TooLong(usize),
    #[error(transparent)]
    Retrieval(#[from] RetrieveError),
    #[error("the model failed: {0}")]
    Model(#[from] LlmError),
    #[error("reading the thread failed: {0}")]
    History(#[from] StoreError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Gone(#[from] Gone),
}

impl TurnFailure {
    /// The `error` event the client gets (none when it has left).
    fn event(&self) -> Option<TurnError> {
        match self {
            TurnFailure::TooLong(n) => Some(TurnError::Custom {
                message: format!(
                    "Your message is longer than {n} characters; shorten it and ask again."
                ),
                allow_retry: false,
            }),
            TurnFailure::Gone(_) => None,
            _ => Some(TurnError::Stream { allow_retry: true }),
        }
    }
}

/// The tutor: with a language model when one is configured, else
/// retrieval-only.
pub struct Tutor<C> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for Tutor<C> {
    fn clone(&self) -> Self {
        Tutor {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<C> {
    repo: Arc<dyn Repository>,
    store: Arc<dyn Store<C>>,
    llm: Option<LlmClient>,
    /// Ask the model for a second opinion on every final reply.
    judge: bool,
    retrieval: Retrieval,
}

/// What step 1 found.
struct Retrieved {
    scope: Option<Scope>,
    /// The passages to answer from (unlocked only), best first.
    passages: Vec<Passage>,
    limited: bool,
    /// The search index is still being built: the turn says so and stops.
    warming: bool,
    page: Option<PageLesson>,
    decision: Decision,
    /// The question's informative terms.
    focus: Vec<String>,
    stats: TermStats,
    /// The page lesson's section headings, for suggestions.
    page_sections: Vec<String>,
}

/// How many passages a reply works from.
const PASSAGES: usize = 4;

/// How many search results the decision reads, every stage included.
const CANDIDATES: usize = 30;

/// A thread's title: the question, or the selected section and the
/// question when the question alone says nothing ("explain this").
fn title_for(question: &str, section: Option<&str>) -> Option<String> {
    let q = question.split_whitespace().collect::<Vec<_>>().join(" ");
    let base = match section {
        Some(h) if rank::informative(&q).is_empty() => {
            if q.is_empty() {
                h.to_string()
            } else {
                format!("{h}: {q}")
            }
        }
        _ => q,
    };
    if base.is_empty() {
        return None;
    }
    if base.chars().count() <= 60 {
        return Some(base);
    }
    let mut out = String::new();
    for w in base.split(' ') {
        if out.chars().count() + w.chars().count() + 1 > 58 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        out = base.chars().take(58).collect();
    }
    out.push('…');
    Some(out)
}

/// What step 2 put in play.
struct InPlay {
    /// Every exercise in play, solved ones included (for the judge).
    all: Vec<Exercise>,
    /// The ones to guard: not yet answered correctly by the learner.
    guarded: Vec<Exercise>,
    /// The page lesson's exercises.
    page: Vec<Exercise>,
    attempts: Vec<AttemptSummary>,
    lessons: HashSet<String>,
}

impl InPlay {
    fn forms(&self) -> Forms {
        Forms::new(&self.guarded.iter().collect::<Vec<_>>())
    }

    fn solved(&self, id: &str) -> bool {
        self.attempts
            .iter()
            .any(|a| a.exercise_id == id && a.correct)
    }

    fn wrong(&self, id: &str) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.exercise_id == id && !a.correct)
            .count()
    }
}

/// An attempt found in the message, checked.
struct ChatAttempt {
    exercise: Exercise,
    given: String,
    correct: bool,
}

fn short(prompt: &str) -> String {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    if words.len() <= 12 {
        words.join(" ")
    } else {
        format!("{} …", words[..12].join(" "))
    }
}

impl ChatAttempt {
    /// What the reply says about it: right or not, never the right value.
    fn verdict(&self, hint: Option<&str>) -> String {
        if self.correct {
            format!(
                "**Checked:** your answer {} to “{}” is right. Enter it in the exercise's answer box to complete it.",
                self.given,
                short(&self.exercise.prompt)
            )
        } else {
            let mut s = format!(
                "**Checked:** your answer {} to “{}” is not right yet.",
                self.given,
                short(&self.exercise.prompt)
            );
            if let Some(h) = hint {
                s.push_str(&format!(" Hint: {h}"));
            }
            s
        }
    }
}

impl<C: TurnContext> Tutor<C> {
    pub fn new(
        repo: Arc<dyn Repository>,
        store: Arc<dyn Store<C>>,
        llm: Option<LlmClient>,
        dense: Option<Dense>,
        judge: bool,
        search: Arc<SearchIndex>,
    ) -> Self {
        Tutor {
            inner: Arc::new(Inner {
                repo,
                store,
                llm,
                judge,
                retrieval: Retrieval::new(dense, search),
            }),
        }
    }

    fn repo(&self) -> &dyn Repository {
        self.inner.repo.as_ref()
    }

    async fn flag(&self, thread_id: &str, event: FlagEvent) {
        if let Err(e) = self.repo().record_flag(thread_id, &event).await {
            tracing::error!(error = %e, "flagging a thread failed");
        }
    }

    // --- step 1: retrieve ---------------------------------------------------------

    async fn retrieve(
        &self,
        learner: &Learner,
        page: &Page,
        question: &str,
    ) -> Result<Retrieved, TurnFailure> {
        let selection = page.selected_text.as_deref();
        let focus = rank::informative(question);
        let Some(scope) = self.repo().scope(learner, page).await? else {
            return Ok(Retrieved {
                scope: None,
                passages: Vec::new(),
                limited: false,
                warming: false,
                page: None,
                decision: Decision::NotFound,
                focus,
                stats: TermStats::default(),
                page_sections: Vec::new(),
            });
        };
        let query = match selection {
            Some(sel) => format!("{question} {sel}"),
            None => question.to_string(),
        };
        // Unlocked search (fused with dense vectors when configured), and
        // every stage of the course, for the decision only.
        let (found, all_stages) = self
            .inner
            .retrieval
            .search_for_turn(&query, &scope, PASSAGES * 2, CANDIDATES)
            .await?;
        let Some((idx, mut candidates)) = all_stages else {
            return Ok(Retrieved {
                scope: Some(scope),
                passages: Vec::new(),
                limited: false,
                warming: true,
                page: None,
                decision: Decision::NotFound,
                focus,
                stats: TermStats::default(),
                page_sections: Vec::new(),
            });
        };
        for p in found.passages {
            if !candidates.iter().any(|c| c.chunk_id == p.chunk_id) {
                candidates.push(p);
            }
        }
        // Rarity of the question's terms (the selection's for a bare
        // "explain this"), counted in the index as it stands.
        let mut weighed = focus.clone();
        weighed.extend(selection.map(rank::informative).unwrap_or_default());
        let mut stats = TermStats::from_index(&idx, &scope.course_id, &weighed)
            .map_err(|e| RetrieveError::Index(e.to_string()))?;
        let page_lesson = self.repo().page_lesson(&scope, page).await?;
        // The page lesson's sections, its opening ones first.
        let mut page_passages: Vec<Passage> = page_lesson
            .as_ref()
            .map(|l| l.passages.clone())
            .unwrap_or_default();
        if let Some(l) = &page_lesson {
            let mut rest: Vec<Passage> = idx
                .lesson_passages(&l.lesson_id)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| !page_passages.iter().any(|x| x.chunk_id == p.chunk_id))
                .collect();
            rest.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
            page_passages.extend(rest);
        }
        page_passages.retain(|p| scope.stages.contains(&p.stage_position));
        let decision = rank::decide(&rank::Query {
            question,
            selection,
            page_lesson: page_lesson.as_ref().map(|l| l.lesson_id.as_str()),
            page_passages: &page_passages,
            candidates: &candidates,
            unlocked: &scope.stages,
            stats: &stats,
            k: PASSAGES,
        });
        let passages = match &decision {
            Decision::Found { passages, .. } => passages.clone(),
            _ => Vec::new(),
        };
        // … and, for a reply without a model whose question names none of
        // the first passage's words, of that passage's recurring words.
        if let Some(first) = passages.first()
            && self.inner.llm.is_none()
            && rank::needs_own_terms(first, &focus)
        {
            stats
                .look_up(&idx, &scope.course_id, &rank::key_term_candidates(first))
                .map_err(|e| RetrieveError::Index(e.to_string()))?;
        }
        let page_sections = page_passages
            .iter()
            .filter(|p| !rank::is_opening(p))
            .filter_map(|p| p.title.rsplit(" › ").next().map(str::to_string))
            .collect();
        Ok(Retrieved {
            scope: Some(scope),
            passages,
            limited: found.limited,
            warming: false,
            page: page_lesson,
            decision,
            focus,
            stats,
            page_sections,
        })
    }

    /// Recent history (oldest first) through the ChatKit store, without the
    /// message being answered.
    async fn history(
        &self,
        thread_id: &str,
        exclude: Option<&str>,
        ctx: &C,
    ) -> Result<Vec<(bool, String)>, TurnFailure> {
        let page = self
            .inner
            .store
            .load_thread_items(thread_id, None, 30, Order::Desc, ctx)
            .await?;
        let mut out: Vec<(bool, String)> = page
            .data
            .into_iter()
            .filter(|i| Some(i.id()) != exclude)
            .filter_map(|i| match i {
                ThreadItem::UserMessage(u) => Some((true, u.text())),
                ThreadItem::AssistantMessage(a) => Some((false, a.text())),
                _ => None,
            })
            .collect();
        out.reverse();
        Ok(out)
    }

    // --- step 2: guard ------------------------------------------------------------

    async fn in_play(
        &self,
        learner: &Learner,
        thread_id: &str,
        r: &Retrieved,
    ) -> Result<InPlay, TurnFailure> {
        let mut lessons: HashSet<String> = r.passages.iter().map(|p| p.lesson_id.clone()).collect();
        if let Some(p) = &r.page {
            lessons.insert(p.lesson_id.clone());
        }
        let ids: Vec<String> = lessons.iter().cloned().collect();
        let mut all = self.repo().exercises_of(&ids).await?;
        let page = match &r.page {
            Some(p) => {
                self.repo()
                    .exercises_of(std::slice::from_ref(&p.lesson_id))
                    .await?
            }
            None => Vec::new(),
        };
        let earlier = self.repo().thread_exercises(thread_id).await?;
        let missing: Vec<String> = earlier
            .into_iter()
            .filter(|id| !all.iter().any(|e| &e.id == id))
            .collect();
        if !missing.is_empty() {
            all.extend(self.repo().exercises(&missing).await?);
        }
        let mut play = InPlay {
            all: Vec::new(),
            guarded: Vec::new(),
            page,
            attempts: Vec::new(),
            lessons,
        };
        self.add_exercises(learner, thread_id, &mut play, all)
            .await?;
        Ok(play)
    }

    /// Puts exercises in play: remembered for the thread, guarded unless
    /// the learner has already answered them correctly.
    async fn add_exercises(
        &self,
        learner: &Learner,
        thread_id: &str,
        play: &mut InPlay,
        list: Vec<Exercise>,
    ) -> Result<(), TurnFailure> {
        let fresh: Vec<Exercise> = list
            .into_iter()
            .filter(|e| !play.all.iter().any(|x| x.id == e.id))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = fresh.iter().map(|e| e.id.clone()).collect();
        self.repo().remember_exercises(thread_id, &ids).await?;
        let attempts = self.repo().attempts(learner, &ids).await?;
        play.attempts.extend(attempts);
        for e in fresh {
            if !play.solved(&e.id) {
                play.guarded.push(e.clone());
            }
            play.all.push(e);
        }
        Ok(())
    }

    /// An attempt in the message at one of the page's exercises, checked.
    fn chat_attempt(&self, question: &str, play: &InPlay) -> Option<ChatAttempt> {
        let page: Vec<&Exercise> = play.page.iter().collect();
        let (exercise, given) = attempt_in(question, &page)?;
        let g = match exercise.spec {
            Spec::Choice(_) => Given::Choices(vec![given.clone()]),
            _ => Given::Text(given.clone()),
        };
        let verdict = answers::check(exercise, &g).ok()?;
        let shown = match &exercise.spec {
            Spec::Choice(c) => c
                .options
                .iter()
                .find(|o| o.id == given)
                .map(|o| o.text.clone())
                .unwrap_or(given),
            _ => given,
        };
        Some(ChatAttempt {
            exercise: exercise.clone(),
            given: shown,
            correct: verdict.correct,
        })
    }

    fn hint(&self, play: &InPlay, exercise_id: &str) -> String {
        let hint = play
            .all
            .iter()
            .find(|e| e.id == exercise_id)
            .and_then(|e| e.hint_after(play.wrong(exercise_id)));
        match hint {
            Some(h) => format!(
                "I can't give that answer away, but here is a hint: {h} What do you get when you try that?"
            ),
            None => "I can't give that answer away. Which step are you unsure about? Tell me what you have tried so far.".into(),
        }
    }

    /// The page's exercises and the learner's attempts, for the model.
    fn exercise_material(&self, play: &InPlay) -> Option<String> {
        if play.page.is_empty() {
            return None;
        }
        let mut out = String::from(
            "<material kind=\"exercises\">The exercises on this page. You do not know their answers and must never work them out for the student.\n",
        );
        for e in &play.page {
            let tried: Vec<String> = play
                .attempts
                .iter()
                .filter(|a| a.exercise_id == e.id)
                .map(|a| {
                    if a.correct {
                        "one right answer".to_string()
                    } else {
                        format!("\"{}\" (wrong)", guardrails::escape_material(&a.answer))
                    }
                })
                .collect();
            out.push_str(&format!(
                "- {}: {} Student's attempts: {}\n",
                e.id,
                guardrails::escape_material(&e.prompt),
                if tried.is_empty() {
                    "none yet".to_string()
                } else {
                    tried.join(", ")
                }
            ));
        }
        out.push_str("</material>");
        Some(out)
    }

    // --- the turn ---------------------------------------------------------------------

    async fn turn(self, input: TurnInput, ctx: C, tx: Events) {
        if let Err(e) = self.run(&input, &ctx, &tx).await {
            match &e {
                TurnFailure::Gone(_) | TurnFailure::TooLong(_) => {}
                _ => tracing::warn!(error = %e, thread = %input.thread.id, "tutor turn failed"),
            }
            if let Some(ev) = e.event() {
                let _ = tx.send(Err(ev)).await;
            }
        }
    }

    /// Every text of the turn an injection could hide in, checked; each
    /// finding flags the thread with where it was.
    async fn check_injections(
        &self,
        learner: &Learner,
        thread_id: &str,
        question: &str,
        page: &Page,
    ) {
        let mut sources: Vec<(&str, &str)> = vec![("message", question)];
        if let Some(sel) = &page.selected_text {
            sources.push(("selection", sel));
        }
        if let Some(t) = &page.title {
            sources.push(("title", t));
        }
        for h in &page.headings {
            sources.push(("heading", h));
        }
        for (source, text) in sources {
            let rules = guardrails::injection_flags(text);
            if rules.is_empty() {
                continue;
            }
            tracing::warn!(user = %learner.id, thread = %thread_id, source, ?rules, "possible prompt injection in chat input");
            self.flag(
                thread_id,
                FlagEvent {
                    flag: "injection".into(),
                    source: source.into(),
                    rule: rules.join(","),
                    text: text.chars().take(500).collect(),
                },
            )
            .await;
        }
    }

    async fn run(&self, input: &TurnInput, ctx: &C, tx: &Events) -> Result<(), TurnFailure> {
        let learner = ctx.learner();
        let page = ctx.page();
        let question = input
            .user_message
            .as_ref()
            .map(|m| m.text())
            .unwrap_or_default();
        let thread_id = input.thread.id.clone();
        if question.chars().count() > guardrails::MAX_MESSAGE_CHARS {
            return Err(TurnFailure::TooLong(guardrails::MAX_MESSAGE_CHARS));
        }
        self.check_injections(&learner, &thread_id, &question, page)
            .await;
        let mut w = Writer::new(tx, &thread_id, input.clock.clone());
        if guardrails::mentions_self_harm(&question) {
            tracing::warn!(user = %learner.id, thread = %thread_id, "self-harm language in chat; safety text sent");
            self.flag(
                &thread_id,
                FlagEvent {
                    flag: "self_harm".into(),
                    source: "message".into(),
                    rule: "self-harm".into(),
                    text: question.chars().take(500).collect(),
                },
            )
            .await;
            self.set_title(&mut w, input, &question, None).await?;
            w.say(guardrails::SAFETY_TEXT, Vec::new()).await?;
            return Ok(());
        }

        // 1. retrieve
        let r = self.retrieve(&learner, page, &question).await?;
        let section = match &r.decision {
            Decision::Found {
                passages,
                selection: true,
            } => passages
                .first()
                .and_then(|p| p.title.rsplit(" › ").next().map(str::to_string)),
            _ => None,
        };
        // The title first, so the thread list shows it whatever happens next.
        self.set_title(&mut w, input, &question, section.as_deref())
            .await?;
        if r.warming {
            // Never a stall: the turn says what is happening, at once.
            w.send(ThreadStreamEvent::Notice {
                level: NoticeLevel::Info,
                message: WARMING_NOTICE.into(),
                title: None,
            })
            .await?;
            w.say(WARMING_TEXT, Vec::new()).await?;
            return Ok(());
        }
        if r.limited {
            w.send(ThreadStreamEvent::Notice {
                level: NoticeLevel::Warning,
                message: LIMITED_NOTICE.into(),
                title: None,
            })
            .await?;
        }

        // 2. guard
        let mut play = self.in_play(&learner, &thread_id, &r).await?;
        let attempt = self.chat_attempt(&question, &play);
        if let Some(a) = attempt.as_ref().filter(|a| a.correct) {
            // The student has it: there is nothing left to hide about it.
            play.guarded.retain(|e| e.id != a.exercise.id);
        }
        let retrieval_only = self.inner.llm.is_none();
        // A topic elsewhere in the course, or nowhere, needs no model: unless
        // the message is an attempt, which is about the page.
        if attempt.is_none() {
            match &r.decision {
                Decision::Locked { stage_position } => {
                    let text = self
                        .locked_reply(r.scope.as_ref(), *stage_position, retrieval_only)
                        .await?;
                    w.say(&text, Vec::new()).await?;
                    return Ok(());
                }
                Decision::NotFound => {
                    let text = tutoring::not_found(&r.page_sections, retrieval_only);
                    w.say(&text, Vec::new()).await?;
                    return Ok(());
                }
                Decision::Found { .. } => {}
            }
        }

        // 3. generate, and 4. emit
        let mut verdicts = Verdicts::default();
        let outcome = match self.inner.llm.clone() {
            None => {
                self.retrieval_only(&mut w, input, ctx, &r, &play, attempt.as_ref())
                    .await
            }
            Some(llm) => {
                self.generate(
                    &llm,
                    &mut w,
                    input,
                    ctx,
                    r,
                    &mut play,
                    attempt.as_ref(),
                    &mut verdicts,
                )
                .await
            }
        };
        if verdicts.guard_hits > 0
            && let Err(e) = self.repo().record_verdicts(&learner, verdicts).await
        {
            tracing::error!(error = %e, "recording the guard's verdicts failed");
        }
        let reply = outcome?;
        if let (Some(reply), Some(llm)) = (reply, self.inner.llm.clone())
            && self.inner.judge
            && !play.all.is_empty()
        {
            let this = self.clone();
            let exercises = play.all.clone();
            let learner = learner.clone();
            tokio::spawn(async move { this.judge(&llm, &learner, &exercises, &reply).await });
        }
        Ok(())
    }

    async fn set_title(
        &self,
        w: &mut Writer<'_>,
        input: &TurnInput,
        question: &str,
        section: Option<&str>,
    ) -> Result<(), TurnFailure> {
        if input.thread.title.is_some() {
            return Ok(());
        }
        if let Some(title) = title_for(question, section) {
            let mut thread =
                chatkit::types::Thread::from_metadata(&input.thread, Default::default());
            thread.title = Some(title);
            w.send(ThreadStreamEvent::ThreadUpdated { thread }).await?;
        }
        Ok(())
    }

    /// Names the locked stage and what opens it.
    async fn locked_reply(
        &self,
        scope: Option<&Scope>,
        position: u64,
        retrieval_only: bool,
    ) -> Result<String, TurnFailure> {
        let stages = match scope {
            Some(s) => self.repo().stages(&s.course_id).await?,
            None => Vec::new(),
        };
        let stage = stages
            .iter()
            .find(|s| s.position == position)
            .cloned()
            .unwrap_or(StageInfo {
                position,
                title: format!("Stage {position}"),
            });
        let previous = stages
            .iter()
            .filter(|s| s.position < position)
            .max_by_key(|s| s.position);
        Ok(tutoring::locked(&stage, previous, retrieval_only))
    }

    async fn retrieval_only(
        &self,
        w: &mut Writer<'_>,
        input: &TurnInput,
        ctx: &C,
        r: &Retrieved,
        play: &InPlay,
        attempt: Option<&ChatAttempt>,
    ) -> Result<Option<String>, TurnFailure> {
        let verdict = attempt.map(|a| {
            let hint = (!a.correct)
                .then(|| a.exercise.hint_after(play.wrong(&a.exercise.id)))
                .flatten();
            a.verdict(hint)
        });
        // Course text is shown as written, except a passage that would give
        // an exercise's answer away.
        let guarded: Vec<&Exercise> = play.guarded.iter().collect();
        let passages: Vec<Passage> = r
            .passages
            .iter()
            .filter(|p| {
                let hit = Guard::check(&guarded, &format!("{}\n{}", p.title, p.text));
                if let Some(h) = &hit {
                    tracing::info!(exercise = %h.exercise, passage = %p.chunk_id, "passage left out: it gives an answer away");
                }
                hit.is_none()
            })
            .take(3)
            .cloned()
            .collect();
        // An attempt's verdict stands alone: its hint is the next step.
        if passages.is_empty() || attempt.is_some_and(|a| !a.correct) {
            let text = match &verdict {
                Some(v) => format!("{RETRIEVAL_ONLY_NOTICE}\n\n{v}"),
                None => tutoring::not_found(&r.page_sections, true),
            };
            w.say(&text, Vec::new()).await?;
            return Ok(None);
        }
        let earlier: Vec<String> = self
            .history(
                &input.thread.id,
                input.user_message.as_ref().map(|m| m.base.id.as_str()),
                ctx,
            )
            .await?
            .into_iter()
            .filter(|(user, _)| !user)
            .map(|(_, t)| t)
            .collect();
        // Exercises of the passages' lessons the learner has not solved,
        // for a guiding question.
        let exercises: Vec<(String, Exercise)> = {
            let lessons: Vec<String> = passages
                .iter()
                .map(|p| p.lesson_id.clone())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut out = Vec::new();
            for l in lessons {
                for e in self.repo().exercises_of(std::slice::from_ref(&l)).await? {
                    if !play.solved(&e.id) && attempt.is_none_or(|a| a.exercise.id != e.id) {
                        out.push((l.clone(), e));
                    }
                }
            }
            out
        };
        let selection = match &r.decision {
            Decision::Found {
                selection: true, ..
            } => ctx.page().selected_text.as_deref(),
            _ => None,
        };
        let material = tutoring::Material {
            verdict: verdict.as_deref(),
            passages: &passages,
            selection,
            focus: &r.focus,
            stats: &r.stats,
            exercises: &exercises,
            earlier: &earlier,
        };
        let (text, annotations) = tutoring::found(&material);
        w.say(&text, annotations).await?;
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn generate(
        &self,
        llm: &LlmClient,
        w: &mut Writer<'_>,
        input: &TurnInput,
        ctx: &C,
        r: Retrieved,
        play: &mut InPlay,
        attempt: Option<&ChatAttempt>,
        verdicts: &mut Verdicts,
    ) -> Result<Option<String>, TurnFailure> {
        let learner = ctx.learner();
        let page = ctx.page();
        let thread_id = input.thread.id.clone();
        let question = input
            .user_message
            .as_ref()
            .map(|m| m.text())
            .unwrap_or_default();
        let mut passages = r.passages;
        if passages.is_empty() {
            // An attempt is about the page even when its words match nothing.
            passages = r
                .page
                .as_ref()
                .map(|p| p.passages.clone())
                .unwrap_or_default();
        }
        if passages.is_empty() {
            w.say(OFF_TOPIC, Vec::new()).await?;
            return Ok(None);
        }
        let history = self
            .history(
                &thread_id,
                input.user_message.as_ref().map(|m| m.base.id.as_str()),
                ctx,
            )
            .await?;
        let page_ctx = agent::Context {
            lesson_title: page.title.clone(),
            page_headings: page.headings.clone(),
            selected_text: page.selected_text.clone(),
        };
        let prefix = attempt.map(|a| {
            let hint = (!a.correct)
                .then(|| a.exercise.hint_after(play.wrong(&a.exercise.id)))
                .flatten();
            format!("{}\n\n", a.verdict(hint))
        });
        let mut extra = Vec::new();
        if let Some(m) = self.exercise_material(play) {
            extra.push(Message::system(m));
        }
        if let Some(a) = attempt {
            extra.push(Message::system(format!(
                "<material kind=\"attempt\">The student's message answers the exercise {}: \"{}\". It was checked and is {}. The reply already tells them so; do not repeat the verdict, and never state or work out the right value.</material>",
                a.exercise.id,
                guardrails::escape_material(&a.given),
                if a.correct { "right" } else { "not right" }
            )));
        }
        for draft_no in 0..2 {
            let strict = draft_no == 1;
            let mut messages = agent::build(&page_ctx, &passages, &history, &question, strict);
            let at = messages.len() - 1;
            for (i, m) in extra.iter().enumerate() {
                messages.insert(at + i, m.clone());
            }
            let mut guard = Guard::with_forms(play.forms());
            let mut shown = 0usize;
            let mut hit: Option<Hit> = None;
            if let Some(p) = &prefix {
                w.delta(p).await?;
            }
            'rounds: for _round in 0..3 {
                let mut stream = llm.stream(&messages, &[agent::search_tool()]).await?;
                while let Some(chunk) = stream.next().await {
                    match chunk? {
                        Chunk::Text(t) => {
                            if let Some(h) = guard.push(&t) {
                                hit = Some(h.clone());
                                break 'rounds;
                            }
                            let safe = guard.safe_len();
                            if safe > shown {
                                w.delta(&guard.text()[shown..safe]).await?;
                                shown = safe;
                            }
                        }
                        Chunk::ToolCalls(calls) => {
                            messages.push(Message::assistant_tool_calls(calls.clone()));
                            for call in calls {
                                let found = if call.function.name == "search_course" {
                                    self.tool_search(&call.function.arguments, r.scope.as_ref())
                                        .await
                                } else {
                                    Vec::new()
                                };
                                // Passages from other lessons bring their exercises into play.
                                let new: Vec<String> = found
                                    .iter()
                                    .map(|p| p.lesson_id.clone())
                                    .filter(|l| !play.lessons.contains(l))
                                    .collect::<HashSet<_>>()
                                    .into_iter()
                                    .collect();
                                if !new.is_empty() {
                                    play.lessons.extend(new.iter().cloned());
                                    let list = self.repo().exercises_of(&new).await?;
                                    self.add_exercises(&learner, &thread_id, play, list).await?;
                                    if let Some(h) = guard.replace(play.forms()) {
                                        hit = Some(h.clone());
                                        break 'rounds;
                                    }
                                }
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
                        Chunk::Done => break 'rounds,
                    }
                }
                break;
            }
            if hit.is_none() {
                hit = guard.finish().cloned();
            }
            if let Some(h) = hit {
                verdicts.guard_hits += 1;
                tracing::warn!(thread = %thread_id, draft = draft_no, exercise = %h.exercise, rule = h.rule, "draft gave an exercise answer away; withdrawn");
                w.retract().await?;
                if draft_no == 0 {
                    continue;
                }
                let hint = self.hint(play, &h.exercise);
                w.say(&hint, Vec::new()).await?;
                return Ok(None);
            }
            let draft = guard.text().to_string();
            w.delta(&draft[shown..]).await?;
            let full = format!("{}{}", prefix.as_deref().unwrap_or(""), draft);
            w.finish(cite(&passages, &full)).await?;
            return Ok(Some(draft));
        }
        Ok(None)
    }

    async fn tool_search(&self, arguments: &str, scope: Option<&Scope>) -> Vec<Passage> {
        let Some(scope) = scope else {
            return Vec::new();
        };
        let q = serde_json::from_str::<serde_json::Value>(arguments)
            .ok()
            .and_then(|v| v.get("query").and_then(|q| q.as_str()).map(str::to_string))
            .unwrap_or_default();
        match self.inner.retrieval.search(self.repo(), &q, scope, 3).await {
            Ok(f) => f.passages,
            Err(e) => {
                tracing::warn!(error = %e, "the search tool failed");
                Vec::new()
            }
        }
    }

    /// The second opinion: logged with the guard's verdict and counted.
    async fn judge(&self, llm: &LlmClient, learner: &Learner, exercises: &[Exercise], reply: &str) {
        let list: Vec<&Exercise> = exercises.iter().collect();
        let messages = judge::messages(&list, reply);
        let mut text = String::new();
        let outcome: Result<(), LlmError> = async {
            let mut stream = llm.stream(&messages, &[]).await?;
            while let Some(chunk) = stream.next().await {
                match chunk? {
                    Chunk::Text(t) => text.push_str(&t),
                    Chunk::ToolCalls(_) => {}
                    Chunk::Done => break,
                }
            }
            Ok(())
        }
        .await;
        let verdict = match outcome {
            Ok(()) => judge::parse(&text, &list),
            Err(e) => {
                tracing::warn!(error = %e, "the judge model failed");
                None
            }
        };
        let leak = matches!(verdict, Some(Some(_)));
        tracing::info!(
            user = %learner.id,
            guard = "pass",
            judge = match &verdict { Some(Some(_)) => "leak", Some(None) => "ok", None => "unreadable" },
            exercise = verdict.clone().flatten().unwrap_or_default(),
            "judge verdict on a final reply"
        );
        let v = Verdicts {
            guard_hits: 0,
            judge_calls: 1,
            judge_flags: i64::from(leak),
            judge_disagreements: i64::from(leak),
        };
        if let Err(e) = self.repo().record_verdicts(learner, v).await {
            tracing::error!(error = %e, "recording the judge's verdict failed");
        }
    }
}

#[async_trait]
impl<C: TurnContext> Responder<C> for Tutor<C> {
    async fn respond(&self, input: TurnInput, ctx: C) -> EventStream {
        let (tx, rx) = mpsc::channel(64);
        // Dropping the stream (the client left) closes the channel, which ends
        // the turn and drops the model's stream with it.
        tokio::spawn(self.clone().turn(input, ctx, tx));
        ReceiverStream::new(rx).boxed()
    }
}
