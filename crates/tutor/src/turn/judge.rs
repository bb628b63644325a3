//! The optional second pass: a short prompt asks the model whether a final
//! reply solves one of the exercises in play. Its verdict is logged next to
//! the deterministic guard's and counted in usage; it never changes the
//! reply, which the student already has.

use crate::exercise::{Exercise, Spec};
use crate::llm::Message;

pub const JUDGE_PROMPT: &str = "You review replies written by a tutor who must never give away the answer to an exercise. You get the exercises with their answers, then the reply. Say whether the reply states an exercise's final answer or a full solution (hints, guiding questions and explanations of concepts with other numbers are fine). Answer with one line only: `LEAK <exercise id>` or `OK`.";

fn answer_of(e: &Exercise) -> String {
    match &e.spec {
        Spec::Numeric(n) => match &n.unit {
            Some(u) => format!("{} {u}", n.value),
            None => n.value.to_string(),
        },
        Spec::Choice(c) => c
            .options
            .iter()
            .filter(|o| c.correct.contains(&o.id))
            .map(|o| o.text.clone())
            .collect::<Vec<_>>()
            .join(" and "),
        Spec::Text(t) => t.accepted.join(" or "),
    }
}

pub fn messages(exercises: &[&Exercise], reply: &str) -> Vec<Message> {
    let mut listed = String::from("Exercises:\n");
    for e in exercises {
        listed.push_str(&format!(
            "- {}: {} Answer: {}\n",
            e.id,
            e.prompt,
            answer_of(e)
        ));
    }
    vec![
        Message::system(JUDGE_PROMPT),
        Message::user(format!(
            "{listed}\nReply to review:\n<reply>\n{}\n</reply>",
            crate::guardrails::escape_material(reply)
        )),
    ]
}

/// The judge's verdict: `Some(id)` when it says the reply solves exercise
/// `id` (an unknown id counts as a leak of some exercise); `None` for OK or
/// an answer it cannot read.
pub fn parse(text: &str, exercises: &[&Exercise]) -> Option<Option<String>> {
    let line = text
        .trim()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('`');
    let upper = line.to_ascii_uppercase();
    if upper.starts_with("OK") {
        return Some(None);
    }
    if let Some(rest) = upper.strip_prefix("LEAK") {
        let id = rest.trim().to_ascii_lowercase();
        let known = exercises.iter().find(|e| e.id == id).map(|e| e.id.clone());
        return Some(Some(known.unwrap_or(id)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read() {
        let e = Exercise::from_value(serde_json::json!({"id": "gyro", "kind": "numeric", "prompt": "p", "answer": "1.2 rad"})).unwrap();
        let list = [&e];
        assert_eq!(parse("LEAK gyro", &list), Some(Some("gyro".into())));
        assert_eq!(parse("`OK`", &list), Some(None));
        assert_eq!(parse("maybe", &list), None);
        let m = messages(&list, "It is 1.2 rad.");
        assert!(m[1].content.as_deref().unwrap().contains("Answer: 1.2 rad"));
    }
}
