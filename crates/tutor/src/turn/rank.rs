//! Deciding what a question is about, on top of the search results: the
//! selection and the page's lesson weigh in, a calibrated relevance
//! threshold separates "found" from "not in the course", and a question
//! whose best match lies in a locked stage is told which stage that is —
//! without any of that stage's text leaving this module.
//!
//! Relevance is the share of the question's informative terms (stemmed,
//! stop words and question words removed) that a passage contains, each
//! term weighted by its rarity in the course. BM25 scores order passages
//! but are not comparable across questions; this share is, which is what a
//! threshold needs.

use std::collections::{HashMap, HashSet};

use common::text::squash;
use tantivy::tokenizer::TokenStream;

use crate::retrieval::bm25::{Bm25, IndexError, Passage, english};

/// Below this share of the question's weighted terms, a passage does not
/// answer it. Calibrated with `intellistack eval tutor` over the sample
/// course (see docs/DECISIONS.md).
pub const THRESHOLD: f64 = 0.3;

/// A locked passage wins only when it covers the question clearly better
/// than anything unlocked.
pub const LOCKED_MARGIN: f64 = 0.2;

/// Words that say *that* something is asked, not *what*. Stemmed like the
/// text before comparison.
const QUESTION_WORDS: &[&str] = &[
    "how",
    "what",
    "why",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "does",
    "do",
    "did",
    "work",
    "works",
    "working",
    "explain",
    "explained",
    "mean",
    "means",
    "meaning",
    "help",
    "understand",
    "tell",
    "me",
    "please",
    "can",
    "could",
    "would",
    "should",
    "you",
    "i",
    "my",
    "this",
    "that",
    "part",
    "page",
    "lesson",
    "section",
    "paragraph",
    "sentence",
    "text",
    "idea",
    "simple",
    "terms",
    "example",
    "examples",
    "give",
    "show",
    "need",
    "know",
    "want",
    "get",
    "thing",
    "things",
    "about",
    "really",
    "exactly",
    "again",
    "more",
    "here",
    "there",
    "is",
    "are",
    "s",
    "ok",
    "okay",
    "hi",
    "hello",
    "thanks",
    "thank",
    // Words about the tutoring itself, not its topic.
    "just",
    "exercise",
    "exercises",
    "answer",
    "answers",
    "question",
    "questions",
    "problem",
    "wrong",
    "right",
    "correct",
    "hint",
    "hints",
    "solve",
    "solution",
    "step",
    "stuck",
    "try",
    "tried",
    "got",
    "think",
    "sure",
    "it",
    "one",
    "first",
    "start",
    "now",
];

/// Words that make a question about the page's own exercises.
const PAGE_WORK: &[&str] = &["exercise", "answer", "hint", "solution", "attempt"];

/// Stemmed terms of `text`, in order, stop words removed.
pub fn terms(text: &str) -> Vec<String> {
    let mut a = english();
    let mut s = a.token_stream(text);
    let mut out = Vec::new();
    while s.advance() {
        out.push(s.token().text.clone());
    }
    out
}

/// The terms of a question that say what it is about.
pub fn informative(question: &str) -> Vec<String> {
    let generic: HashSet<String> = QUESTION_WORDS.iter().flat_map(|w| terms(w)).collect();
    let mut seen = HashSet::new();
    terms(question)
        .into_iter()
        .filter(|t| !generic.contains(t) && seen.insert(t.clone()))
        .collect()
}

/// Document frequencies over one course's passages, every stage included,
/// for the terms a turn weighs (a term not looked up counts as unused).
#[derive(Debug, Default, Clone)]
pub struct TermStats {
    df: HashMap<String, u32>,
    docs: u32,
}

impl TermStats {
    /// The frequencies of `terms` in `course_id`, read from the index.
    pub fn from_index(idx: &Bm25, course_id: &str, terms: &[String]) -> Result<Self, IndexError> {
        let mut s = TermStats::default();
        s.look_up(idx, course_id, terms)?;
        Ok(s)
    }

    /// Adds the frequencies of `terms` not looked up yet.
    pub fn look_up(
        &mut self,
        idx: &Bm25,
        course_id: &str,
        terms: &[String],
    ) -> Result<(), IndexError> {
        let mut seen = HashSet::new();
        let missing: Vec<String> = terms
            .iter()
            .filter(|t| !self.df.contains_key(*t) && seen.insert(*t))
            .cloned()
            .collect();
        let (docs, dfs) = idx.doc_freqs(course_id, &missing)?;
        self.docs = docs;
        self.df.extend(missing.into_iter().zip(dfs));
        Ok(())
    }

    /// Every passage's terms counted (evaluation and tests: the whole
    /// course in memory).
    pub fn of<'a>(passages: impl IntoIterator<Item = &'a Passage>) -> Self {
        let mut s = TermStats::default();
        for p in passages {
            s.docs += 1;
            let set: HashSet<String> = terms(&format!("{} {}", p.title, p.text))
                .into_iter()
                .collect();
            for t in set {
                *s.df.entry(t).or_default() += 1;
            }
        }
        s
    }

    /// Rare terms weigh more; a term the course never uses weighs most.
    pub fn weight(&self, term: &str) -> f64 {
        let df = f64::from(self.df.get(term).copied().unwrap_or(0));
        (1.0 + f64::from(self.docs.max(1)) / (1.0 + df)).ln()
    }
}

/// The weighted share of `query` terms that `passage` contains.
pub fn coverage(stats: &TermStats, query: &[String], passage: &Passage) -> f64 {
    if query.is_empty() {
        return 0.0;
    }
    let have: HashSet<String> = terms(&format!("{} {}", passage.title, passage.text))
        .into_iter()
        .collect();
    let total: f64 = query.iter().map(|t| stats.weight(t)).sum();
    let hit: f64 = query
        .iter()
        .filter(|t| have.contains(*t))
        .map(|t| stats.weight(t))
        .sum();
    if total > 0.0 { hit / total } else { 0.0 }
}

/// The passage that contains the selection: exact containment first, then
/// the one sharing most of its word triples (a selection across two
/// sections belongs to the one holding more of it).
pub fn containing<'a>(selection: &str, passages: &'a [Passage]) -> Option<&'a Passage> {
    let sel = squash(selection);
    if sel.split(' ').count() < 2 {
        return None;
    }
    if let Some(p) = passages
        .iter()
        .find(|p| squash(&format!("{} {}", p.title, p.text)).contains(&sel))
    {
        return Some(p);
    }
    let words: Vec<&str> = sel.split(' ').collect();
    let triples: HashSet<String> = words.windows(3).map(|w| w.join(" ")).collect();
    if triples.is_empty() {
        return None;
    }
    let best = passages
        .iter()
        .map(|p| {
            let t = squash(&p.text);
            let pw: Vec<&str> = t.split(' ').collect();
            let have: HashSet<String> = pw.windows(3).map(|w| w.join(" ")).collect();
            (triples.iter().filter(|t| have.contains(*t)).count(), p)
        })
        .max_by_key(|(n, _)| *n)?;
    // Most of the selection must be there.
    (best.0 * 2 >= triples.len()).then_some(best.1)
}

/// One stage as the tutor may name it.
#[derive(Debug, Clone, PartialEq)]
pub struct StageInfo {
    pub position: u64,
    pub title: String,
}

/// What the question is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Passages to answer from, best first.
    Found {
        passages: Vec<Passage>,
        /// The first passage is the selection's own section.
        selection: bool,
    },
    /// The best match is in a stage the learner has not unlocked: only its
    /// position is returned, never its text.
    Locked { stage_position: u64 },
    /// Nothing in the course answers it.
    NotFound,
}

/// What [`decide`] reads.
pub struct Query<'a> {
    pub question: &'a str,
    pub selection: Option<&'a str>,
    /// The page's lesson, when the learner may see it.
    pub page_lesson: Option<&'a str>,
    /// The page lesson's passages (unlocked), for the selection.
    pub page_passages: &'a [Passage],
    /// Search results over every stage of the course, best first.
    pub candidates: &'a [Passage],
    pub unlocked: &'a [u64],
    pub stats: &'a TermStats,
    pub k: usize,
}

/// A passage's place: its coverage, nudged by the page's lesson, and the
/// search engine's order as the tie-breaker.
fn rank_key(cov: f64, on_page: bool, order: usize) -> f64 {
    cov + if on_page { 0.05 } else { 0.0 } - order as f64 * 1e-4
}

/// Decides, and orders the passages to answer from.
pub fn decide(q: &Query<'_>) -> Decision {
    let terms = informative(q.question);
    let open = |p: &Passage| q.unlocked.contains(&p.stage_position);
    // 1. The selection's own section, when the learner may read it.
    let selected = q.selection.and_then(|sel| {
        containing(sel, q.page_passages).or_else(|| {
            let open_candidates: Vec<Passage> =
                q.candidates.iter().filter(|p| open(p)).cloned().collect();
            containing(sel, &open_candidates).and_then(|p| {
                q.candidates
                    .iter()
                    .find(|c| c.chunk_id == p.chunk_id)
                    .filter(|c| open(c))
            })
        })
    });
    // Terms from the question, else (a bare "explain this") from the selection.
    let query_terms = if terms.is_empty() {
        q.selection.map(informative).unwrap_or_default()
    } else {
        terms
    };
    let mut scored: Vec<(f64, f64, &Passage)> = q
        .candidates
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cov = coverage(q.stats, &query_terms, p);
            let on_page = q.page_lesson == Some(p.lesson_id.as_str());
            (rank_key(cov, on_page, i), cov, p)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best_open = scored
        .iter()
        .filter(|(_, _, p)| open(p))
        .map(|(_, c, _)| *c)
        .fold(0.0, f64::max);

    if let Some(sel) = selected {
        let mut passages = vec![sel.clone()];
        passages.extend(
            scored
                .iter()
                .filter(|(_, c, p)| open(p) && *c >= THRESHOLD && p.chunk_id != sel.chunk_id)
                .map(|(_, _, p)| (*p).clone()),
        );
        passages.truncate(q.k);
        return Decision::Found {
            passages,
            selection: true,
        };
    }
    if query_terms.is_empty() {
        // "Can you explain this?" with nothing selected: the page itself.
        return match q.page_passages.first() {
            Some(_) => Decision::Found {
                passages: q.page_passages.iter().take(q.k).cloned().collect(),
                selection: false,
            },
            None => Decision::NotFound,
        };
    }
    // Ordered by coverage, then by the search engine's order: the first
    // locked passage is the best locked match.
    let best_locked = scored.iter().find(|(_, c, p)| !open(p) && *c >= THRESHOLD);
    if let Some((_, cov, p)) = best_locked
        && *cov >= best_open + LOCKED_MARGIN
    {
        return Decision::Locked {
            stage_position: p.stage_position,
        };
    }
    if best_open < THRESHOLD {
        // "What's the answer to the hover exercise?" is about the page's
        // exercises even when its other words match no section.
        let about_the_page = self::terms(q.question)
            .iter()
            .any(|t| PAGE_WORK.iter().any(|w| self::terms(w).first() == Some(t)));
        if about_the_page && !q.page_passages.is_empty() {
            return Decision::Found {
                passages: q.page_passages.iter().take(q.k).cloned().collect(),
                selection: false,
            };
        }
        return Decision::NotFound;
    }
    let passages: Vec<Passage> = scored
        .iter()
        .filter(|(_, c, p)| open(p) && *c >= THRESHOLD)
        // A lesson's opening words are a filler unless they match as well
        // as the best section.
        .filter(|(_, c, p)| !is_opening(p) || *c + 1e-9 >= best_open)
        .map(|(_, _, p)| (*p).clone())
        .take(q.k)
        .collect();
    Decision::Found {
        passages,
        selection: false,
    }
}

/// A lesson's (or the course's) opening text, before its first heading.
pub fn is_opening(p: &Passage) -> bool {
    !p.url.contains('#') && !p.title.contains(" › ")
}

// --- excerpts -------------------------------------------------------------------------

/// Sentences of a chunk's text. A sentence ends at `.`, `!` or `?` followed
/// by a space and a capital letter (or the end), so decimals, units and
/// formulas such as `angle = α × (angle + gyro_rate × dt)` stay whole.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(i + 1).map(|x| x.1);
        let after = chars.get(i + 2).map(|x| x.1);
        let ends = match next {
            None => true,
            Some(n) if n.is_whitespace() => after.is_none_or(|a| a.is_uppercase() || a == '*'),
            _ => false,
        };
        // "e.g. The" or "Fig. 2" are rare in lessons; a single capital before
        // the dot ("J. Smith") is not an end.
        let prev_word_len = text[start..at]
            .rsplit(|ch: char| ch.is_whitespace())
            .next()
            .map_or(0, |w| w.chars().count());
        if ends && prev_word_len != 1 {
            let end = at + c.len_utf8();
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A short excerpt of whole sentences: the run of consecutive sentences
/// (about `words` words) that holds most of `focus` — the selection, else
/// the question's terms. A sentence is never cut, however long.
pub fn excerpt(
    text: &str,
    focus_selection: Option<&str>,
    focus_terms: &[String],
    words: usize,
) -> String {
    let s = sentences(text);
    if s.is_empty() {
        return String::new();
    }
    let focus: HashSet<&String> = focus_terms.iter().collect();
    let sel = focus_selection.map(squash).filter(|x| !x.is_empty());
    let score = |sentence: &str| -> f64 {
        let mut v = 0.0;
        if let Some(sel) = &sel {
            let sq = squash(sentence);
            if sel.contains(&sq) || sq.contains(sel.as_str()) {
                v += 10.0;
            }
        }
        v + terms(sentence).iter().filter(|t| focus.contains(t)).count() as f64
    };
    let count = |x: &str| x.split_whitespace().count();
    let mut best = (f64::MIN, 0usize, 1usize);
    for from in 0..s.len() {
        let mut n = 0;
        let mut v = 0.0;
        let mut to = from;
        while to < s.len() && (to == from || n + count(s[to]) <= words) {
            n += count(s[to]);
            v += score(s[to]);
            to += 1;
        }
        // Earlier runs win ties: lessons put the definition first.
        if v > best.0 {
            best = (v, from, to);
        }
    }
    let (_, from, to) = best;
    let mut out = s[from..to].join(" ");
    if from > 0 {
        out = format!("… {out}");
    }
    if to < s.len() {
        out.push_str(" …");
    }
    out
}

/// The word of `text` whose stem is `term`, as written (for a key term).
pub fn surface(text: &str, term: &str) -> Option<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .find(|w| terms(w).first().is_some_and(|t| t == term))
        .map(|w| w.to_lowercase())
}

/// The terms [`key_term`] may pick from the section itself when the
/// question names none: words that recur in it.
pub fn key_term_candidates(p: &Passage) -> Vec<String> {
    let mut tf: HashMap<String, usize> = HashMap::new();
    for t in terms(&p.text) {
        *tf.entry(t).or_default() += 1;
    }
    let mut out: Vec<String> = tf
        .into_iter()
        .filter(|(t, n)| *n > 1 && t.chars().all(char::is_alphabetic) && t.len() > 3)
        .map(|(t, _)| t)
        .collect();
    out.sort();
    out
}

/// The question's terms that can name the section (words of its text).
fn focus_terms_in<'a>(body: &[String], focus: &'a [String]) -> Vec<&'a String> {
    let have: HashSet<&String> = body.iter().collect();
    focus
        .iter()
        .filter(|t| have.contains(t) && t.chars().all(char::is_alphabetic) && t.len() > 2)
        .collect()
}

/// Whether [`key_term`] picks from the section's own words (the question
/// names none of them), and so needs [`key_term_candidates`]' frequencies.
pub fn needs_own_terms(p: &Passage, focus: &[String]) -> bool {
    focus_terms_in(&terms(&p.text), focus).is_empty()
}

/// The section's key term: the rarest of the question's terms it contains,
/// else the recurring term of its own with the highest count × rarity.
/// `stats` must hold the focus terms and [`key_term_candidates`].
pub fn key_term(stats: &TermStats, p: &Passage, focus: &[String]) -> Option<String> {
    let body = terms(&p.text);
    let from_focus = focus_terms_in(&body, focus)
        .into_iter()
        .max_by(|a, b| stats.weight(a).total_cmp(&stats.weight(b)));
    let t = match from_focus {
        Some(t) => t.clone(),
        None => {
            let candidates = key_term_candidates(p);
            let count = |t: &String| body.iter().filter(|b| *b == t).count() as f64;
            candidates
                .iter()
                .max_by(|a, b| {
                    (count(a) * stats.weight(a))
                        .total_cmp(&(count(b) * stats.weight(b)))
                        .then_with(|| b.cmp(a))
                })?
                .clone()
        }
    };
    surface(&p.text, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, stage: u64, lesson: &str, title: &str, anchor: &str, text: &str) -> Passage {
        Passage {
            chunk_id: id.into(),
            lesson_id: lesson.into(),
            course_id: "c".into(),
            stage_position: stage,
            title: title.into(),
            url: if anchor.is_empty() {
                format!("/learn/s/{lesson}")
            } else {
                format!("/learn/s/{lesson}#{anchor}")
            },
            text: text.into(),
        }
    }

    fn course() -> Vec<Passage> {
        vec![
            p(
                "intro",
                1,
                "imu",
                "IMUs",
                "",
                "Encoders and inertial measurement units are the workhorses of robotics. Both mislead you when integrated.",
            ),
            p(
                "gyro",
                1,
                "imu",
                "IMUs › Accelerometers and gyroscopes",
                "gyro",
                "An IMU combines an accelerometer and a gyroscope. The gyroscope measures angular velocity in rad/s.",
            ),
            p(
                "bias",
                1,
                "imu",
                "IMUs › Bias and drift",
                "bias",
                "A gyroscope at rest rarely reads exactly zero. That constant offset is its bias, and integrating it makes the heading wander: a bias of 0.01 rad/s becomes 0.6 rad of error in one minute. This growth is called drift.",
            ),
            p(
                "ik",
                2,
                "ik",
                "Inverse Kinematics › Two-link arm",
                "two-link",
                "Inverse kinematics finds the joint angles that put the end effector at a target. For a two-link arm, cos θ2 = (x² + y² − l1² − l2²) / (2 l1 l2).",
            ),
        ]
    }

    fn query<'a>(
        q: &'a str,
        sel: Option<&'a str>,
        all: &'a [Passage],
        stats: &'a TermStats,
    ) -> Query<'a> {
        Query {
            question: q,
            selection: sel,
            page_lesson: Some("imu"),
            page_passages: &all[..3],
            candidates: all,
            unlocked: &[1],
            stats,
            k: 3,
        }
    }

    #[test]
    fn the_selection_section_comes_first() {
        let all = course();
        let stats = TermStats::of(&all);
        let d = decide(&query(
            "Can you help me understand this?",
            Some("A gyroscope at rest\n rarely reads exactly zero."),
            &all,
            &stats,
        ));
        match d {
            Decision::Found {
                passages,
                selection,
            } => {
                assert!(selection);
                assert_eq!(passages[0].chunk_id, "bias");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn locked_topics_name_their_stage_and_off_course_is_not_found() {
        let all = course();
        let stats = TermStats::of(&all);
        assert_eq!(
            decide(&query(
                "How does inverse kinematics work?",
                None,
                &all,
                &stats
            )),
            Decision::Locked { stage_position: 2 }
        );
        assert_eq!(
            decide(&query("What is the capital of France?", None, &all, &stats)),
            Decision::NotFound
        );
        match decide(&query("why does a gyroscope drift?", None, &all, &stats)) {
            Decision::Found { passages, .. } => {
                assert_eq!(passages[0].chunk_id, "bias");
                assert!(passages.iter().all(|p| p.stage_position == 1));
                assert!(passages.iter().all(|p| p.chunk_id != "intro"), "no filler");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn excerpts_end_at_sentences_and_keep_formulas() {
        let text = "A complementary filter blends two estimates. The update is angle = α × (angle + gyro_rate × dt) + (1 − α) × accel_angle. With α = 0.98 and dt = 0.01 s, the gyroscope dominates over short times. Vibration is filtered out.";
        assert_eq!(sentences(text).len(), 4);
        let e = excerpt(
            text,
            None,
            &terms("what is dt in the complementary filter update"),
            30,
        );
        assert!(e.contains("(1 − α) × accel_angle."), "{e}");
        assert!(!e.contains("Vibration"), "{e}");
        for s in sentences(&e.replace("… ", "").replace(" …", "")) {
            assert!(s.ends_with('.'), "{s}");
        }
        assert_eq!(
            sentences("It reads 9.81 m/s² at rest. Next."),
            vec!["It reads 9.81 m/s² at rest.", "Next."]
        );
    }

    #[test]
    fn key_terms_come_from_the_section() {
        let all = course();
        let stats = TermStats::of(&all);
        assert_eq!(
            key_term(&stats, &all[2], &terms("why does it drift")).as_deref(),
            Some("drift")
        );
        assert_eq!(key_term(&stats, &all[2], &[]).as_deref(), Some("bias"));
    }

    #[test]
    fn frequencies_from_the_index_are_those_of_the_passages() {
        let all = course();
        let mut other = all[2].clone();
        other.chunk_id = "elsewhere".into();
        other.course_id = "another".into();
        let idx = Bm25::build(&[all.clone(), vec![other]].concat()).unwrap();
        let words = terms("gyroscope drift bias IMUs kinematics unheard-of angular");
        let from_index = TermStats::from_index(&idx, "c", &words).unwrap();
        let counted = TermStats::of(&all);
        for t in &words {
            assert_eq!(from_index.weight(t), counted.weight(t), "{t}");
        }
        // A course that is the whole index is counted the same way.
        let alone = Bm25::build(&all).unwrap();
        let whole = TermStats::from_index(&alone, "c", &words).unwrap();
        for t in &words {
            assert_eq!(whole.weight(t), counted.weight(t), "{t}, one course");
        }
        // Looking up more terms keeps those already known.
        let mut more = from_index.clone();
        more.look_up(&idx, "c", &key_term_candidates(&all[2]))
            .unwrap();
        assert_eq!(more.weight("drift"), counted.weight("drift"));
        assert_eq!(
            key_term(&more, &all[2], &[]),
            key_term(&counted, &all[2], &[])
        );
    }
}
