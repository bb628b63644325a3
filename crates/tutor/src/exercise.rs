//! Exercises as data: a numeric answer with its unit and tolerance, a choice
//! among options, or a short text with its accepted forms; ordered hints and
//! an optional worked explanation. The checker and the tutor's answer guard
//! both read this. The serialised shape is the lesson front matter's:
//!
//! ```yaml
//! - id: gyro-drift
//!   kind: numeric
//!   prompt: "A gyroscope at rest reads 0.02 rad/s. What heading error after 60 s?"
//!   answer: { value: 1.2, unit: rad, tolerance: 0.02, units: [deg, mrad] }
//!   names: [heading error, error]
//!   hints: ["Integrating a constant rate multiplies it by the elapsed time."]
//!   explanation: "0.02 rad/s × 60 s = 1.2 rad, about 69°."
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::answers::lex::tokens;
use crate::answers::units::{self, Dim, Unit};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Raw", into = "Raw")]
pub struct Exercise {
    pub id: String,
    pub prompt: String,
    pub spec: Spec,
    pub hints: Vec<String>,
    pub explanation: Option<String>,
    /// What the result is called in a sentence ("the command", "Kp"): the
    /// guard treats `<name> is <value>` as giving the answer away.
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Numeric(Numeric),
    Choice(Choice),
    Text(Text),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Numeric {
    pub value: f64,
    /// The answer's unit as written (`rad`); `None` for a plain number.
    pub unit: Option<String>,
    pub tolerance: Tolerance,
    /// Other accepted units as written (`deg`, `step = 1 m`); `None`: every
    /// unit of the same quantity.
    pub units: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// In the answer's unit.
    Absolute(f64),
    /// A fraction of the value (`2%` is 0.02).
    Relative(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub options: Vec<ChoiceOption>,
    /// Ids of the correct options; more than one means "select all that apply".
    pub correct: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub id: String,
    pub text: String,
    /// Other ways of naming the option (`Kd`, `derivative gain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub accepted: Vec<String>,
}

/// What is wrong with an exercise, and which one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("exercise `{id}`: {reason}")]
pub struct ExerciseError {
    pub id: String,
    pub reason: String,
}

/// The serialised shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: String,
    kind: String,
    prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Vec<Value>>,
    #[serde(default)]
    answer: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    names: Vec<String>,
    #[serde(default)]
    hints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    explanation: Option<String>,
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `a-b` slug of an option's text, for options written as plain strings.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in crate::answers::lex::fold_text(text).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

impl TryFrom<Raw> for Exercise {
    type Error = ExerciseError;

    fn try_from(r: Raw) -> Result<Self, ExerciseError> {
        let id = r.id.trim().to_string();
        let bad = |reason: String| ExerciseError {
            id: if id.is_empty() {
                "(no id)".into()
            } else {
                id.clone()
            },
            reason,
        };
        if !valid_id(&id) {
            return Err(bad(
                "the id must be lower-case letters, digits and hyphens (at most 80)".into(),
            ));
        }
        if r.prompt.trim().is_empty() {
            return Err(bad("the prompt is empty".into()));
        }
        if r.hints.iter().any(|h| h.trim().is_empty()) {
            return Err(bad("a hint is empty".into()));
        }
        if r.options.is_some() && r.kind != "choice" {
            return Err(bad("`options` belong to choice exercises only".into()));
        }
        let answer = r.answer.ok_or_else(|| bad("there is no `answer`".into()))?;
        let spec = match r.kind.as_str() {
            "numeric" => Spec::Numeric(numeric(&answer).map_err(bad)?),
            "choice" => Spec::Choice(choice(r.options.unwrap_or_default(), &answer).map_err(bad)?),
            "text" => Spec::Text(text(&answer).map_err(bad)?),
            other => {
                return Err(bad(format!(
                    "`kind` must be numeric, choice or text, not `{other}`"
                )));
            }
        };
        Ok(Exercise {
            id,
            prompt: r.prompt.trim().to_string(),
            spec,
            hints: r.hints.into_iter().map(|h| h.trim().to_string()).collect(),
            explanation: r
                .explanation
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty()),
            names: r.names,
        })
    }
}

fn numeric(answer: &Value) -> Result<Numeric, String> {
    let (value, unit, tolerance, units) =
        match answer {
            Value::Object(m) => {
                for k in m.keys() {
                    if !matches!(k.as_str(), "value" | "unit" | "tolerance" | "units") {
                        return Err(format!(
                            "unknown field `answer.{k}` (expected value, unit, tolerance, units)"
                        ));
                    }
                }
                let value = m
                    .get("value")
                    .and_then(Value::as_f64)
                    .ok_or("`answer.value` must be a number")?;
                let unit = match m.get("unit") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(u)) => Some(u.trim().to_string()),
                    Some(_) => return Err("`answer.unit` must be text".into()),
                };
                let units = match m.get("units") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(a)) => Some(
                        a.iter()
                            .map(|u| u.as_str().map(|s| s.trim().to_string()))
                            .collect::<Option<Vec<_>>>()
                            .ok_or("`answer.units` must be a list of unit names")?,
                    ),
                    Some(_) => return Err("`answer.units` must be a list of unit names".into()),
                };
                (value, unit, m.get("tolerance").cloned(), units)
            }
            Value::String(s) => {
                // Shorthand: "1.2 rad".
                let q = crate::answers::quantity::parse_exact(s, &[])
                    .map_err(|e| format!("`answer` {e}"))?;
                let unit = s
                    .trim()
                    .split_once(char::is_whitespace)
                    .map(|(_, u)| u.trim().to_string())
                    .filter(|_| q.1.is_some());
                (q.0, unit, None, None)
            }
            Value::Number(n) => (n.as_f64().unwrap_or(f64::NAN), None, None, None),
            _ => return Err(
                "a numeric `answer` is a number, \"1.2 rad\" or {value, unit, tolerance, units}"
                    .into(),
            ),
        };
    if !value.is_finite() {
        return Err("`answer.value` must be a finite number".into());
    }
    let tolerance = match tolerance {
        None | Some(Value::Null) => Tolerance::Relative(0.01),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if t >= 0.0 && t.is_finite() => Tolerance::Absolute(t),
            _ => return Err("`answer.tolerance` must not be negative".into()),
        },
        Some(Value::String(s)) => {
            let p = s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| *p >= 0.0 && p.is_finite())
                .ok_or_else(|| {
                    format!("`answer.tolerance` is an absolute number or a percentage like \"2%\", not `{s}`")
                })?;
            Tolerance::Relative(p / 100.0)
        }
        Some(_) => return Err("`answer.tolerance` must be a number or a percentage".into()),
    };
    let n = Numeric {
        value,
        unit,
        tolerance,
        units,
    };
    // Every unit must be known and of the answer's quantity.
    let main = n.main_unit()?;
    for (name, u) in n.custom_units()? {
        if u.dim != main.dim {
            return Err(format!(
                "unit `{name}` is {}, but the answer is {}",
                u.dim.describe(),
                main.dim.describe()
            ));
        }
    }
    for name in n.units.iter().flatten() {
        if name.contains('=') {
            continue;
        }
        let u = units::parse_name(name).ok_or_else(|| format!("unknown unit `{name}`"))?;
        if u.dim != main.dim {
            return Err(format!(
                "unit `{name}` is {}, but the answer is {}",
                u.dim.describe(),
                main.dim.describe()
            ));
        }
    }
    Ok(n)
}

impl Numeric {
    /// The answer's unit (a plain number has factor 1 and no dimension).
    pub fn main_unit(&self) -> Result<Unit, String> {
        match &self.unit {
            None => Ok(Unit {
                dim: Dim::NONE,
                factor: 1.0,
            }),
            Some(u) if u.is_empty() => Err("`answer.unit` is empty".into()),
            Some(u) => self
                .custom_units()?
                .into_iter()
                .find(|(n, _)| n == u)
                .map(|(_, unit)| unit)
                .or_else(|| units::parse_name(u))
                .ok_or_else(|| format!("unknown unit `{u}`")),
        }
    }

    /// Units the exercise defines itself: `step = 1 m`.
    pub fn custom_units(&self) -> Result<Vec<(String, Unit)>, String> {
        let mut out = Vec::new();
        for u in self.units.iter().flatten() {
            let Some((name, def)) = u.split_once('=') else {
                continue;
            };
            let name = crate::answers::lex::fold_text(name.trim());
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("unit `{u}` needs a one-word name before `=`"));
            }
            let (v, unit) = crate::answers::quantity::parse_exact(def, &[])
                .map_err(|e| format!("unit `{u}`: {e}"))?;
            let unit = unit.ok_or_else(|| format!("unit `{u}` needs a unit after `=`"))?;
            out.push((
                name,
                Unit {
                    dim: unit.dim,
                    factor: v * unit.factor,
                },
            ));
        }
        Ok(out)
    }

    /// The tolerance in the answer's unit.
    pub fn absolute_tolerance(&self) -> f64 {
        match self.tolerance {
            Tolerance::Absolute(t) => t,
            Tolerance::Relative(r) => (r * self.value).abs(),
        }
    }
}

fn choice(options: Vec<Value>, answer: &Value) -> Result<Choice, String> {
    let mut out: Vec<ChoiceOption> = Vec::new();
    for o in options {
        let opt = match o {
            Value::String(s) => ChoiceOption {
                id: slug(&s),
                text: s.trim().to_string(),
                forms: Vec::new(),
            },
            Value::Object(_) => serde_json::from_value::<ChoiceOption>(o)
                .map_err(|e| format!("an option is not {{id, text, forms}}: {e}"))?,
            _ => return Err("each option is text or {id, text, forms}".into()),
        };
        if opt.id.is_empty() || opt.text.trim().is_empty() {
            return Err("every option needs an id and a text".into());
        }
        if out.iter().any(|x| x.id == opt.id) {
            return Err(format!("two options have the id `{}`", opt.id));
        }
        out.push(opt);
    }
    if out.len() < 2 {
        return Err("a choice exercise needs at least two `options`".into());
    }
    let correct: Vec<String> = match answer {
        Value::String(s) => vec![s.trim().to_string()],
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<Vec<_>>>()
            .ok_or("`answer` lists option ids")?,
        _ => return Err("`answer` is an option id or a list of them".into()),
    };
    if correct.is_empty() {
        return Err("`answer` names no option".into());
    }
    for c in &correct {
        if !out.iter().any(|o| &o.id == c) {
            return Err(format!("`answer` names `{c}`, which is not an option id"));
        }
    }
    Ok(Choice {
        options: out,
        correct,
    })
}

fn text(answer: &Value) -> Result<Text, String> {
    let accepted: Vec<String> = match answer {
        Value::String(s) => vec![s.trim().to_string()],
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<Vec<_>>>()
            .ok_or("`answer` lists the accepted forms as text")?,
        _ => return Err("a text `answer` is the accepted form, or a list of them".into()),
    };
    if accepted.is_empty() || accepted.iter().any(|a| tokens(a).is_empty()) {
        return Err("every accepted form must have words or numbers in it".into());
    }
    Ok(Text { accepted })
}

impl From<Exercise> for Raw {
    fn from(e: Exercise) -> Raw {
        let (kind, options, answer) = match e.spec {
            Spec::Numeric(n) => {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), serde_json::json!(n.value));
                if let Some(u) = n.unit {
                    m.insert("unit".into(), Value::String(u));
                }
                m.insert(
                    "tolerance".into(),
                    match n.tolerance {
                        Tolerance::Absolute(t) => serde_json::json!(t),
                        Tolerance::Relative(r) => Value::String(format!(
                            "{}%",
                            crate::answers::lex::canonical_number(r * 100.0)
                        )),
                    },
                );
                if let Some(units) = n.units {
                    m.insert("units".into(), serde_json::json!(units));
                }
                ("numeric", None, Value::Object(m))
            }
            Spec::Choice(c) => (
                "choice",
                Some(
                    c.options
                        .iter()
                        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                        .collect(),
                ),
                if c.correct.len() == 1 {
                    Value::String(c.correct[0].clone())
                } else {
                    serde_json::json!(c.correct)
                },
            ),
            Spec::Text(t) => ("text", None, serde_json::json!(t.accepted)),
        };
        Raw {
            id: e.id,
            kind: kind.into(),
            prompt: e.prompt,
            options,
            answer: Some(answer),
            names: e.names,
            hints: e.hints,
            explanation: e.explanation,
        }
    }
}

impl Exercise {
    pub fn kind(&self) -> &'static str {
        match self.spec {
            Spec::Numeric(_) => "numeric",
            Spec::Choice(_) => "choice",
            Spec::Text(_) => "text",
        }
    }

    /// Reads one exercise from a JSON value (front matter converted to JSON).
    /// The error names the exercise and what is wrong with it.
    pub fn from_value(v: Value) -> Result<Exercise, ExerciseError> {
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("(no id)")
            .to_string();
        let raw: Raw = serde_json::from_value(v).map_err(|e| ExerciseError {
            id: id.clone(),
            reason: e.to_string(),
        })?;
        Exercise::try_from(raw)
    }

    /// The hint to give after `wrong` wrong attempts (the last one repeats).
    pub fn hint_after(&self, wrong: usize) -> Option<&str> {
        if self.hints.is_empty() {
            return None;
        }
        Some(&self.hints[wrong.min(self.hints.len() - 1)])
    }
}

/// Checks a lesson's exercises together: ids are unique.
pub fn check_all(list: &[Exercise]) -> Result<(), ExerciseError> {
    for (i, e) in list.iter().enumerate() {
        if list[..i].iter().any(|x| x.id == e.id) {
            return Err(ExerciseError {
                id: e.id.clone(),
                reason: "another exercise of the lesson has the same id".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Exercise, String> {
        Exercise::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn each_kind_reads_and_writes_the_same_shape() {
        let n = json!({"id": "gyro", "kind": "numeric", "prompt": "How far?",
            "answer": {"value": 1.2, "unit": "rad", "tolerance": 0.02, "units": ["deg", "mrad"]},
            "hints": ["Multiply."], "explanation": "0.02 × 60"});
        let c = json!({"id": "pick", "kind": "choice", "prompt": "Which?",
            "options": [{"id": "topic", "text": "Topic"}, "Service", {"id": "action", "text": "Action", "forms": ["an action"]}],
            "answer": "action", "hints": []});
        let t = json!({"id": "cli", "kind": "text", "prompt": "Command?",
            "answer": ["ros2 param set /driver max_speed 0.5"], "hints": []});
        for v in [n, c, t] {
            let e = parse(v.clone()).unwrap();
            let back = serde_json::to_value(&e).unwrap();
            assert_eq!(Exercise::from_value(back).unwrap(), e);
        }
        let e = parse(json!({"id": "g", "kind": "numeric", "prompt": "p", "answer": "1.2 rad"}))
            .unwrap();
        let Spec::Numeric(n) = e.spec else { panic!() };
        assert_eq!((n.value, n.unit.as_deref()), (1.2, Some("rad")));
        assert_eq!(n.tolerance, Tolerance::Relative(0.01));
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                json!({"id": "a", "kind": "numerc", "prompt": "p", "answer": 1}),
                "`kind` must be numeric, choice or text",
            ),
            (
                json!({"id": "a", "kind": "numeric", "prompt": "p"}),
                "no `answer`",
            ),
            (
                json!({"id": "a", "kind": "numeric", "prompt": "p", "answer": {"value": 1, "unit": "bananas"}}),
                "unknown unit `bananas`",
            ),
            (
                json!({"id": "a", "kind": "numeric", "prompt": "p", "answer": {"value": 1, "unit": "rad", "units": ["m"]}}),
                "unit `m` is a length, but the answer is an angle",
            ),
            (
                json!({"id": "a", "kind": "numeric", "prompt": "p", "answer": {"value": 1, "tolerance": -1}}),
                "must not be negative",
            ),
            (
                json!({"id": "a", "kind": "numeric", "prompt": "p", "answer": {"value": 1, "tolerance": "lots"}}),
                "percentage",
            ),
            (
                json!({"id": "a", "kind": "choice", "prompt": "p", "options": ["x"], "answer": "x"}),
                "at least two",
            ),
            (
                json!({"id": "a", "kind": "choice", "prompt": "p", "options": ["x", "y"], "answer": "z"}),
                "`z`, which is not an option id",
            ),
            (
                json!({"id": "a", "kind": "text", "prompt": "p", "answer": []}),
                "accepted form",
            ),
            (
                json!({"id": "a", "kind": "text", "prompt": "", "answer": "x"}),
                "prompt is empty",
            ),
            (
                json!({"id": "A b", "kind": "text", "prompt": "p", "answer": "x"}),
                "lower-case",
            ),
            (
                json!({"id": "a", "kind": "text", "prompt": "p", "answer": "x", "hint": ["typo"]}),
                "unknown field `hint`",
            ),
        ];
        for (v, want) in cases {
            let err = parse(v.clone()).unwrap_err();
            assert!(err.contains(want), "{v}: {err}");
            assert!(err.starts_with("exercise `"), "{err}");
        }
    }

    #[test]
    fn custom_units_convert() {
        let e = parse(json!({"id": "grid", "kind": "numeric", "prompt": "p",
            "answer": {"value": 7, "unit": "m", "units": ["cm", "step = 1 m"]}}))
        .unwrap();
        let Spec::Numeric(n) = e.spec else { panic!() };
        let custom = n.custom_units().unwrap();
        assert_eq!(custom[0].0, "step");
        assert_eq!(custom[0].1.factor, 1.0);
    }
}
