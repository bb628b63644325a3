//! Quantities: a number phrase with an optional unit, ranges (`1.1–1.3 rad`,
//! `between 1 and 2 m`, `1.2 ± 0.1 rad`), and short calculations
//! (`0.02 rad/s × 60 s`, `(3e8 × 20e-9) / 2`) evaluated with their units.

use super::lex::{Kind, Token, tokens};
use super::number::{self, Phrase};
use super::units::{self, Custom, Dim, Unit};

/// A value as written, with its unit if one follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    pub phrase: Phrase,
    pub unit: Option<Unit>,
    /// Index after the unit (or the phrase).
    pub end: usize,
}

/// A number phrase at `i` and the unit after it.
pub fn at(toks: &[Token], i: usize, custom: &Custom) -> Option<Quantity> {
    let phrase = number::at(toks, i)?;
    Some(with_unit(toks, phrase, custom))
}

fn with_unit(toks: &[Token], phrase: Phrase, custom: &Custom) -> Quantity {
    if phrase.percent {
        return Quantity {
            phrase,
            unit: None,
            end: phrase.end,
        };
    }
    // "half a second", "a third of a metre"
    let mut at = phrase.end;
    if phrase.words
        && toks.get(at).is_some_and(|t| t.is_word("of"))
        && toks
            .get(at + 1)
            .is_some_and(|t| t.is_word("a") || t.is_word("an"))
    {
        at += 2;
    } else if phrase.words
        && toks
            .get(at)
            .is_some_and(|t| t.is_word("a") || t.is_word("an"))
    {
        at += 1;
    }
    if at != phrase.end
        && let Some((u, end)) = units::parse(toks, at, custom)
    {
        return Quantity {
            phrase,
            unit: Some(u),
            end,
        };
    }
    match units::parse(toks, phrase.end, custom) {
        Some((u, end)) => Quantity {
            phrase,
            unit: Some(u),
            end,
        },
        None => Quantity {
            phrase,
            unit: None,
            end: phrase.end,
        },
    }
}

/// A range read after a first quantity: `–1.3 rad`, ` to 1.3`, ` ± 0.1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub low: f64,
    pub high: f64,
    pub unit: Option<Unit>,
    pub end: usize,
}

fn plus_minus(toks: &[Token], j: usize) -> Option<usize> {
    let t = toks.get(j)?;
    if t.is_sym('±') {
        return Some(j + 1);
    }
    // +/- and +-
    if t.is_sym('+') {
        let n = toks.get(j + 1)?;
        if n.is_sym('/')
            && toks
                .get(j + 2)
                .is_some_and(|m| m.is_sym('-') || m.is_sym('−'))
        {
            return Some(j + 3);
        }
        if n.is_sym('-') || n.is_sym('−') {
            return Some(j + 2);
        }
    }
    if t.is_word("plus")
        && toks.get(j + 1).is_some_and(|o| o.is_word("or"))
        && toks.get(j + 2).is_some_and(|m| m.is_word("minus"))
    {
        return Some(j + 3);
    }
    None
}

/// Reads a range continuing the quantity `q` (which started the phrase).
pub fn range_after(toks: &[Token], q: &Quantity, custom: &Custom, between: bool) -> Option<Range> {
    let j = q.end;
    if let Some(k) = plus_minus(toks, j) {
        let d = at(toks, k, custom)?;
        let unit = d.unit.or(q.unit);
        let (c, w) = (q.phrase.value, d.phrase.value.abs());
        return Some(Range {
            low: c - w,
            high: c + w,
            unit,
            end: d.end,
        });
    }
    let t = toks.get(j)?;
    let dash = t.is_sym('-') || t.is_sym('~');
    let word = t.is_word("to") || t.is_word("bis") || (between && t.is_word("and"));
    if !(dash || word) {
        return None;
    }
    let p2 = number::at(toks, j + 1)?;
    let q2 = with_unit(toks, p2, custom);
    let unit = q2.unit.or(q.unit);
    let (a, b) = (q.phrase.value, q2.phrase.value);
    Some(Range {
        low: a.min(b),
        high: a.max(b),
        unit,
        end: q2.end,
    })
}

/// The result of a short calculation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calc {
    /// In base units of `dim`.
    pub value: f64,
    pub dim: Dim,
    /// Whether any factor had a unit.
    pub units: bool,
    pub ops: usize,
    pub end: usize,
}

fn op_at(toks: &[Token], j: usize) -> Option<(char, usize)> {
    let t = toks.get(j)?;
    if t.is_sym('×') || t.is_sym('*') || t.is_word("times") {
        return Some(('*', j + 1));
    }
    if t.is_sym('/') || t.is_sym('÷') {
        return Some(('/', j + 1));
    }
    if t.is_word("divided") && toks.get(j + 1).is_some_and(|b| b.is_word("by")) {
        return Some(('/', j + 2));
    }
    if t.is_word("x") && toks.get(j + 1).is_some_and(|n| n.kind == Kind::Num) {
        return Some(('*', j + 1));
    }
    None
}

fn add_at(toks: &[Token], j: usize) -> Option<(char, usize)> {
    let t = toks.get(j)?;
    if t.is_sym('+') && plus_minus(toks, j).is_none() {
        return Some(('+', j + 1));
    }
    // A minus between spaced numbers, or the minus sign itself.
    if t.is_sym('−') || (t.is_sym('-') && t.gap && toks.get(j + 1).is_some_and(|n| n.gap)) {
        return Some(('-', j + 1));
    }
    None
}

fn factor(toks: &[Token], i: usize, custom: &Custom, depth: usize) -> Option<Calc> {
    let t = toks.get(i)?;
    if t.is_sym('(') && depth < 4 {
        let inner = sum(toks, i + 1, custom, depth + 1)?;
        if !toks.get(inner.end)?.is_sym(')') {
            return None;
        }
        let mut c = inner;
        c.end += 1;
        // A unit may follow the bracket: (10 − 7) m.
        if let Some((u, end)) = units::parse(toks, c.end, custom) {
            c.value *= u.factor;
            c.dim = combine(c.dim, u.dim, 1);
            c.units = true;
            c.end = end;
        }
        return Some(c);
    }
    let q = at(toks, i, custom)?;
    let (factor, dim) = q
        .unit
        .map(|u| (u.factor, u.dim))
        .unwrap_or((1.0, Dim::NONE));
    Some(Calc {
        value: q.phrase.value * factor,
        dim,
        units: q.unit.is_some(),
        ops: 0,
        end: q.end,
    })
}

fn combine(a: Dim, b: Dim, sign: i8) -> Dim {
    a.times(b.pow(sign))
}

fn product(toks: &[Token], i: usize, custom: &Custom, depth: usize) -> Option<Calc> {
    let mut acc = factor(toks, i, custom, depth)?;
    while let Some((op, j)) = op_at(toks, acc.end) {
        let Some(f) = factor(toks, j, custom, depth) else {
            break;
        };
        match op {
            '*' => {
                acc.value *= f.value;
                acc.dim = combine(acc.dim, f.dim, 1);
            }
            _ => {
                if f.value == 0.0 {
                    return None;
                }
                acc.value /= f.value;
                acc.dim = combine(acc.dim, f.dim, -1);
            }
        }
        acc.units |= f.units;
        acc.ops += 1 + f.ops;
        acc.end = f.end;
    }
    Some(acc)
}

fn sum(toks: &[Token], i: usize, custom: &Custom, depth: usize) -> Option<Calc> {
    let mut acc = product(toks, i, custom, depth)?;
    while let Some((op, j)) = add_at(toks, acc.end) {
        let Some(f) = product(toks, j, custom, depth) else {
            break;
        };
        if f.dim != acc.dim {
            break;
        }
        acc.value = if op == '+' {
            acc.value + f.value
        } else {
            acc.value - f.value
        };
        acc.units |= f.units;
        acc.ops += 1 + f.ops;
        acc.end = f.end;
    }
    Some(acc)
}

/// A calculation starting at `i`: a number or an opening bracket.
pub fn calc(toks: &[Token], i: usize, custom: &Custom) -> Option<Calc> {
    sum(toks, i, custom, 0)
}

/// Reads a whole text as one value with an optional unit (an attempt, or
/// front matter). A calculation (`2*pi*0.05*2 m`) is worked out.
pub fn parse_exact(text: &str, custom: &Custom) -> Result<(f64, Option<Unit>), String> {
    let mut toks = tokens(text);
    while toks
        .last()
        .is_some_and(|t| t.is_sym('.') || units::is_padding(t))
    {
        toks.pop();
    }
    let mut i = 0;
    // "about 1.2 rad", "= 1.2", "≈ 1.2": leading words that change nothing.
    while toks.get(i).is_some_and(|t| {
        t.is_sym('=') || t.is_sym('~') || t.is_word("about") || t.is_word("approximately")
    }) {
        i += 1;
    }
    if i >= toks.len() {
        return Err("is empty: enter a number".into());
    }
    let Some(q) = at(&toks, i, custom) else {
        return Err(format!(
            "is not a number: `{}` (write it like 1.2, 6/5, 50% or 0.4π, with a unit if it has one)",
            text.trim()
        ));
    };
    if range_after(&toks, &q, custom, false).is_some() {
        return Err("is a range: give one value".into());
    }
    let c = calc(&toks, i, custom).filter(|c| c.end >= q.end);
    if let Some(c) = c.filter(|c| c.ops > 0 && c.end == toks.len()) {
        let unit = (c.units).then_some(Unit {
            dim: c.dim,
            factor: 1.0,
        });
        return Ok((c.value, unit));
    }
    if q.end == toks.len() {
        return Ok((q.phrase.value, q.unit));
    }
    let rest = &toks[q.end];
    if rest.kind == Kind::Word {
        return Err(format!(
            "has a unit this course does not know: `{}`",
            text[rest.start..].trim()
        ));
    }
    Err(format!(
        "has more than one value, or something after the number: `{}`",
        text[rest.start..].trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn calculations_keep_their_units() {
        let t = tokens("0.02 rad/s × 60 s");
        let c = calc(&t, 0, &[]).unwrap();
        assert!(close(c.value, 1.2));
        assert_eq!(c.dim.describe(), "an angle");
        let t = tokens("(3e8 × 20e-9) / 2");
        let c = calc(&t, 0, &[]).unwrap();
        assert!(close(c.value, 3.0));
        assert_eq!(c.ops, 2);
        let t = tokens("2.0 × (10 − 7)");
        assert!(close(calc(&t, 0, &[]).unwrap().value, 6.0));
    }

    #[test]
    fn exact_values_for_the_checker() {
        assert_eq!(parse_exact("1.2 rad", &[]).unwrap().0, 1.2);
        let (v, u) = parse_exact("68.75°", &[]).unwrap();
        assert!(close(v * u.unwrap().factor, 68.75f64.to_radians()));
        let (v, u) = parse_exact("2*pi*0.05*2 m", &[]).unwrap();
        assert!((v - 0.6283).abs() < 1e-3, "{v}");
        assert_eq!(u.unwrap().dim.describe(), "a length");
        assert!(parse_exact("", &[]).unwrap_err().contains("empty"));
        assert!(
            parse_exact("abc", &[])
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            parse_exact("1.2 bananas", &[])
                .unwrap_err()
                .contains("`bananas`")
        );
        assert!(
            parse_exact("1.1-1.3 rad", &[])
                .unwrap_err()
                .contains("range")
        );
    }

    #[test]
    fn ranges() {
        let t = tokens("1.2 ± 0.1 rad");
        let q = at(&t, 0, &[]).unwrap();
        let r = range_after(&t, &q, &[], false).unwrap();
        assert!(close(r.low, 1.1) && close(r.high, 1.3));
        assert!(r.unit.is_some());
        let t = tokens("between 1.1 and 1.3 rad");
        let q = at(&t, 1, &[]).unwrap();
        let r = range_after(&t, &q, &[], true).unwrap();
        assert!(close(r.high, 1.3) && r.unit.is_some());
    }
}
