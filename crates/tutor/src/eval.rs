//! Retrieval evaluation: nDCG@k, Recall@k and MRR@k over a question set with
//! judged relevant chunks; and the tutor's decisions (the selection's
//! section first, "not found" and "locked stage" replies).

use serde::Deserialize;

use crate::retrieval::bm25::{Bm25, Passage};
use crate::turn::rank;

#[derive(Debug, Clone, Deserialize)]
pub struct Judgement {
    /// `stage-slug/lesson-slug`.
    pub lesson: String,
    /// The exact heading whose section answers the question.
    pub heading: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub id: String,
    pub question: String,
    pub relevant: Vec<Judgement>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub ndcg: f64,
    pub recall: f64,
    pub mrr: f64,
}

/// Scores one ranking (chunk keys, best first) against the relevant keys.
pub fn score(ranked: &[String], relevant: &[String], k: usize) -> Scores {
    if relevant.is_empty() {
        return Scores::default();
    }
    let top = &ranked[..ranked.len().min(k)];
    let mut dcg = 0.0;
    let mut hits = 0usize;
    let mut mrr = 0.0;
    for (i, id) in top.iter().enumerate() {
        if relevant.contains(id) {
            dcg += 1.0 / ((i + 2) as f64).log2();
            hits += 1;
            if mrr == 0.0 {
                mrr = 1.0 / (i + 1) as f64;
            }
        }
    }
    let ideal: f64 = (0..relevant.len().min(k))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    Scores {
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        recall: hits as f64 / relevant.len() as f64,
        mrr,
    }
}

/// Averages per-question scores.
pub fn mean(all: &[Scores]) -> Scores {
    if all.is_empty() {
        return Scores::default();
    }
    let n = all.len() as f64;
    Scores {
        ndcg: all.iter().map(|s| s.ndcg).sum::<f64>() / n,
        recall: all.iter().map(|s| s.recall).sum::<f64>() / n,
        mrr: all.iter().map(|s| s.mrr).sum::<f64>() / n,
    }
}

// --- the tutor's decisions ----------------------------------------------------------

/// Questions that must not be answered from the open stages: off-course
/// ones (nothing found) and ones about a stage the learner has not opened.
#[derive(Debug, Clone, Deserialize)]
pub struct DecisionSet {
    pub off_course: Vec<String>,
    pub locked: Vec<LockedCase>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LockedCase {
    pub question: String,
    /// The learner has stages 1..=unlocked open.
    pub unlocked: u64,
    /// The stage the reply must name.
    pub stage: u64,
}

/// A selection taken from a lesson, and the section it belongs to.
#[derive(Debug, Clone)]
pub struct Selection {
    pub text: String,
    pub question: &'static str,
    pub section: usize,
}

/// What a student typically sends with a selection.
const SELECTION_QUESTIONS: &[&str] = &[
    "Can you help me understand this?",
    "What does this mean?",
    "Explain this in simple terms",
    "Why is that?",
    "I don't get this part",
];

/// Selections from every section of the course: each section's first
/// sentence of eight words or more, and its last one when different, each
/// with a question such as "what does this mean?".
pub fn selections(passages: &[Passage]) -> Vec<Selection> {
    let mut out = Vec::new();
    for (i, p) in passages.iter().enumerate() {
        let long: Vec<&str> = rank::sentences(&p.text)
            .into_iter()
            .filter(|s| s.split_whitespace().count() >= 8)
            .collect();
        let mut picked: Vec<&str> = long.first().copied().into_iter().collect();
        if let Some(last) = long.last()
            && long.len() > 2
        {
            picked.push(last);
        }
        for s in picked {
            out.push(Selection {
                text: s.to_string(),
                question: SELECTION_QUESTIONS[out.len() % SELECTION_QUESTIONS.len()],
                section: i,
            });
        }
    }
    out
}

/// The figures of `intellistack eval tutor`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DecisionReport {
    pub selections: usize,
    /// The selection's own section ranked first.
    pub selection_top1: usize,
    pub off_course: usize,
    /// Off-course questions answered "not found" (or, acceptable, "locked").
    pub off_course_refused: usize,
    pub locked: usize,
    /// Locked-topic questions answered with the right locked stage.
    pub locked_named: usize,
    /// Locked-topic questions that got "not found" instead (acceptable).
    pub locked_not_found: usize,
    /// Judged on-topic questions (every stage open): found, and the judged
    /// section among the passages.
    pub on_topic: usize,
    pub on_topic_found: usize,
    pub on_topic_relevant: usize,
    /// What went wrong, one line each.
    pub misses: Vec<String>,
}

impl DecisionReport {
    pub fn pct(n: usize, of: usize) -> f64 {
        if of == 0 {
            0.0
        } else {
            100.0 * n as f64 / of as f64
        }
    }
}

/// Runs the turn's decision (BM25 over every stage, then [`rank::decide`])
/// the way the server does, over one course's passages. `keys` gives each
/// passage's `stage-slug/lesson-slug` and heading, for the judged set.
pub fn check_decisions(
    passages: &[Passage],
    keys: &[(String, String)],
    set: &DecisionSet,
    judged: &[Question],
) -> Result<DecisionReport, crate::retrieval::bm25::IndexError> {
    let bm25 = Bm25::build(passages)?;
    let stats = rank::TermStats::of(passages);
    let Some(course) = passages.first().map(|p| p.course_id.clone()) else {
        return Ok(DecisionReport::default());
    };
    let mut all_stages: Vec<u64> = passages.iter().map(|p| p.stage_position).collect();
    all_stages.sort_unstable();
    all_stages.dedup();
    let lesson_of = |lesson: &str| -> Vec<Passage> {
        passages
            .iter()
            .filter(|p| p.lesson_id == lesson)
            .cloned()
            .collect()
    };
    let decide = |question: &str, selection: Option<&str>, lesson: &str, unlocked: &[u64]| {
        let query = match selection {
            Some(s) => format!("{question} {s}"),
            None => question.to_string(),
        };
        let candidates: Vec<Passage> = bm25
            .search(&query, &course, &all_stages, 30)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let page = lesson_of(lesson);
        rank::decide(&rank::Query {
            question,
            selection,
            page_lesson: Some(lesson),
            page_passages: &page,
            candidates: &candidates,
            unlocked,
            stats: &stats,
            k: 4,
        })
    };
    let mut r = DecisionReport::default();
    for s in selections(passages) {
        let p = &passages[s.section];
        let unlocked: Vec<u64> = (1..=p.stage_position).collect();
        r.selections += 1;
        match decide(s.question, Some(&s.text), &p.lesson_id, &unlocked) {
            rank::Decision::Found {
                passages: found, ..
            } if found.first().is_some_and(|f| f.chunk_id == p.chunk_id) => r.selection_top1 += 1,
            other => r.misses.push(format!(
                "selection in {:?} ({:?}): got {:?}",
                p.title,
                s.text,
                brief(&other)
            )),
        }
    }
    let first_lesson = passages
        .iter()
        .find(|p| p.stage_position == 1)
        .map(|p| p.lesson_id.clone())
        .unwrap_or_default();
    for q in &set.off_course {
        r.off_course += 1;
        match decide(q, None, &first_lesson, &[1]) {
            rank::Decision::NotFound | rank::Decision::Locked { .. } => r.off_course_refused += 1,
            other => r
                .misses
                .push(format!("off-course {q:?}: got {:?}", brief(&other))),
        }
    }
    for c in &set.locked {
        r.locked += 1;
        let unlocked: Vec<u64> = (1..=c.unlocked).collect();
        let page = passages
            .iter()
            .find(|p| p.stage_position == c.unlocked)
            .map(|p| p.lesson_id.clone())
            .unwrap_or_default();
        match decide(&c.question, None, &page, &unlocked) {
            rank::Decision::Locked { stage_position } if stage_position == c.stage => {
                r.locked_named += 1
            }
            rank::Decision::NotFound => {
                r.locked_not_found += 1;
                r.misses.push(format!("locked {:?}: not found", c.question));
            }
            other => r
                .misses
                .push(format!("locked {:?}: got {:?}", c.question, brief(&other))),
        }
    }
    for q in judged {
        r.on_topic += 1;
        let lesson = q.relevant.first().map(|j| j.lesson.as_str()).unwrap_or("");
        let page = passages
            .iter()
            .zip(keys)
            .find(|(_, (l, _))| l == lesson)
            .map(|(p, _)| p.lesson_id.clone())
            .unwrap_or_default();
        match decide(&q.question, None, &page, &all_stages) {
            rank::Decision::Found {
                passages: found, ..
            } => {
                r.on_topic_found += 1;
                let relevant = found.iter().any(|f| {
                    passages
                        .iter()
                        .position(|p| p.chunk_id == f.chunk_id)
                        .and_then(|i| keys.get(i))
                        .is_some_and(|(l, h)| {
                            q.relevant.iter().any(|j| j.lesson == *l && j.heading == *h)
                        })
                });
                if relevant {
                    r.on_topic_relevant += 1;
                } else {
                    r.misses.push(format!(
                        "on-topic {:?}: found, but not the judged section",
                        q.question
                    ));
                }
            }
            other => r.misses.push(format!(
                "on-topic {:?}: got {:?}",
                q.question,
                brief(&other)
            )),
        }
    }
    Ok(r)
}

fn brief(d: &rank::Decision) -> String {
    match d {
        rank::Decision::Found {
            passages,
            selection,
        } => format!(
            "found{} {:?}",
            if *selection { " (selection)" } else { "" },
            passages
                .iter()
                .map(|p| p.title.as_str())
                .collect::<Vec<_>>()
        ),
        rank::Decision::Locked { stage_position } => format!("locked stage {stage_position}"),
        rank::Decision::NotFound => "not found".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_match_hand_computation() {
        let s = score(&ids(&["x", "a", "y", "b"]), &ids(&["a", "b"]), 10);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg - dcg / idcg).abs() < 1e-9);
        assert_eq!(s.recall, 1.0);
        assert_eq!(s.mrr, 0.5);
        let none = score(&ids(&["x"]), &ids(&["a"]), 10);
        assert_eq!(
            none,
            Scores {
                ndcg: 0.0,
                recall: 0.0,
                mrr: 0.0
            }
        );
        let cut = score(&ids(&["x", "a"]), &ids(&["a"]), 1);
        assert_eq!(cut.recall, 0.0, "only the top k count");
    }
}
