//! The answer guard: does a draft reply give away an exercise's answer?
//!
//! It matches values and accepted forms, never leading clauses:
//! - a numeric answer is given away by a quantity of the same kind whose
//!   value is the answer's (any format, any unit of the quantity, a narrow
//!   range or `±` around it, a short calculation that comes to it), or by a
//!   bare number named as the result (`Kp = 4.8`, `the command is 6`,
//!   `the answer is 0`);
//! - a point by its coordinates (`(0, 1)`, `x = 0, y = 1`);
//! - a text answer of several words by its accepted form, however spaced,
//!   split, cased or hyphenated;
//! - a choice (or a one-word text answer) only when the reply delivers it
//!   as a verdict (`the answer is accuracy`, `it's an action.`, `pick
//!   best-effort`, `static is correct`); a reply that merely uses the word
//!   passes.
//!
//! Streaming: the draft is lexed as it grows. A token is decided once it is
//! complete and as many tokens as a match starting there could need have
//! arrived, reading exactly those tokens, so the verdict is the same however
//! the stream is split, and nothing from where a match could start is shown
//! before it is decided ([`Guard::safe_len`]).

use super::check::{is_tuple, numbers, squeeze};
use super::lex::{Kind, Token, tokens, tokens_from};
use super::number::{self, numberish};
use super::quantity::{self, Quantity};
use super::units::{Dim, Unit};
use crate::exercise::{Exercise, Spec};

/// A match: which exercise, where in the raw text, by which rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub exercise: String,
    pub start: usize,
    pub end: usize,
    pub rule: &'static str,
}

#[derive(Debug, Clone)]
struct NumForm {
    ex: usize,
    /// In base units of `dim`.
    value: f64,
    dim: Dim,
    /// The answer's unit factor (a bare number is read in it).
    factor: f64,
    tol: f64,
    approx_tol: f64,
    custom: Vec<(String, Unit)>,
    names: Vec<String>,
}

#[derive(Debug, Clone)]
struct TupleForm {
    ex: usize,
    values: Vec<f64>,
}

#[derive(Debug, Clone)]
struct PhraseForm {
    ex: usize,
    squeezed: String,
    /// A single word (or a choice): only a verdict gives it away.
    needs_verdict: bool,
}

/// Every form of every exercise in play.
#[derive(Debug, Clone, Default)]
pub struct Forms {
    ids: Vec<String>,
    nums: Vec<NumForm>,
    tuples: Vec<TupleForm>,
    phrases: Vec<PhraseForm>,
}

const NUMBER_AHEAD: usize = 16;
const TUPLE_AHEAD: usize = 12;
const VERDICT_AHEAD: usize = 6;
const LEFT: usize = 8;

/// Words that only function (articles, pronouns): not content.
const STOP: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "it", "is", "and", "or", "by", "for",
];

/// Labels every numeric answer has.
const GENERIC_NAMES: &[&str] = &[
    "answer",
    "result",
    "solution",
    "youget",
    "yougot",
    "youdget",
    "youllget",
    "youshouldget",
    "get",
    "gives",
    "giving",
    "equals",
    "comesto",
    "comesoutto",
    "worksoutto",
    "outputs",
    "itcomesto",
    "respuesta",
    "reponse",
    "antwort",
    "resultado",
    "resultat",
    "ergebnis",
    "value",
    "total",
];

/// Words between a name and its value that change nothing.
const FILLER: &[&str] = &[
    "is",
    "at",
    "are",
    "was",
    "be",
    "would",
    "will",
    "should",
    "equal",
    "equals",
    "of",
    "about",
    "around",
    "roughly",
    "approximately",
    "approx",
    "exactly",
    "just",
    "then",
    "comes",
    "out",
    "to",
    "works",
    "becomes",
    "it",
    "s",
    "final",
    "here",
    "now",
    "es",
    "est",
    "ist",
    "sera",
    "de",
    "vaut",
    "then",
    "you",
    "so",
    "therefore",
    "thus",
    "nearly",
    "almost",
    "precisely",
    "simply",
    "that",
];

const APPROX: &[&str] = &[
    "about",
    "around",
    "roughly",
    "approximately",
    "approx",
    "nearly",
    "almost",
    "circa",
    "ca",
    "some",
    "aproximadamente",
    "unos",
    "unas",
    "environ",
    "etwa",
    "ungefahr",
    "close",
];

/// Phrases (squeezed) that deliver a choice as a verdict when they come
/// right before it.
const STRONG_BEFORE: &[&str] = &[
    "answeris",
    "answer",
    "answerwouldbe",
    "answershouldbe",
    "answerhere",
    "correctansweris",
    "correctoptionis",
    "correctchoiceis",
    "rightansweris",
    "correctansweris",
    "answeris",
    "solutionis",
    "respuestaes",
    "lareponseest",
    "reponseest",
    "antwortist",
    "gowith",
    "choose",
    "pick",
    "select",
    "youshouldpick",
    "youshouldchoose",
    "youwant",
    "youneed",
    "youduse",
    "youwoulduse",
    "youdpick",
    "youdchoose",
    "youdwant",
    "shoulduse",
    "shouldpick",
    "wouldpick",
    "wouldchoose",
    "raise",
    "increase",
    "boost",
    "turnup",
    "bumpup",
    "gofor",
    "optfor",
    "youdgofor",
    "goingwith",
];

/// Weaker lead-ins: a verdict only when the sentence closes right after the
/// option (`It's an action.`, `It is static, because…`).
const WEAK_BEFORE: &[&str] = &[
    "its",
    "itis",
    "itd",
    "itdbe",
    "itwouldbe",
    "itshouldbe",
    "thats",
    "thatis",
    "wouldbe",
    "shouldbe",
    "is",
    "are",
    "use",
    "as",
    "publishitas",
    "publishedas",
    "want",
    "need",
    "problemis",
    "issueis",
    "isan",
    "isa",
];

/// Phrases after an option that make it a verdict.
const AFTER: &[&str] = &[
    "iscorrect",
    "isright",
    "istheanswer",
    "istheone",
    "isyouranswer",
    "isthecorrectanswer",
    "istherightanswer",
    "istherightchoice",
    "isthebetterchoice",
    "isthebestchoice",
    "isthecorrectchoice",
    "istheproblem",
    "istheissue",
    "isthewaytogo",
    "wins",
    "itis",
    "isbetterhere",
    "isbest",
    "fitsbest",
    "istherightone",
    "isthebetterpick",
    "isthebestpick",
    "isthebetteroption",
    "isthebestoption",
    "isthecorrectoption",
    "istherightoption",
    "iswhatyouwant",
    "iswhatyouneed",
    "iswhatyoudwant",
    "iswhatyoudpick",
    "isthewaytodoit",
];

fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

/// Generic nouns an option may be followed by in a verdict ("it's a
/// proprioceptive sensor.", "an action interface").
const HEAD_NOUNS: &[&str] = &[
    "sensor",
    "one",
    "type",
    "kind",
    "interface",
    "option",
    "choice",
    "term",
    "setting",
];

fn verdict_closure(toks: &[Token], j: usize) -> bool {
    if toks
        .get(j)
        .is_some_and(|t| t.kind == Kind::Word && HEAD_NOUNS.contains(&t.text.as_str()))
    {
        return closes_verdict(toks, j + 1);
    }
    closes_verdict(toks, j)
}

fn closes_verdict(toks: &[Token], j: usize) -> bool {
    match toks.get(j) {
        None => true,
        Some(t) => {
            t.is_boundary()
                || t.is_sym(',')
                || t.is_sym(')')
                || t.is_sym('-')
                || t.is_sym(':')
                || t.is_sym('!')
                || t.is_word("because")
                || t.is_word("since")
                || t.is_word("here")
                || t.is_word("as")
                || t.is_word("so")
                // "an accuracy problem": the option named as the trouble.
                || t.is_word("problem")
                || t.is_word("issue")
                || (t.kind == Kind::Sym && t.text == "*")
        }
    }
}

impl Forms {
    pub fn new(exercises: &[&Exercise]) -> Forms {
        let mut f = Forms::default();
        for (ex, e) in exercises.iter().enumerate() {
            f.ids.push(e.id.clone());
            match &e.spec {
                Spec::Numeric(n) => {
                    let Ok(main) = n.main_unit() else { continue };
                    let custom = n.custom_units().unwrap_or_default();
                    let tol = n.absolute_tolerance();
                    let rel = n.value.abs();
                    let floor = if rel == 0.0 { 1e-9 } else { 0.0 };
                    f.nums.push(NumForm {
                        ex,
                        value: n.value * main.factor,
                        dim: main.dim,
                        factor: main.factor,
                        tol: tol.max(0.02 * rel).max(floor) * main.factor,
                        approx_tol: tol.max(0.05 * rel).max(floor) * main.factor,
                        custom,
                        names: e
                            .names
                            .iter()
                            .map(|n| squeeze(&tokens(n)))
                            .filter(|n| !n.is_empty())
                            .collect(),
                    });
                }
                Spec::Text(t) => {
                    for form in &t.accepted {
                        f.add_phrase(ex, form, false);
                    }
                }
                Spec::Choice(c) => {
                    for o in c.options.iter().filter(|o| c.correct.contains(&o.id)) {
                        for form in std::iter::once(&o.text).chain(&o.forms) {
                            f.add_phrase(ex, form, true);
                        }
                    }
                }
            }
        }
        f
    }

    fn add_phrase(&mut self, ex: usize, form: &str, choice: bool) {
        let toks = tokens(form);
        if is_tuple(&toks) {
            self.tuples.push(TupleForm {
                ex,
                values: numbers(&toks),
            });
            return;
        }
        let content = toks
            .iter()
            .filter(|t| t.kind != Kind::Sym && !is_stop(&t.text))
            .count();
        let squeezed = squeeze(&toks);
        if squeezed.is_empty() {
            return;
        }
        // A numbers-and-words form like a command is specific on its own.
        let needs_verdict = choice || content < 2;
        self.phrases.push(PhraseForm {
            ex,
            squeezed,
            needs_verdict,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.nums.is_empty() && self.tuples.is_empty() && self.phrases.is_empty()
    }

    /// How many tokens after `i` a match starting there may need; `None`
    /// while the next token, which decides it, is not complete.
    fn ahead(&self, toks: &[Token], i: usize, complete: usize, finished: bool) -> Option<usize> {
        let t = &toks[i];
        let mut need = 0;
        if !self.nums.is_empty() || !self.tuples.is_empty() {
            let starts_number = match t.kind {
                Kind::Num => true,
                Kind::Sym => t.is_sym('π') || t.is_sym('(') || t.is_sym('-') || t.is_sym('−'),
                Kind::Word if t.text == "a" || t.text == "an" => {
                    if i + 1 >= complete && !finished {
                        return None;
                    }
                    number::at(&toks[..complete], i).is_some()
                }
                Kind::Word => numberish(t) || t.text == "half",
            };
            if starts_number {
                need = if self.nums.is_empty() {
                    TUPLE_AHEAD
                } else {
                    NUMBER_AHEAD
                };
            }
        }
        if t.kind != Kind::Sym {
            let c = t.canonical();
            for p in &self.phrases {
                if p.squeezed.starts_with(&c) {
                    need = need.max(p.squeezed.chars().count() + VERDICT_AHEAD);
                }
            }
        }
        Some(need)
    }

    /// The first match at token `i`, reading only `toks` (already cut to
    /// what `ahead` asked for).
    fn at(
        &self,
        toks: &[Token],
        i: usize,
        phrase_start: bool,
    ) -> Option<(usize, usize, usize, &'static str)> {
        if phrase_start || toks[i].is_sym('(') {
            if let Some(m) = self.numeric_at(toks, i, phrase_start) {
                return Some(m);
            }
            if let Some(m) = self.tuple_at(toks, i) {
                return Some(m);
            }
        }
        self.phrase_at(toks, i)
    }

    fn numeric_at(
        &self,
        toks: &[Token],
        i: usize,
        phrase_start: bool,
    ) -> Option<(usize, usize, usize, &'static str)> {
        // An exponent (`b²`) is part of the term before it, never a value.
        if i > 0 && toks[i - 1].is_sym('^') {
            return None;
        }
        let approx = approx_before(toks, i);
        let between = toks[..i]
            .iter()
            .rev()
            .take(2)
            .any(|t| t.is_word("between") || t.is_word("entre") || t.is_word("from"));
        // Most forms share one reading of the text; only exercises with units
        // of their own read it again.
        let plain_q = if phrase_start {
            quantity::at(toks, i, &[])
        } else {
            None
        };
        let plain_calc = quantity::calc(toks, i, &[]);
        for f in &self.nums {
            let tol = if approx { f.approx_tol } else { f.tol };
            let near = |x: f64| (x - f.value).abs() <= tol;
            let q = if f.custom.is_empty() {
                plain_q
            } else if phrase_start {
                quantity::at(toks, i, &f.custom)
            } else {
                None
            };
            if let Some(q) = q {
                // A quantity of the same kind.
                if let Some(u) = q.unit
                    && u.dim == f.dim
                    && !f.dim.is_none()
                    && near(q.phrase.value * u.factor)
                {
                    return Some((f.ex, i, q.end, "quantity"));
                }
                if q.phrase.percent && f.dim.is_none() && near(q.phrase.value) {
                    return Some((f.ex, i, q.end, "percentage"));
                }
                // A narrow range around it.
                if let Some(r) = quantity::range_after(toks, &q, &f.custom, between) {
                    let factor = match r.unit {
                        Some(u) if u.dim == f.dim => Some(u.factor),
                        None if f.dim.is_none() || named_before(toks, i, &f.names) => {
                            Some(f.factor)
                        }
                        _ => None,
                    };
                    if let Some(k) = factor {
                        let (lo, hi) = (r.low * k, r.high * k);
                        let narrow = hi - lo <= (4.0 * f.tol).max(0.25 * f.value.abs());
                        if narrow && lo - f.tol <= f.value && f.value <= hi + f.tol {
                            return Some((f.ex, i, r.end, "range"));
                        }
                    }
                }
                // A bare number delivered as the verdict ("It's 6.", "6 is right").
                if q.unit.is_none()
                    && !q.phrase.percent
                    && near(q.phrase.value * f.factor)
                    && verdict_around(toks, i, q.end)
                {
                    return Some((f.ex, i, q.end, "verdict"));
                }
                // A bare number named as the result.
                if named_before(toks, i, &f.names) {
                    let x = match q.unit {
                        Some(u) if u.dim == f.dim => Some(q.phrase.value * u.factor),
                        Some(_) => None,
                        None => Some(q.phrase.value * f.factor),
                    };
                    if x.is_some_and(near) {
                        return Some((f.ex, i, q.end, "named value"));
                    }
                }
                // The bare result of a worked expression
                // (`0.02 * 60 = 1.2`, `10 Hz × 3 s = 30`).
                if q.unit.is_none()
                    && !q.phrase.percent
                    && near(q.phrase.value * f.factor)
                    && result_of_expression(toks, i)
                {
                    return Some((f.ex, i, q.end, "calculation"));
                }
                // x = 0, y = 2 style is read by the tuple rule.
            }
            // A calculation that comes to it.
            let c = if f.custom.is_empty() {
                plain_calc
            } else {
                quantity::calc(toks, i, &f.custom)
            };
            if let Some(c) = c
                && c.ops > 0
            {
                // Bare arithmetic only counts for a plain-number answer.
                let x = if c.units {
                    (c.dim == f.dim).then_some(c.value)
                } else {
                    f.dim.is_none().then_some(c.value)
                };
                if x.is_some_and(near) {
                    return Some((f.ex, i, c.end, "calculation"));
                }
            }
        }
        None
    }

    fn tuple_at(&self, toks: &[Token], i: usize) -> Option<(usize, usize, usize, &'static str)> {
        if self.tuples.is_empty() {
            return None;
        }
        // (a, b[, c]) or a, b written as a pair.
        let mut j = i;
        // Points are written in round brackets; square ones are matrix rows.
        let open = toks[j].is_sym('(');
        if open {
            j += 1;
        }
        let mut values = Vec::new();
        let mut end = j;
        while let Some(q) = signed(toks, j) {
            values.push(q.0);
            end = q.1;
            match toks.get(end) {
                Some(t) if t.is_sym(',') || t.is_sym(';') => j = end + 1,
                _ => break,
            }
        }
        if open && toks.get(end).is_some_and(|t| t.is_sym(')')) {
            end += 1;
        }
        // A bare pair (`0, 1`) counts unless it sits in a longer list or a
        // matrix row (`[0, 1]`).
        let bare_ok = !open
            && !(i > 0 && (toks[i - 1].is_sym('[') || toks[i - 1].is_sym(',')))
            && !toks
                .get(end)
                .is_some_and(|t| t.is_sym(']') || t.is_sym(','));
        for t in &self.tuples {
            let closed = open && toks.get(end - 1).is_some_and(|c| c.is_sym(')'));
            if values.len() == t.values.len()
                && (closed || bare_ok)
                && super::check::same_numbers(&values, &t.values)
            {
                return Some((t.ex, i, end, "point"));
            }
        }
        // x = 0, y = 2
        if i >= 2 && toks[i - 1].is_sym('=') && toks[i - 2].is_word("x") {
            let (x, mut j) = signed(toks, i)?;
            while j < toks.len() && j < i + 6 && !toks[j].is_word("y") {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.is_word("y"))
                && toks
                    .get(j + 1)
                    .is_some_and(|t| t.is_sym('=') || t.is_word("is"))
                && let Some((y, end)) = signed(toks, j + 2)
            {
                for t in &self.tuples {
                    if t.values.len() == 2 && super::check::same_numbers(&[x, y], &t.values) {
                        return Some((t.ex, i, end, "coordinates"));
                    }
                }
            }
        }
        None
    }

    fn phrase_at(&self, toks: &[Token], i: usize) -> Option<(usize, usize, usize, &'static str)> {
        let t = &toks[i];
        if t.kind == Kind::Sym {
            return None;
        }
        let first = t.canonical();
        for p in &self.phrases {
            if !p.squeezed.starts_with(&first) {
                continue;
            }
            // Concatenate whole tokens (skipping punctuation) up to the form's
            // length: spaced letters, split words and hyphens all join.
            let mut acc = String::new();
            let mut j = i;
            while j < toks.len() && acc.len() < p.squeezed.len() {
                let t = &toks[j];
                if t.is_boundary() {
                    break;
                }
                if t.kind != Kind::Sym || t.text == "π" || t.text == "°" || t.text == "%" {
                    acc.push_str(&t.canonical());
                }
                j += 1;
            }
            if acc != p.squeezed {
                continue;
            }
            if !p.needs_verdict || verdict_around(toks, i, j) {
                return Some((
                    p.ex,
                    i,
                    j,
                    if p.needs_verdict {
                        "verdict"
                    } else {
                        "accepted form"
                    },
                ));
            }
        }
        None
    }
}

/// A sign and a plain number (no decimal comma merging), for points.
fn signed(toks: &[Token], j: usize) -> Option<(f64, usize)> {
    let t = toks.get(j)?;
    if (t.is_sym('-') || t.is_sym('−'))
        && toks
            .get(j + 1)
            .is_some_and(|n| n.kind == Kind::Num && !n.gap)
    {
        return Some((-toks[j + 1].value, j + 2));
    }
    if t.kind == Kind::Num {
        return Some((t.value, j + 1));
    }
    let p = number::at(toks, j).filter(|p| p.words)?;
    Some((p.value, p.end))
}

/// The squeezed text of the `n` tokens before `end` (words and numbers).
fn squeezed_back(toks: &[Token], end: usize, n: usize) -> String {
    let start = end.saturating_sub(n);
    toks[start..end]
        .iter()
        .filter(|t| t.kind != Kind::Sym)
        .map(Token::canonical)
        .collect()
}

/// Whether `i` follows `=` (or `≈`) at the end of an arithmetic expression
/// in the same sentence: a number or a unit right before the sign, and an
/// operator before that.
fn result_of_expression(toks: &[Token], i: usize) -> bool {
    if i < 2 || !(toks[i - 1].is_sym('=') || toks[i - 1].is_sym('~')) {
        return false;
    }
    let before = &toks[i - 2];
    let operand = before.kind == Kind::Num
        || before.is_sym(')')
        || (before.kind == Kind::Word && i >= 3 && toks[i - 3].kind == Kind::Num);
    operand
        && toks[i.saturating_sub(LEFT + 2)..i - 1]
            .iter()
            .rev()
            .take_while(|t| !t.is_boundary() && !t.is_sym('='))
            .any(|t| {
                ["×", "*", "/", "+", "-", "−", "·"]
                    .iter()
                    .any(|o| t.text == *o && t.kind == Kind::Sym)
            })
}

fn approx_before(toks: &[Token], i: usize) -> bool {
    toks[i.saturating_sub(3)..i]
        .iter()
        .any(|t| t.is_sym('~') || (t.kind == Kind::Word && APPROX.contains(&t.text.as_str())))
}

/// Verbs that name a result with nothing between them and the value
/// (`you get 6`, `that gives 4.8`).
const DIRECT: &[&str] = &[
    "get",
    "gives",
    "giving",
    "equals",
    "outputs",
    "yougot",
    "youget",
    "comesto",
    "comesoutto",
    "worksoutto",
    "itcomesto",
    "youdget",
    "youllget",
    "youshouldget",
    "takes",
    "lasts",
    "landon",
    "landson",
    "endupwith",
    "endupat",
    "endsupat",
    "arriveat",
    "arrivesat",
    "getto",
];

/// Whether a name of the result (or a generic one) ends right before `i`,
/// with only filler words between, in the same sentence.
fn named_before(toks: &[Token], i: usize, names: &[String]) -> bool {
    let lo = i.saturating_sub(LEFT);
    let mut j = i;
    let mut skipped = 0;
    while j > lo && skipped <= 5 {
        let t = &toks[j - 1];
        let filler = t.is_sym('=')
            || t.is_sym(':')
            || t.is_sym('~')
            || t.is_sym('\'')
            || t.is_sym('*')
            || (t.kind == Kind::Word && FILLER.contains(&t.text.as_str()));
        if !filler {
            break;
        }
        j -= 1;
        skipped += 1;
    }
    for n in 1..=4 {
        if j < n || j - n < lo {
            break;
        }
        if toks[j - n..j].iter().any(Token::is_boundary) {
            break;
        }
        let s = squeezed_back(toks, j, n);
        if s.is_empty() {
            continue;
        }
        if skipped == 0 {
            if DIRECT.contains(&s.as_str()) {
                return true;
            }
            continue;
        }
        if names.iter().any(|x| x == &s) || GENERIC_NAMES.contains(&s.as_str()) {
            return true;
        }
    }
    false
}

/// Whether the option at `[i, j)` is delivered as a verdict.
fn verdict_around(toks: &[Token], i: usize, j: usize) -> bool {
    // Skip a few words between the lead-in and the option ("it's the
    // integral term", "use an action").
    let lo = i.saturating_sub(LEFT);
    let mut k = i;
    let mut skipped = 0;
    loop {
        for n in 1..=5 {
            if k < n || k - n < lo {
                break;
            }
            if toks[k - n..k].iter().any(Token::is_boundary) {
                break;
            }
            let s = squeezed_back(toks, k, n);
            if STRONG_BEFORE.contains(&s.as_str()) {
                return true;
            }
            if WEAK_BEFORE.contains(&s.as_str()) && verdict_closure(toks, j) {
                return true;
            }
        }
        if k == lo || skipped >= 2 {
            break;
        }
        let t = &toks[k - 1];
        let skippable = matches!(
            t.text.as_str(),
            "a" | "an"
                | "the"
                | "its"
                | "your"
                | "with"
                | "for"
                | "to"
                | "raising"
                | "more"
                | "higher"
        ) || t.is_sym('*')
            || t.is_sym('"')
            || t.is_sym('\'')
            || t.is_sym(':');
        if !skippable || t.is_boundary() {
            break;
        }
        k -= 1;
        skipped += 1;
    }
    // "Accuracy." or "Static, because …" opening a sentence.
    let opens = i == 0
        || toks[..i]
            .iter()
            .rev()
            .take_while(|t| !t.is_boundary())
            .all(|t| t.kind == Kind::Sym);
    let closes = match toks.get(j) {
        None => true,
        Some(t) if t.is_boundary() || t.is_sym('!') => true,
        Some(t) if t.is_sym(',') || t.is_sym('-') => toks
            .get(j + 1)
            .is_some_and(|n| n.is_word("because") || n.is_word("since") || n.is_word("as")),
        _ => false,
    };
    if opens && closes {
        return true;
    }
    // After the option: "… is correct", "… is the answer".
    let mut m = j;
    for _ in 0..2 {
        for n in 1..=5 {
            if m + n > toks.len() {
                break;
            }
            if toks[m..m + n].iter().any(Token::is_boundary) {
                break;
            }
            let s: String = toks[m..m + n]
                .iter()
                .filter(|t| t.kind != Kind::Sym)
                .map(Token::canonical)
                .collect();
            if AFTER.contains(&s.as_str()) {
                return true;
            }
        }
        if toks.get(m).is_some_and(|t| {
            t.is_word("here") || t.is_word("definitely") || t.is_word("qos") || t.is_sym('*')
        }) {
            m += 1;
        } else {
            break;
        }
    }
    false
}

/// Checks a reply as it streams. See the module documentation.
pub struct Guard {
    forms: Forms,
    raw: String,
    toks: Vec<Token>,
    /// Tokens before this index are complete.
    complete: usize,
    /// Bytes from here on are lexed again when text arrives.
    lex_from: usize,
    /// The next token to decide.
    next: usize,
    /// A number phrase covers tokens up to here (its inner tokens start nothing).
    phrase_until: usize,
    finished: bool,
    hit: Option<Hit>,
}

impl Guard {
    pub fn new(exercises: &[&Exercise]) -> Guard {
        Guard::with_forms(Forms::new(exercises))
    }

    pub fn with_forms(forms: Forms) -> Guard {
        Guard {
            forms,
            raw: String::new(),
            toks: Vec::new(),
            complete: 0,
            lex_from: 0,
            next: 0,
            phrase_until: 0,
            finished: false,
            hit: None,
        }
    }

    /// The whole text, checked at once.
    pub fn check(exercises: &[&Exercise], text: &str) -> Option<Hit> {
        let mut g = Guard::new(exercises);
        g.push(text);
        g.finish().cloned()
    }

    pub fn text(&self) -> &str {
        &self.raw
    }

    pub fn hit(&self) -> Option<&Hit> {
        self.hit.as_ref()
    }

    /// Adds a piece of the draft; the first match, once found.
    pub fn push(&mut self, piece: &str) -> Option<&Hit> {
        if self.hit.is_some() || self.finished {
            return self.hit.as_ref();
        }
        self.raw.push_str(piece);
        // Complete up to just after the last whitespace: lexing never joins
        // across whitespace, so what lies before it is final.
        let tail = &self.raw[self.lex_from..];
        let cut = tail
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, c)| self.lex_from + i + c.len_utf8());
        self.relex();
        if let Some(cut) = cut {
            // Tokens are in order: a binary search keeps a long reply linear.
            self.complete = self.toks.partition_point(|t| t.end <= cut);
            self.lex_from = cut;
        }
        self.decide();
        self.hit.as_ref()
    }

    fn relex(&mut self) {
        let keep = self.toks.partition_point(|t| t.end <= self.lex_from);
        self.toks.truncate(keep);
        let gap_before = self.raw[..self.lex_from]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let mut fresh = tokens_from(&self.raw[self.lex_from..], self.lex_from);
        if let Some(first) = fresh.first_mut()
            && gap_before
        {
            first.gap = true;
        }
        self.toks.extend(fresh);
    }

    /// The stream has ended: decide the rest.
    pub fn finish(&mut self) -> Option<&Hit> {
        if !self.finished && self.hit.is_none() {
            self.relex();
            self.complete = self.toks.len();
            self.finished = true;
            self.decide();
        }
        self.hit.as_ref()
    }

    /// Swaps in a larger set of exercises (a tool call brought passages from
    /// another lesson) and checks the whole draft again.
    pub fn replace(&mut self, forms: Forms) -> Option<&Hit> {
        self.forms = forms;
        self.next = 0;
        self.phrase_until = 0;
        self.hit = None;
        self.decide();
        self.hit.as_ref()
    }

    fn decide(&mut self) {
        if self.forms.is_empty() {
            self.next = self.complete;
            return;
        }
        while self.hit.is_none() && self.next < self.complete {
            let i = self.next;
            let Some(ahead) = self
                .forms
                .ahead(&self.toks, i, self.complete, self.finished)
            else {
                break;
            };
            // Decide only once every token a match could need is complete,
            // and read exactly those: the same view whatever the chunking.
            let limit = i + ahead + 1;
            if limit > self.complete && !self.finished {
                break;
            }
            let view = &self.toks[..limit.min(self.complete)];
            let phrase_start = i >= self.phrase_until
                && match number::at(view, i) {
                    Some(p) => {
                        self.phrase_until = p.end;
                        true
                    }
                    None => false,
                };
            if let Some((ex, s, e, rule)) = self.forms.at(view, i, phrase_start) {
                self.hit = Some(Hit {
                    exercise: self.forms.ids[ex].clone(),
                    start: view[s].start,
                    end: view[e.max(s + 1) - 1].end,
                    rule,
                });
                break;
            }
            self.next += 1;
        }
    }

    /// How many bytes of the draft may be shown now: everything before the
    /// first token not yet decided (and never a token still being written).
    pub fn safe_len(&self) -> usize {
        if let Some(h) = &self.hit {
            return h.start.min(self.decided_len());
        }
        self.decided_len()
    }

    fn decided_len(&self) -> usize {
        if self.forms.is_empty() {
            return self.raw.len();
        }
        match self.toks.get(self.next) {
            Some(t) => t.start,
            None if self.finished => self.raw.len(),
            // Everything lexed is decided; the text after it is whitespace.
            None => self.lex_from.min(self.raw.len()),
        }
    }
}

/// Which exercise an attempt in a message is for, and what was given: the
/// first quantity (or option) of an exercise's kind after words like "I got"
/// or "is it".
pub fn attempt_in<'a>(
    message: &str,
    exercises: &'a [&'a Exercise],
) -> Option<(&'a Exercise, String)> {
    let toks = tokens(message);
    let cue = toks.iter().enumerate().any(|(i, t)| {
        matches!(
            t.text.as_str(),
            "got"
                | "get"
                | "getting"
                | "answer"
                | "think"
                | "calculated"
                | "computed"
                | "result"
                | "guess"
                | "chose"
                | "picked"
                | "reckon"
                | "say"
                | "came"
                | "worked"
                | "obtained"
        ) || t.is_sym('=')
            || (t.is_word("is") && toks.get(i + 1).is_some_and(|n| n.is_word("it")))
            || (t.is_word("it")
                && toks
                    .get(i + 1)
                    .is_some_and(|n| n.is_word("s") || n.is_sym('\'')))
    });
    if !cue {
        return None;
    }
    for e in exercises {
        match &e.spec {
            Spec::Numeric(n) => {
                let custom = n.custom_units().unwrap_or_default();
                let Ok(main) = n.main_unit() else { continue };
                let mut i = 0;
                while i < toks.len() {
                    if let Some(q) = quantity::at(&toks, i, &custom) {
                        let fits = match q.unit {
                            Some(u) => u.dim == main.dim,
                            None => main.dim.is_none() || q.phrase.percent,
                        };
                        if fits {
                            return Some((
                                e,
                                message[toks[i].start..toks[q.end - 1].end].to_string(),
                            ));
                        }
                        i = q.end.max(i + 1);
                    } else {
                        i += 1;
                    }
                }
            }
            Spec::Choice(c) => {
                let mut named: Vec<&str> = Vec::new();
                for o in &c.options {
                    for form in std::iter::once(&o.text).chain(&o.forms) {
                        let f = Forms {
                            ids: vec![o.id.clone()],
                            phrases: vec![PhraseForm {
                                ex: 0,
                                squeezed: squeeze(&tokens(form)),
                                needs_verdict: false,
                            }],
                            ..Default::default()
                        };
                        if (0..toks.len()).any(|i| f.phrase_at(&toks, i).is_some())
                            && !named.contains(&o.id.as_str())
                        {
                            named.push(&o.id);
                        }
                    }
                }
                if named.len() == 1 {
                    return Some((e, named[0].to_string()));
                }
            }
            Spec::Text(t) => {
                for form in &t.accepted {
                    let ft = tokens(form);
                    if is_tuple(&ft) {
                        // A point: the first bracketed pair in the message.
                        if let Some(open) = toks.iter().position(|t| t.is_sym('('))
                            && let Some(close) = toks[open..].iter().position(|t| t.is_sym(')'))
                        {
                            let inner = &toks[open..open + close + 1];
                            if numbers(inner).len() == numbers(&ft).len() {
                                return Some((
                                    e,
                                    message[inner[0].start..inner[inner.len() - 1].end].to_string(),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    None
}

/// Convenience for tests and the retrieval-only mode: the quantities of a
/// text (value in base units, dimension).
pub fn quantities(text: &str) -> Vec<(f64, Dim)> {
    let toks = tokens(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some(Quantity {
            phrase,
            unit: Some(u),
            end,
        }) = quantity::at(&toks, i, &[])
        {
            out.push((phrase.value * u.factor, u.dim));
            i = end;
        } else {
            i += 1;
        }
    }
    out
}
