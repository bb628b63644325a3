//! Tutoring without a model: a reply built from the passages — a short,
//! cited excerpt of whole sentences, then a guiding question drawn from the
//! material (a related exercise's prompt, or the section's key term asked
//! about), never the same kind of question twice in a thread — and the
//! plain replies for a topic in a locked stage or outside the course.

use chatkit::types::Annotation;

use super::emit::{RETRIEVAL_ONLY_NOTICE, url_annotation};
use super::rank::{self, StageInfo, TermStats};
use crate::exercise::Exercise;
use crate::retrieval::bm25::Passage;

/// Words in a reply for the excerpt (a sentence is never cut to fit).
const EXCERPT_WORDS: usize = 45;

/// A guiding question's kind. Its `marker` is a phrase only that kind uses,
/// which is how an earlier reply of the thread is recognised.
struct Template {
    marker: &'static str,
    needs_other: bool,
    make: fn(&str, &str) -> String,
}

/// Questions about a key term (`t`) of the section, or linking it to another
/// section (`o`).
const TEMPLATES: &[Template] = &[
    Template {
        marker: "to a classmate in one sentence",
        needs_other: false,
        make: |t, _| format!("How would you explain *{t}* to a classmate in one sentence?"),
    },
    Template {
        marker: "what would go wrong if a robot ignored it",
        needs_other: false,
        make: |t, _| {
            format!("Why does *{t}* matter here — what would go wrong if a robot ignored it?")
        },
    },
    Template {
        marker: "connect to what you read in",
        needs_other: true,
        make: |t, o| format!("How does *{t}* connect to what you read in *{o}*?"),
    },
    Template {
        marker: "could you measure or check",
        needs_other: false,
        make: |t, _| format!("On a real robot, how could you measure or check *{t}*?"),
    },
    Template {
        marker: "words of the excerpt define",
        needs_other: false,
        make: |t, _| {
            format!(
                "Which words of the excerpt define *{t}*, and what would you add in your own words?"
            )
        },
    },
    Template {
        marker: "if you double it",
        needs_other: false,
        make: |t, _| {
            format!("Pick one number in the excerpt: what happens to *{t}* if you double it?")
        },
    },
    Template {
        marker: "different from the idea in",
        needs_other: true,
        make: |t, o| format!("What makes *{t}* different from the idea in *{o}*?"),
    },
    Template {
        marker: "a sensor or robot you know",
        needs_other: false,
        make: |t, _| format!("Where would *{t}* show up in a sensor or robot you know?"),
    },
];

const EXERCISE_MARKER: &str = "is an exercise on this. Which idea from the excerpt";

fn heading(p: &Passage) -> String {
    p.title.rsplit(" › ").next().unwrap_or_default().to_string()
}

/// Everything the retrieval-only reply is built from.
pub struct Material<'a> {
    /// A checked attempt's verdict, first.
    pub verdict: Option<&'a str>,
    pub passages: &'a [Passage],
    pub selection: Option<&'a str>,
    /// The question's informative terms.
    pub focus: &'a [String],
    pub stats: &'a TermStats,
    /// Unsolved exercises of the passages' lessons, with their lesson.
    pub exercises: &'a [(String, Exercise)],
    /// Earlier tutor replies of the thread.
    pub earlier: &'a [String],
}

fn used(earlier: &[String], marker: &str) -> bool {
    earlier.iter().any(|t| t.contains(marker))
}

/// The guiding question: a related exercise not asked about yet in the
/// thread, else the first question kind the thread has not had.
pub fn guiding_question(m: &Material<'_>) -> Option<String> {
    let first = m.passages.first()?;
    let exercise = m
        .exercises
        .iter()
        .filter(|(lesson, _)| *lesson == first.lesson_id)
        .map(|(_, e)| e)
        .max_by_key(|e| {
            let words = rank::terms(&e.prompt);
            let head = rank::terms(&format!("{} {}", first.title, first.text));
            words.iter().filter(|w| head.contains(w)).count()
        });
    if let Some(e) = exercise
        && !used(m.earlier, EXERCISE_MARKER)
    {
        return Some(format!(
            "**Try this:** “{}” {EXERCISE_MARKER} would you start from?",
            e.prompt
        ));
    }
    let term =
        rank::key_term(m.stats, first, m.focus).unwrap_or_else(|| heading(first).to_lowercase());
    let other = m
        .passages
        .iter()
        .skip(1)
        .map(heading)
        .find(|h| !h.eq_ignore_ascii_case(&heading(first)));
    let fresh = TEMPLATES
        .iter()
        .filter(|t| !t.needs_other || other.is_some())
        .find(|t| !used(m.earlier, t.marker));
    // Every kind has been asked once in this thread: start again with the
    // one least recently used.
    let template = fresh.or_else(|| {
        TEMPLATES
            .iter()
            .filter(|t| !t.needs_other || other.is_some())
            .min_by_key(|t| {
                m.earlier
                    .iter()
                    .rposition(|e| e.contains(t.marker))
                    .unwrap_or(0)
            })
    })?;
    Some(format!(
        "**Your turn:** {}",
        (template.make)(&term, other.as_deref().unwrap_or(""))
    ))
}

/// The reply when passages were found.
pub fn found(m: &Material<'_>) -> (String, Vec<Annotation>) {
    let mut text = String::from(RETRIEVAL_ONLY_NOTICE);
    text.push_str("\n\n");
    if let Some(v) = m.verdict {
        text.push_str(v);
        text.push_str("\n\n");
    }
    let mut annotations = Vec::new();
    let Some(first) = m.passages.first() else {
        return (text.trim_end().to_string(), annotations);
    };
    let quote = rank::excerpt(&first.text, m.selection, m.focus, EXCERPT_WORDS);
    text.push_str(&format!("From **{}** [1]", heading(first)));
    annotations.push(url_annotation(first, text.chars().count()));
    text.push_str(&format!(": “{quote}”\n\n"));
    let more: Vec<(usize, &Passage)> = m
        .passages
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, p)| heading(p) != heading(first))
        .take(2)
        .collect();
    if !more.is_empty() {
        text.push_str("See also ");
        for (n, (i, p)) in more.iter().enumerate() {
            if n > 0 {
                text.push_str(" and ");
            }
            text.push_str(&format!("*{}* [{}]", heading(p), i + 1));
            annotations.push(url_annotation(p, text.chars().count()));
        }
        text.push_str(".\n\n");
    }
    if let Some(q) = guiding_question(m) {
        text.push_str(&q);
    }
    (text.trim_end().to_string(), annotations)
}

/// The reply when the best match is in a locked stage: its name and what
/// opens it, nothing of its text.
pub fn locked(stage: &StageInfo, previous: Option<&StageInfo>, retrieval_only: bool) -> String {
    let opens = match previous {
        Some(p) => format!(
            "It opens when you finish every lesson of stage {}, *{}*.",
            p.position, p.title
        ),
        None => "It opens as you finish the stages before it.".to_string(),
    };
    let mut text = String::new();
    if retrieval_only {
        text.push_str(RETRIEVAL_ONLY_NOTICE);
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "That topic is taught in stage {}, *{}*, which you haven't unlocked yet. {opens} Until then, ask me about the lessons you have open — for example a section of this page.",
        stage.position, stage.title
    ));
    text
}

/// The reply when nothing in the course answers the question.
pub fn not_found(page_sections: &[String], retrieval_only: bool) -> String {
    let mut text = String::new();
    if retrieval_only {
        text.push_str(RETRIEVAL_ONLY_NOTICE);
        text.push_str("\n\n");
    }
    text.push_str("I couldn't find anything about that in your lessons: it seems to be outside what this course covers.");
    let named: Vec<String> = page_sections
        .iter()
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| format!("*{s}*"))
        .collect();
    if named.is_empty() {
        text.push_str(" Try rephrasing with words from your current lesson.");
    } else {
        text.push_str(&format!(
            " Try rephrasing with words from your lesson, or ask about {} on this page.",
            named.join(" or ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, title: &str, text: &str) -> Passage {
        Passage {
            chunk_id: id.into(),
            lesson_id: "imu".into(),
            course_id: "c".into(),
            stage_position: 1,
            title: title.into(),
            url: format!("/learn/s/imu#{id}"),
            text: text.into(),
        }
    }

    #[test]
    fn the_guiding_question_is_never_the_same_kind_twice_in_a_thread() {
        let passages = vec![
            p(
                "bias",
                "IMUs › Bias and drift",
                "A gyroscope at rest rarely reads exactly zero. That constant offset is its bias, and integrating it makes the heading wander. This growth is called drift. Drift grows with time.",
            ),
            p(
                "gyro",
                "IMUs › Accelerometers and gyroscopes",
                "The gyroscope measures angular velocity.",
            ),
        ];
        let stats = TermStats::of(&passages);
        let focus = rank::informative("why does the gyroscope drift");
        let mut earlier: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..TEMPLATES.len() {
            let m = Material {
                verdict: None,
                passages: &passages,
                selection: None,
                focus: &focus,
                stats: &stats,
                exercises: &[],
                earlier: &earlier,
            };
            let (text, anns) = found(&m);
            assert_eq!(anns.len(), 2);
            let q = text.rsplit("**Your turn:** ").next().unwrap().to_string();
            let kind = TEMPLATES
                .iter()
                .position(|t| q.contains(t.marker))
                .unwrap_or_else(|| panic!("no kind: {q}"));
            assert!(!seen.contains(&kind), "repeated: {q}");
            seen.push(kind);
            assert!(text.contains("drift"), "{text}");
            earlier.push(text);
        }
    }

    #[test]
    fn a_related_exercise_is_asked_first() {
        let passages = vec![p(
            "bias",
            "IMUs › Bias and drift",
            "A gyroscope at rest rarely reads exactly zero. That constant offset is its bias.",
        )];
        let stats = TermStats::of(&passages);
        let e: Exercise = serde_json::from_value(serde_json::json!({
            "id": "gyro-drift", "kind": "numeric",
            "prompt": "A gyroscope at rest reads a constant 0.02 rad/s. After 60 s, what heading error results?",
            "answer": {"value": 1.2, "unit": "rad", "tolerance": 0.02}
        }))
        .unwrap();
        let ex = vec![("imu".to_string(), e)];
        let m = Material {
            verdict: None,
            passages: &passages,
            selection: None,
            focus: &[],
            stats: &stats,
            exercises: &ex,
            earlier: &[],
        };
        let (text, _) = found(&m);
        assert!(
            text.contains("what heading error results?” is an exercise"),
            "{text}"
        );
        let earlier = vec![text];
        let m = Material {
            earlier: &earlier,
            ..m
        };
        let (text, _) = found(&m);
        assert!(!text.contains("is an exercise on this"), "{text}");
    }
}
