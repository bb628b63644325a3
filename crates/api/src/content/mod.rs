//! Course content: courses, stages and lessons, loaded from Markdown with
//! front matter, stored in the database, rendered to sanitized HTML.

pub mod loader;
pub mod render;
pub(crate) mod store;

use serde::Serialize;
pub use tutor::exercise::{Exercise, ExerciseError, Spec};

/// An option of a choice exercise as students see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicOption {
    pub id: String,
    pub text: String,
}

/// What a student sees of an exercise: never its answer. Hints appear one
/// by one after wrong attempts; the explanation after a correct one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicExercise {
    pub id: String,
    /// `numeric`, `choice` or `text`.
    pub kind: String,
    pub prompt: String,
    /// The unit a numeric answer is read in when none is written.
    pub unit: Option<String>,
    /// Choice exercises: the options, and whether several may be right.
    pub options: Vec<PublicOption>,
    pub multiple: bool,
    pub hint_count: usize,
    /// Hints shown so far (one more after each wrong attempt).
    pub hints: Vec<String>,
    pub attempts: usize,
    pub solved: bool,
    /// Shown once solved.
    pub explanation: Option<String>,
}

impl PublicExercise {
    /// The exercise as a student with `attempts` attempts, `wrong` of them
    /// wrong, sees it.
    pub fn view(e: &Exercise, attempts: usize, wrong: usize, solved: bool) -> Self {
        let (unit, options, multiple) = match &e.spec {
            Spec::Numeric(n) => (n.unit.clone(), Vec::new(), false),
            Spec::Choice(c) => (
                None,
                c.options
                    .iter()
                    .map(|o| PublicOption {
                        id: o.id.clone(),
                        text: o.text.clone(),
                    })
                    .collect(),
                c.correct.len() > 1,
            ),
            Spec::Text(_) => (None, Vec::new(), false),
        };
        let shown = if solved {
            e.hints.len()
        } else {
            wrong.min(e.hints.len())
        };
        PublicExercise {
            id: e.id.clone(),
            kind: e.kind().into(),
            prompt: e.prompt.clone(),
            unit,
            options,
            multiple,
            hint_count: e.hints.len(),
            hints: e.hints[..shown].to_vec(),
            attempts,
            solved,
            explanation: if solved { e.explanation.clone() } else { None },
        }
    }
}

/// Slugs are lower-case letters, digits and single hyphens.
pub fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}
