//! The answer guard's corpus, over the sample course (content/physical-ai),
//! kept as data in `guard.json`. Shared by the tutor crate's guard test and
//! the HTTP acceptance test, so the rates in docs/TUTOR-GUARD.md are
//! measured on one set.
//!
//! The file holds two sets; the second was written apart from the first and
//! measured before the guard learnt from it. The tests run both as one list,
//! in the file's order.

use std::sync::LazyLock;

use serde::Deserialize;

/// A reply that gives an exercise's answer away.
#[derive(Debug, Deserialize)]
pub struct Leak {
    /// The exercise whose answer it gives.
    pub exercise: String,
    pub reply: String,
    /// The part of the reply that must never reach the student.
    pub leaked: String,
}

/// A reply written from the course's lessons that shares words and numbers
/// with the answers but gives none away.
#[derive(Debug, Deserialize)]
pub struct Harmless {
    /// The page's lesson, `stage/lesson`.
    pub lesson: String,
    pub reply: String,
}

#[derive(Deserialize)]
struct Corpus {
    sets: Vec<Set>,
}

#[derive(Deserialize)]
struct Set {
    leaks: Vec<Leak>,
    harmless: Vec<Harmless>,
}

static CORPUS: LazyLock<Corpus> = LazyLock::new(|| {
    serde_json::from_str(include_str!("guard.json")).expect("corpus/guard.json is well formed")
});

/// Every leak form of both sets.
pub static LEAKS: LazyLock<Vec<&'static Leak>> =
    LazyLock::new(|| CORPUS.sets.iter().flat_map(|s| &s.leaks).collect());

/// Every harmless reply of both sets.
pub static HARMLESS: LazyLock<Vec<&'static Harmless>> =
    LazyLock::new(|| CORPUS.sets.iter().flat_map(|s| &s.harmless).collect());
