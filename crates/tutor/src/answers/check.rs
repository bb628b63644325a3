//! Checking an attempt: a numeric answer in any format and any unit of its
//! quantity, within the exercise's tolerance; a choice by option id or text;
//! a short text against its accepted forms, compared folded (case, accents,
//! look-alikes, punctuation, spacing) and with numbers compared by value.

use super::lex::{Kind, Token, fold_text, tokens};
use super::quantity;
use super::units::Dim;
use crate::exercise::{Choice, Exercise, Numeric, Spec, Text};

/// What the student gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    Text(String),
    /// Option ids (or texts) for a choice exercise.
    Choices(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub correct: bool,
    /// Why a well-formed answer is wrong when that helps ("that is a
    /// length; the answer is an angle").
    pub note: Option<String>,
}

/// An answer that cannot be checked: the student should rewrite it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

pub const MAX_ANSWER_CHARS: usize = 500;

fn right() -> Verdict {
    Verdict {
        correct: true,
        note: None,
    }
}

fn wrong(note: Option<String>) -> Verdict {
    Verdict {
        correct: false,
        note,
    }
}

pub fn check(ex: &Exercise, given: &Given) -> Result<Verdict, Malformed> {
    match (&ex.spec, given) {
        (Spec::Choice(c), g) => choice(c, g),
        (_, Given::Choices(list)) if list.len() == 1 => check(ex, &Given::Text(list[0].clone())),
        (_, Given::Choices(_)) => Err(Malformed(
            "This exercise takes one answer, not a list".into(),
        )),
        (spec, Given::Text(t)) => {
            if t.trim().is_empty() {
                return Err(Malformed("The answer is empty".into()));
            }
            if t.chars().count() > MAX_ANSWER_CHARS {
                return Err(Malformed(format!(
                    "The answer is longer than {MAX_ANSWER_CHARS} characters"
                )));
            }
            match spec {
                Spec::Numeric(n) => numeric(n, t),
                Spec::Text(x) => Ok(text(x, t)),
                Spec::Choice(_) => unreachable!("handled above"),
            }
        }
    }
}

fn numeric(n: &Numeric, t: &str) -> Result<Verdict, Malformed> {
    let custom = n.custom_units().unwrap_or_default();
    let main = n.main_unit().map_err(Malformed)?;
    let (value, unit) = quantity::parse_exact(t, &custom).map_err(|e| {
        let unit_hint = n
            .unit
            .as_deref()
            .map(|u| format!(" (for example 1.5 {u})"))
            .unwrap_or_default();
        Malformed(format!("The answer {e}{unit_hint}"))
    })?;
    let given_base = match unit {
        // A bare number is read in the answer's own unit.
        None => value * main.factor,
        Some(u) => {
            if u.dim != main.dim {
                return Ok(wrong(Some(format!(
                    "That is {}; the answer is {}.",
                    u.dim.describe(),
                    main.dim.describe()
                ))));
            }
            if let Some(allowed) = &n.units
                && u.factor != main.factor
                && u.factor != 1.0
            {
                let ok = allowed.iter().any(|name| {
                    if let Some((cname, _)) = name.split_once('=') {
                        custom
                            .iter()
                            .any(|(c, cu)| c == &fold_text(cname.trim()) && cu.factor == u.factor)
                    } else {
                        super::units::parse_name(name).is_some_and(|a| a.factor == u.factor)
                    }
                });
                if !ok {
                    let mut names: Vec<String> = n.unit.iter().cloned().collect();
                    names.extend(allowed.iter().map(|a| {
                        a.split_once('=')
                            .map(|(c, _)| c.trim().to_string())
                            .unwrap_or_else(|| a.clone())
                    }));
                    return Ok(wrong(Some(format!(
                        "Give the answer in {}.",
                        names.join(", ")
                    ))));
                }
            }
            value * u.factor
        }
    };
    let answer_base = n.value * main.factor;
    let tol = n.absolute_tolerance() * main.factor;
    let slack = 1e-9 * answer_base.abs().max(1.0);
    Ok(if (given_base - answer_base).abs() <= tol + slack {
        right()
    } else {
        wrong(None)
    })
}

/// Tokens squeezed together, numbers by value: what forms compare as.
pub fn squeeze(toks: &[Token]) -> String {
    toks.iter()
        .filter(|t| t.kind != Kind::Sym || t.text == "π" || t.text == "°" || t.text == "%")
        .map(Token::canonical)
        .collect()
}

/// The numbers of a text, in order, signs kept, decimal commas not merged:
/// how a point like `(0,1)` is read.
pub fn numbers(toks: &[Token]) -> Vec<f64> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind == Kind::Num {
            let neg = i > 0
                && (toks[i - 1].is_sym('-') || toks[i - 1].is_sym('−'))
                && !t.gap
                && (i == 1 || toks[i - 1].gap || toks[i - 2].kind == Kind::Sym);
            out.push(if neg { -t.value } else { t.value });
        }
    }
    out
}

/// A form made of numbers only (a point, a pair).
pub fn is_tuple(toks: &[Token]) -> bool {
    toks.iter().filter(|t| t.kind == Kind::Num).count() >= 2
        && toks.iter().all(|t| t.kind != Kind::Word)
}

pub fn same_numbers(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 + 1e-6 * y.abs())
}

fn text(x: &Text, t: &str) -> Verdict {
    let given = tokens(t);
    let squeezed = squeeze(&given);
    for form in &x.accepted {
        let ft = tokens(form);
        if is_tuple(&ft) {
            if same_numbers(&numbers(&given), &numbers(&ft)) {
                return right();
            }
        } else if squeeze(&ft) == squeezed {
            return right();
        }
    }
    wrong(None)
}

/// Finds the option a text names: its id, its text or one of its forms.
pub fn option_named<'a>(c: &'a Choice, given: &str) -> Option<&'a str> {
    let g = squeeze(&tokens(given));
    if g.is_empty() {
        return None;
    }
    c.options
        .iter()
        .find(|o| {
            o.id == given.trim()
                || squeeze(&tokens(&o.id)) == g
                || squeeze(&tokens(&o.text)) == g
                || o.forms.iter().any(|f| squeeze(&tokens(f)) == g)
        })
        .map(|o| o.id.as_str())
}

fn choice(c: &Choice, g: &Given) -> Result<Verdict, Malformed> {
    let picked: Vec<String> = match g {
        Given::Text(t) if t.trim().is_empty() => {
            return Err(Malformed("Choose an option".into()));
        }
        Given::Text(t) => vec![t.clone()],
        Given::Choices(list) => list.clone(),
    };
    if picked.is_empty() {
        return Err(Malformed("Choose at least one option".into()));
    }
    let mut ids: Vec<&str> = Vec::new();
    for p in &picked {
        let id = option_named(c, p).ok_or_else(|| {
            Malformed(format!(
                "`{}` is not one of the options ({})",
                p.chars().take(80).collect::<String>(),
                c.options
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if c.correct.len() == 1 && ids.len() > 1 {
        return Err(Malformed("Choose one option".into()));
    }
    let mut want: Vec<&str> = c.correct.iter().map(String::as_str).collect();
    want.sort();
    ids.sort();
    Ok(if want == ids { right() } else { wrong(None) })
}

/// The dimension an exercise's answer has (for reading attempts in chat).
pub fn answer_dim(n: &Numeric) -> Dim {
    n.main_unit().map(|u| u.dim).unwrap_or(Dim::NONE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ex(v: serde_json::Value) -> Exercise {
        Exercise::from_value(v).unwrap()
    }

    fn ok(e: &Exercise, s: &str) -> bool {
        check(e, &Given::Text(s.into())).unwrap().correct
    }

    #[test]
    fn numeric_answers_in_any_format_and_unit() {
        let e = ex(json!({"id": "gyro", "kind": "numeric", "prompt": "p",
            "answer": {"value": 1.2, "unit": "rad", "tolerance": 0.02}}));
        for s in [
            "1.2",
            "1.2 rad",
            "1,2 rad",
            "1.20 rad",
            "6/5",
            "6/5 rad",
            "1200 mrad",
            "68.75°",
            "68.75 degrees",
            "69 deg",
            "1.19 rad",
            "one point two radians",
            "1.2rad",
            "= 1.2 rad",
            "0.02 rad/s × 60 s",
            "1.2 RAD",
            "１.２ rad",
        ] {
            assert!(ok(&e, s), "{s} is right");
        }
        for s in ["1.25 rad", "1.2 mrad", "2 rad", "-1.2 rad", "0.4π"] {
            assert!(!ok(&e, s), "{s} is wrong");
        }
        let v = check(&e, &Given::Text("1.2 m".into())).unwrap();
        assert!(!v.correct);
        assert_eq!(
            v.note.as_deref(),
            Some("That is a length; the answer is an angle.")
        );
        for s in ["", "abc", "1.2 bananas", "1.1-1.3 rad"] {
            assert!(
                check(&e, &Given::Text(s.into())).is_err(),
                "{s} is malformed"
            );
        }
    }

    #[test]
    fn relative_tolerance_and_restricted_units() {
        let e = ex(json!({"id": "enc", "kind": "numeric", "prompt": "p",
            "answer": {"value": 0.628, "unit": "m", "tolerance": "1%", "units": ["cm", "mm"]}}));
        assert!(ok(&e, "62.8 cm"));
        assert!(ok(&e, "0.2π m"));
        assert!(ok(&e, "628mm"));
        assert!(!ok(&e, "0.64 m"), "outside 1%");
        let v = check(&e, &Given::Text("2.06 ft".into())).unwrap();
        assert_eq!(v.note.as_deref(), Some("Give the answer in m, cm, mm."));
    }

    #[test]
    fn percentages_and_plain_numbers() {
        let e = ex(
            json!({"id": "half", "kind": "numeric", "prompt": "p", "answer": {"value": 0.5, "tolerance": 0}}),
        );
        for s in ["0.5", ".5", "50%", "one half", "1/2", "½", "5e-1"] {
            assert!(ok(&e, s), "{s}");
        }
    }

    #[test]
    fn choices_by_id_text_or_form() {
        let e = ex(json!({"id": "pick", "kind": "choice", "prompt": "p",
            "options": ["Topic", "Service", {"id": "action", "text": "Action", "forms": ["an action"]}], "answer": "action"}));
        assert!(ok(&e, "action"));
        assert!(ok(&e, "An action"));
        assert!(!ok(&e, "topic"));
        assert!(check(&e, &Given::Text("parameter".into())).is_err());
        assert!(check(&e, &Given::Choices(vec!["topic".into(), "action".into()])).is_err());
        let m = ex(
            json!({"id": "many", "kind": "choice", "prompt": "p", "options": ["a", "b", "c"], "answer": ["a", "c"]}),
        );
        assert!(
            check(&m, &Given::Choices(vec!["c".into(), "a".into()]))
                .unwrap()
                .correct
        );
        assert!(
            !check(&m, &Given::Choices(vec!["a".into()]))
                .unwrap()
                .correct
        );
    }

    #[test]
    fn text_forms_compare_folded() {
        let e = ex(
            json!({"id": "cli", "kind": "text", "prompt": "p", "answer": ["ros2 param set /driver max_speed 0.5"]}),
        );
        assert!(ok(&e, "ROS2 param set /driver max_speed 0.50"));
        assert!(ok(&e, "ros2  param  set /driver max_speed .5"));
        assert!(!ok(&e, "ros2 param get /driver max_speed"));
        let p = ex(json!({"id": "pt", "kind": "text", "prompt": "p", "answer": ["(0, 1)"]}));
        for s in ["(0, 1)", "(0,1)", "0, 1", "(0.0, 1.0)", "x = 0, y = 1"] {
            assert!(ok(&p, s), "{s}");
        }
        assert!(!ok(&p, "(1, 0)"));
        assert!(!ok(&p, "(0, -1)"));
    }
}
