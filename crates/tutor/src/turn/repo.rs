//! What a turn needs from the application, and nothing more (the passages
//! to search come through [`crate::retrieval::index::ContentSource`]): the exercises and a learner's attempts, what a thread has had
//! in play, and where to count verdicts. History comes through the ChatKit
//! [`chatkit::Store`], not through this trait.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::exercise::Exercise;
use crate::retrieval::bm25::Passage;

/// Who is asking. Identity comes from the verified token, never the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Learner {
    pub id: String,
    /// Instructors and admins see every stage.
    pub staff: bool,
}

/// What the page says about where the student is: context for the tutor
/// only, never identity or permissions.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Page {
    pub url: Option<String>,
    pub title: Option<String>,
    pub headings: Vec<String>,
    pub selected_text: Option<String>,
    pub course: Option<String>,
    pub stage: Option<String>,
    pub lesson: Option<String>,
}

const MAX_FIELD: usize = 2_000;
const MAX_SELECTION: usize = 4_000;

fn text(v: Option<&Value>, max: usize) -> Option<String> {
    v.and_then(Value::as_str)
        .map(|s| s.chars().take(max).collect::<String>())
        .filter(|s| !s.trim().is_empty())
}

impl Page {
    /// Reads `metadata.page` of a ChatKit request, bounding every field.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Self {
        let Some(page) = metadata.get("page").and_then(Value::as_object) else {
            return Page::default();
        };
        Page {
            url: text(page.get("url"), MAX_FIELD),
            title: text(page.get("title"), MAX_FIELD),
            headings: page
                .get("headings")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|h| text(Some(h), 200))
                        .take(50)
                        .collect()
                })
                .unwrap_or_default(),
            selected_text: text(
                page.get("selectedText")
                    .or_else(|| page.get("selected_text")),
                MAX_SELECTION,
            ),
            course: text(page.get("course"), 100),
            stage: text(page.get("stage"), 100),
            lesson: text(page.get("lesson"), 100),
        }
    }
}

/// What a turn knows about its caller.
pub trait TurnContext: Clone + Send + Sync + 'static {
    fn learner(&self) -> Learner;
    fn page(&self) -> &Page;
}

/// The course in question and the stage positions the learner may see.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub course_id: String,
    pub stages: Vec<u64>,
}

/// The lesson the page shows, when the learner may see it.
#[derive(Debug, Clone)]
pub struct PageLesson {
    pub lesson_id: String,
    /// Its opening passages, for questions about the page itself.
    pub passages: Vec<Passage>,
}

/// One attempt, as the tutor sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptSummary {
    pub exercise_id: String,
    pub answer: String,
    pub correct: bool,
}

/// Counts for usage: drafts the guard withdrew, and the judge's verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Verdicts {
    pub guard_hits: i64,
    pub judge_calls: i64,
    pub judge_flags: i64,
    /// The judge said a reply the guard passed solves an exercise.
    pub judge_disagreements: i64,
}

/// One detected problem in a turn, for staff: what was found, where
/// (`message`, `selection`, `title`, `heading`), and the text it was in.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlagEvent {
    /// `injection` or `self_harm`.
    pub flag: String,
    pub source: String,
    /// The rule that matched (for injections).
    pub rule: String,
    /// The flagged text, at most 500 characters.
    pub text: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("tutor storage failed: {0}")]
pub struct RepoError(pub String);

#[async_trait]
pub trait Repository: Send + Sync {
    /// The course the page names (or the first one) and the stages the
    /// learner may see; `None` when there is no course.
    async fn scope(&self, learner: &Learner, page: &Page) -> Result<Option<Scope>, RepoError>;
    /// The lesson the page shows, within scope.
    async fn page_lesson(
        &self,
        scope: &Scope,
        page: &Page,
    ) -> Result<Option<PageLesson>, RepoError>;
    /// The exercises of these lessons.
    async fn exercises_of(&self, lesson_ids: &[String]) -> Result<Vec<Exercise>, RepoError>;
    /// Exercises by id (those a thread had in play).
    async fn exercises(&self, ids: &[String]) -> Result<Vec<Exercise>, RepoError>;
    /// The learner's attempts at these exercises, oldest first.
    async fn attempts(
        &self,
        learner: &Learner,
        exercise_ids: &[String],
    ) -> Result<Vec<AttemptSummary>, RepoError>;
    /// Exercises in play in earlier turns of the thread.
    async fn thread_exercises(&self, thread_id: &str) -> Result<Vec<String>, RepoError>;
    async fn remember_exercises(&self, thread_id: &str, ids: &[String]) -> Result<(), RepoError>;
    /// Marks a thread for staff (injection, self-harm).
    async fn flag_thread(&self, thread_id: &str, flag: &str) -> Result<(), RepoError>;
    /// Marks a thread and keeps what was found and where, for staff.
    async fn record_flag(&self, thread_id: &str, event: &FlagEvent) -> Result<(), RepoError> {
        self.flag_thread(thread_id, &event.flag).await
    }
    /// The course's stages, locked ones included, to name where a topic lives.
    async fn stages(&self, course_id: &str) -> Result<Vec<super::rank::StageInfo>, RepoError>;
    async fn record_verdicts(&self, learner: &Learner, v: Verdicts) -> Result<(), RepoError>;
}
