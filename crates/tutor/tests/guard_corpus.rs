//! The answer guard over the sample course: every leak form caught, the
//! same verdict however the reply is split, nothing of a match shown before
//! it is decided, and harmless replies from the lessons passed. Prints the
//! measured rates (docs/TUTOR-GUARD.md reports them).

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use tutor::answers::Guard;
use tutor::exercise::Exercise;

mod corpus;

/// `stage/lesson` → exercises, read from the course's front matter.
fn course() -> HashMap<String, Vec<Exercise>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/physical-ai");
    let mut out = HashMap::new();
    for stage in std::fs::read_dir(&root).unwrap() {
        let dir = stage.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let front = |p: &Path| -> serde_json::Value {
            let text = std::fs::read_to_string(p).unwrap();
            let yaml = text
                .split("\n---")
                .next()
                .unwrap()
                .trim_start_matches("---\n");
            let v: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
            serde_json::to_value(v).unwrap()
        };
        let stage_slug = front(&dir.join("stage.md"))["slug"]
            .as_str()
            .unwrap()
            .to_string();
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            if p.file_name().unwrap() == "stage.md" {
                continue;
            }
            let meta = front(&p);
            let list = meta["exercises"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| Exercise::from_value(e.clone()).unwrap())
                .collect();
            out.insert(
                format!("{stage_slug}/{}", meta["slug"].as_str().unwrap()),
                list,
            );
        }
    }
    out
}

fn lesson_of<'a>(c: &'a HashMap<String, Vec<Exercise>>, id: &str) -> &'a [Exercise] {
    c.values()
        .find(|l| l.iter().any(|e| e.id == id))
        .unwrap_or_else(|| panic!("no exercise {id}"))
}

/// Streams `text` in pieces of `size` characters; returns the hit and the
/// most text that was safe to show at any point.
fn streamed(ex: &[&Exercise], text: &str, size: usize) -> (Option<String>, String) {
    let mut g = Guard::new(ex);
    let chars: Vec<char> = text.chars().collect();
    let mut shown = String::new();
    for piece in chars.chunks(size.max(1)) {
        let piece: String = piece.iter().collect();
        if g.push(&piece).is_some() {
            break;
        }
        shown = g.text()[..g.safe_len()].to_string();
    }
    let hit = g.finish().map(|h| h.exercise.clone());
    if hit.is_none() {
        shown = g.text().to_string();
    }
    (hit, shown)
}

#[test]
fn every_leak_form_is_caught_whatever_the_chunking() {
    let c = course();
    let mut caught = 0;
    let mut missed = Vec::new();
    for corpus::Leak {
        exercise: id,
        reply,
        leaked: secret,
    } in corpus::LEAKS.iter().copied()
    {
        assert!(reply.contains(secret), "{reply:?} contains {secret:?}");
        let lesson = lesson_of(&c, id);
        let ex: Vec<&Exercise> = lesson.iter().collect();
        let whole = Guard::check(&ex, reply).map(|h| h.exercise);
        for size in [1, 2, 3, 5, 8, 1000] {
            let (hit, shown) = streamed(&ex, reply, size);
            assert_eq!(hit, whole, "{reply:?} in pieces of {size}: same verdict");
            if hit.is_some() {
                assert!(
                    !shown.contains(secret),
                    "{reply:?}: {secret:?} was shown before the guard decided ({shown:?})"
                );
            }
        }
        if whole.as_deref() == Some(id.as_str()) {
            caught += 1;
        } else {
            missed.push(format!("{id}: {reply:?} -> {whole:?}"));
        }
    }
    let exercises: std::collections::HashSet<&str> =
        corpus::LEAKS.iter().map(|l| l.exercise.as_str()).collect();
    println!(
        "leak forms caught: {caught} / {} over {} exercises",
        corpus::LEAKS.len(),
        exercises.len()
    );
    for m in &missed {
        println!("  missed {m}");
    }
    assert!(missed.is_empty(), "missed: {missed:#?}");
}

#[test]
fn harmless_replies_from_the_lessons_pass() {
    let c = course();
    let mut passed = 0;
    let mut gagged = Vec::new();
    for corpus::Harmless { lesson, reply } in corpus::HARMLESS.iter().copied() {
        let ex: Vec<&Exercise> = c[lesson].iter().collect();
        match Guard::check(&ex, reply) {
            None => passed += 1,
            Some(h) => gagged.push(format!(
                "{lesson}: {reply:?} -> {} by {} at {:?}",
                h.exercise,
                h.rule,
                &reply[h.start..h.end]
            )),
        }
    }
    println!(
        "harmless replies passed: {passed} / {}",
        corpus::HARMLESS.len()
    );
    for g in &gagged {
        println!("  gagged {g}");
    }
    assert!(corpus::HARMLESS.len() >= 40);
    assert!(passed + 1 >= corpus::HARMLESS.len(), "{gagged:#?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any reply split anywhere gets the same verdict as the whole, and what
    /// was shown before a hit holds none of the match.
    #[test]
    fn chunking_never_changes_the_verdict(
        idx in 0..corpus::LEAKS.len() + corpus::HARMLESS.len(),
        cuts in proptest::collection::vec(1usize..12, 1..40),
    ) {
        let c = course();
        let (ex, text): (Vec<&Exercise>, &str) = if idx < corpus::LEAKS.len() {
            let leak = corpus::LEAKS[idx];
            (lesson_of(&c, &leak.exercise).iter().collect(), leak.reply.as_str())
        } else {
            let harmless = corpus::HARMLESS[idx - corpus::LEAKS.len()];
            (c[&harmless.lesson].iter().collect(), harmless.reply.as_str())
        };
        let whole = Guard::check(&ex, text);
        let mut g = Guard::new(&ex);
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let mut k = 0;
        let mut safe_max = 0;
        while at < chars.len() {
            let n = cuts[k % cuts.len()].min(chars.len() - at);
            k += 1;
            let piece: String = chars[at..at + n].iter().collect();
            at += n;
            if g.push(&piece).is_some() { break; }
            safe_max = safe_max.max(g.safe_len());
        }
        let hit = g.finish().cloned();
        prop_assert_eq!(hit.as_ref().map(|h| (h.exercise.clone(), h.start, h.end)), whole.as_ref().map(|h| (h.exercise.clone(), h.start, h.end)));
        if let Some(h) = hit {
            prop_assert!(safe_max <= h.start, "shown up to {} but the match starts at {}", safe_max, h.start);
        }
    }
}
