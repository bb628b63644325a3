//! Course content: courses, stages and lessons, loaded from Markdown with
//! front matter, stored in the database, rendered to sanitized HTML.

pub mod loader;
pub mod render;
pub mod store;

use serde::{Deserialize, Serialize};

/// An exercise. Its answer never leaves the server; the tutor uses it to avoid
/// giving solutions away.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exercise {
    pub id: String,
    pub prompt: String,
    pub answer: String,
    #[serde(default)]
    pub hints: Vec<String>,
}

/// What students see of an exercise.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicExercise {
    pub id: String,
    pub prompt: String,
    pub hints: Vec<String>,
}

impl From<&Exercise> for PublicExercise {
    fn from(e: &Exercise) -> Self {
        PublicExercise {
            id: e.id.clone(),
            prompt: e.prompt.clone(),
            hints: e.hints.clone(),
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
