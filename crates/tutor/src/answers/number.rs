//! Numbers as people write them: `1.2`, `.5`, `1,2` (decimal comma),
//! `3e8`, `3 × 10^8`, `6/5`, `50%`, `0.4π`, `2π/5`, `pi over 2`, and in words
//! (`one point two`, `sixty-nine`, `one half`, `twelve hundred`, `three
//! quarters`), in English and the commonest words of Spanish, French and
//! German. A phrase is read from a token index; it reports where it ends.

use std::f64::consts::PI;

use super::lex::{Kind, Token};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phrase {
    pub value: f64,
    /// Token range `[start, end)`.
    pub start: usize,
    pub end: usize,
    /// Written as a percentage (the value is already divided by 100).
    pub percent: bool,
    /// Written with words rather than digits.
    pub words: bool,
}

fn small(w: &str) -> Option<f64> {
    Some(match w {
        "zero" | "nought" | "naught" | "cero" => 0.0,
        "one" | "uno" | "una" | "un" | "une" | "eins" | "ein" | "eine" => 1.0,
        "two" | "dos" | "deux" | "zwei" => 2.0,
        "three" | "tres" | "trois" | "drei" => 3.0,
        "four" | "cuatro" | "quatre" | "vier" => 4.0,
        "five" | "cinco" | "cinq" | "funf" | "fuenf" => 5.0,
        "six" | "seis" | "sechs" => 6.0,
        "seven" | "siete" | "sept" | "sieben" => 7.0,
        "eight" | "ocho" | "huit" | "acht" => 8.0,
        "nine" | "nueve" | "neuf" | "neun" => 9.0,
        "ten" | "diez" | "dix" | "zehn" => 10.0,
        "eleven" | "onze" | "elf" => 11.0,
        "twelve" | "doce" | "douze" | "zwolf" => 12.0,
        "thirteen" | "trece" | "treize" => 13.0,
        "fourteen" | "catorce" | "quatorze" => 14.0,
        "fifteen" | "quince" | "quinze" => 15.0,
        "sixteen" | "dieciseis" | "seize" => 16.0,
        "seventeen" | "diecisiete" => 17.0,
        "eighteen" | "dieciocho" => 18.0,
        "nineteen" | "diecinueve" => 19.0,
        _ => return None,
    })
}

fn tens(w: &str) -> Option<f64> {
    Some(match w {
        "twenty" | "veinte" | "vingt" | "zwanzig" => 20.0,
        "thirty" | "treinta" | "trente" | "dreissig" => 30.0,
        "forty" | "fourty" | "cuarenta" | "quarante" | "vierzig" => 40.0,
        "fifty" | "cincuenta" | "cinquante" | "funfzig" => 50.0,
        "sixty" | "sesenta" | "soixante" | "sechzig" => 60.0,
        "seventy" | "setenta" | "siebzig" => 70.0,
        "eighty" | "ochenta" | "achtzig" => 80.0,
        "ninety" | "noventa" | "neunzig" => 90.0,
        _ => return None,
    })
}

fn scale(w: &str) -> Option<f64> {
    Some(match w {
        "hundred" | "hundreds" | "cien" | "ciento" | "cientos" | "cent" | "hundert" => 100.0,
        "thousand" | "thousands" | "mil" | "mille" | "tausend" => 1e3,
        "million" | "millions" | "millon" | "millones" | "millionen" => 1e6,
        "billion" | "billions" => 1e9,
        _ => return None,
    })
}

fn denominator(w: &str) -> Option<f64> {
    Some(match w {
        "half" | "halves" | "medio" | "demi" | "demie" | "halb" | "halbe" => 2.0,
        "third" | "thirds" | "tercio" | "tercios" | "drittel" => 3.0,
        "quarter" | "quarters" | "fourth" | "fourths" | "cuarto" | "cuartos" | "viertel" => 4.0,
        "fifth" | "fifths" => 5.0,
        "sixth" | "sixths" => 6.0,
        "seventh" | "sevenths" => 7.0,
        "eighth" | "eighths" => 8.0,
        "ninth" | "ninths" => 9.0,
        "tenth" | "tenths" | "decimo" | "dixieme" => 10.0,
        "hundredth" | "hundredths" => 100.0,
        "thousandth" | "thousandths" => 1000.0,
        _ => return None,
    })
}

fn decimal_point(w: &str) -> bool {
    matches!(w, "point" | "dot" | "coma" | "punto" | "virgule" | "komma")
}

fn joiner(w: &str) -> bool {
    matches!(w, "and" | "y" | "et" | "und")
}

fn pi_word(t: &Token) -> bool {
    t.is_sym('π') || t.is_word("pi")
}

fn percent_at(toks: &[Token], i: usize) -> Option<usize> {
    let t = toks.get(i)?;
    if t.is_sym('%') {
        return Some(i + 1);
    }
    if t.is_word("percent") || t.is_word("prozent") || t.is_word("pct") {
        return Some(i + 1);
    }
    let next = toks.get(i + 1)?;
    if (t.is_word("per") || t.is_word("por") || t.is_word("pour"))
        && (next.is_word("cent") || next.is_word("ciento"))
    {
        return Some(i + 2);
    }
    None
}

/// Whether a token can be part of a number phrase (so a phrase cannot start
/// right after one: `nine` in `sixty-nine` is not a phrase of its own).
pub fn numberish(t: &Token) -> bool {
    match t.kind {
        Kind::Num => true,
        Kind::Word => {
            small(&t.text).is_some()
                || tens(&t.text).is_some()
                || scale(&t.text).is_some()
                || denominator(&t.text).is_some()
                || decimal_point(&t.text)
                || t.text == "pi"
        }
        Kind::Sym => t.text == "π",
    }
}

fn is_sign(t: &Token) -> bool {
    t.is_sym('-') || t.is_sym('−')
}

/// A number phrase starting exactly at `i`.
pub fn at(toks: &[Token], i: usize) -> Option<Phrase> {
    let t = toks.get(i)?;
    // A minus sign written against the number, not between two numbers.
    if is_sign(t) {
        let n = toks.get(i + 1)?;
        let after_value = i > 0
            && !t.gap
            && matches!(toks[i - 1].kind, Kind::Num | Kind::Word)
            && !toks[i - 1].is_word("is");
        if n.gap || after_value || !(n.kind == Kind::Num || pi_word(n)) {
            return None;
        }
        let mut p = at(toks, i + 1)?;
        p.value = -p.value;
        p.start = i;
        return Some(p);
    }
    match t.kind {
        Kind::Num => Some(digits(toks, i)),
        Kind::Sym if t.text == "π" => Some(finish(toks, i, i + 1, PI, false)),
        Kind::Word => words(toks, i),
        Kind::Sym => None,
    }
}

fn digits(toks: &[Token], i: usize) -> Phrase {
    let t = &toks[i];
    let mut value = t.value;
    let mut j = i + 1;
    // Decimal comma: 1,2 written tight.
    if let (Some(c), Some(n)) = (toks.get(j), toks.get(j + 1))
        && c.is_sym(',')
        && !c.gap
        && !n.gap
        && n.kind == Kind::Num
        && t.text.bytes().all(|b| b.is_ascii_digit())
        && n.text.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v) = format!("{}.{}", t.text, n.text).parse::<f64>()
    {
        value = v;
        j += 2;
    }
    // 1 200 and 12 000 000: groups of three digits after a space (the SI
    // style, also with a thin or no-break space).
    if j == i + 1 && t.text.len() <= 3 && t.text.bytes().all(|b| b.is_ascii_digit()) {
        let mut whole = t.text.clone();
        while let Some(n) = toks.get(j)
            && n.kind == Kind::Num
            && n.gap
            && n.text.len() >= 3
            && n.text.bytes().take(3).all(|b| b.is_ascii_digit())
            && (n.text.len() == 3 || n.text.as_bytes()[3] == b'.')
        {
            whole.push_str(&n.text);
            j += 1;
            if n.text.len() > 3 {
                break;
            }
        }
        if j > i + 1 {
            value = whole.parse().unwrap_or(value);
        }
    }
    // Scientific: 3 × 10^8, 3 * 10**8, 3 x 10^8, and 10^8 itself.
    let times = |k: usize| {
        toks.get(k)
            .is_some_and(|x| x.is_sym('×') || x.is_sym('*') || x.is_word("x") || x.is_word("times"))
    };
    let exponent = |k: usize| -> Option<(f64, usize)> {
        let mut k = k;
        if toks.get(k)?.is_sym('^') {
            k += 1;
        } else if toks.get(k)?.is_sym('*') && toks.get(k + 1)?.is_sym('*') {
            k += 2;
        } else {
            return None;
        }
        let neg = toks.get(k).is_some_and(is_sign);
        if neg {
            k += 1;
        }
        let e = toks.get(k).filter(|x| x.kind == Kind::Num)?;
        Some((if neg { -e.value } else { e.value }, k + 1))
    };
    if times(j)
        && toks
            .get(j + 1)
            .is_some_and(|x| x.kind == Kind::Num && x.value == 10.0)
        && let Some((e, k)) = exponent(j + 2)
    {
        value *= 10f64.powf(e);
        j = k;
    } else if value == 10.0
        && j == i + 1
        && let Some((e, k)) = exponent(j)
    {
        value = 10f64.powf(e);
        j = k;
    }
    finish(toks, i, j, value, false)
}

/// π, a fraction bar and a percent sign after the number.
fn finish(toks: &[Token], start: usize, mut j: usize, mut value: f64, words: bool) -> Phrase {
    let mut pi = toks.get(start).is_some_and(pi_word);
    if !pi && toks.get(j).is_some_and(pi_word) {
        value *= PI;
        j += 1;
        pi = true;
    }
    // 6/5, 2π/5, π/2, pi over two ("over" only where π or words make it a fraction).
    let over = toks
        .get(j)
        .is_some_and(|t| t.is_sym('/') || ((words || pi) && t.is_word("over")));
    if over
        && let Some(d) = denominator_at(toks, j + 1)
        && d.0 != 0.0
    {
        value /= d.0;
        j = d.1;
    }
    let mut percent = false;
    if let Some(k) = percent_at(toks, j) {
        value /= 100.0;
        percent = true;
        j = k;
    }
    Phrase {
        value,
        start,
        end: j,
        percent,
        words,
    }
}

/// The number after a fraction bar: digits (a plain number) or words.
fn denominator_at(toks: &[Token], k: usize) -> Option<(f64, usize)> {
    let t = toks.get(k)?;
    if t.kind == Kind::Num {
        // Units follow as `/s`: only a number makes a fraction.
        return Some((t.value, k + 1));
    }
    let (v, end) = cardinal(toks, k)?;
    Some((v, end))
}

/// Whole numbers in words: `sixty-nine`, `one hundred and twenty`, `twelve
/// hundred`, `a thousand`.
fn cardinal(toks: &[Token], i: usize) -> Option<(f64, usize)> {
    let mut total = 0.0;
    let mut current = 0.0;
    let mut j = i;
    let mut any = false;
    let mut last_end = i;
    while let Some(t) = toks.get(j) {
        if t.kind != Kind::Word {
            // sixty-nine
            if any
                && t.is_sym('-')
                && !t.gap
                && toks.get(j + 1).is_some_and(|n| small(&n.text).is_some())
            {
                j += 1;
                continue;
            }
            break;
        }
        let w = t.text.as_str();
        if let Some(n) = small(w).or_else(|| tens(w)) {
            current += n;
            any = true;
            j += 1;
            last_end = j;
        } else if let Some(s) = scale(w) {
            if !any && j == i {
                break;
            }
            if s == 100.0 {
                current = current.max(1.0) * s;
            } else {
                total += current.max(1.0) * s;
                current = 0.0;
            }
            any = true;
            j += 1;
            last_end = j;
        } else if any
            && joiner(w)
            && toks
                .get(j + 1)
                .is_some_and(|n| small(&n.text).is_some() || tens(&n.text).is_some())
        {
            j += 1;
        } else {
            break;
        }
    }
    any.then_some((total + current, last_end))
}

fn digit_word(t: &Token) -> Option<char> {
    if t.kind == Kind::Num && t.text.len() == 1 {
        return t.text.chars().next();
    }
    let v = small(&t.text)?;
    (v < 10.0).then(|| char::from_digit(v as u32, 10).unwrap_or('0'))
}

fn words(toks: &[Token], i: usize) -> Option<Phrase> {
    let t = &toks[i];
    // a half, a quarter, a hundred
    if t.is_word("a") || t.is_word("an") {
        let n = toks.get(i + 1)?;
        if let Some(d) = denominator(&n.text)
            && n.kind == Kind::Word
        {
            return Some(finish(toks, i, i + 2, 1.0 / d, true));
        }
        if n.kind == Kind::Word && scale(&n.text).is_some() {
            let (v, end) = cardinal_scaled(toks, i + 1)?;
            return Some(finish(toks, i, end, v, true));
        }
        return None;
    }
    if t.is_word("half") {
        // half pi, half a metre
        return Some(finish(toks, i, i + 1, 0.5, true));
    }
    if decimal_point(&t.text) {
        // point five
        let (frac, end) = decimals(toks, i + 1)?;
        return Some(finish(toks, i, end, frac, true));
    }
    if t.text == "pi" {
        return Some(finish(toks, i, i + 1, PI, true));
    }
    let (mut value, mut j) = cardinal(toks, i)?;
    // one point two
    if toks.get(j).is_some_and(|p| decimal_point(&p.text))
        && let Some((frac, end)) = decimals(toks, j + 1)
    {
        value += frac;
        j = end;
    }
    // three quarters, one half, six fifths
    if let Some(d) = toks
        .get(j)
        .filter(|n| n.kind == Kind::Word)
        .and_then(|n| denominator(&n.text))
    {
        value /= d;
        j += 1;
    } else if toks.get(j).is_some_and(|a| joiner(&a.text))
        && toks
            .get(j + 1)
            .is_some_and(|a| a.is_word("a") || a.is_word("one"))
        && toks.get(j + 2).is_some_and(|h| h.is_word("half"))
    {
        // one and a half
        value += 0.5;
        j += 3;
    }
    Some(finish(toks, i, j, value, true))
}

fn cardinal_scaled(toks: &[Token], i: usize) -> Option<(f64, usize)> {
    // "a hundred": the article stands for one.
    let s = scale(&toks.get(i)?.text)?;
    let mut value = s;
    let mut j = i + 1;
    if let Some((rest, end)) = toks
        .get(j)
        .filter(|t| joiner(&t.text))
        .and_then(|_| cardinal(toks, j + 1))
    {
        value += rest;
        j = end;
    } else if let Some((rest, end)) = cardinal(toks, j) {
        value += rest;
        j = end;
    }
    Some((value, j))
}

/// Digits after "point", in words or figures: `six two eight`, `628`.
fn decimals(toks: &[Token], i: usize) -> Option<(f64, usize)> {
    if let Some(t) = toks.get(i)
        && t.kind == Kind::Num
        && t.text.bytes().all(|b| b.is_ascii_digit())
    {
        return format!("0.{}", t.text).parse().ok().map(|v| (v, i + 1));
    }
    let mut s = String::from("0.");
    let mut j = i;
    while let Some(d) = toks.get(j).and_then(digit_word) {
        s.push(d);
        j += 1;
    }
    (j > i).then(|| (s.parse().unwrap_or(0.0), j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::lex::tokens;

    fn value(s: &str) -> f64 {
        let t = tokens(s);
        let p = at(&t, 0).unwrap_or_else(|| panic!("no number in {s:?}"));
        assert_eq!(p.end, t.len(), "{s:?} read whole");
        p.value
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn every_way_of_writing_a_number() {
        for (s, v) in [
            ("1.2", 1.2),
            ("1,2", 1.2),
            (".5", 0.5),
            ("1.20", 1.2),
            ("6/5", 1.2),
            ("6 / 5", 1.2),
            ("50%", 0.5),
            ("50 percent", 0.5),
            ("50 per cent", 0.5),
            ("1.2e3", 1200.0),
            ("1.2 × 10^3", 1200.0),
            ("3 x 10^8", 3e8),
            ("3 * 10**8", 3e8),
            ("10⁻⁹", 1e-9),
            ("3x10^8", 3e8),
            ("-4", -4.0),
            ("0.4π", 0.4 * PI),
            ("2π/5", 2.0 * PI / 5.0),
            ("π/2", PI / 2.0),
            ("pi over 2", PI / 2.0),
            ("two pi over five", 2.0 * PI / 5.0),
            ("one half", 0.5),
            ("a half", 0.5),
            ("one point two", 1.2),
            ("zero point six two eight", 0.628),
            ("point five", 0.5),
            ("sixty-nine", 69.0),
            ("sixty nine", 69.0),
            ("twelve hundred", 1200.0),
            ("one thousand two hundred", 1200.0),
            ("one hundred and twenty", 120.0),
            ("a hundred", 100.0),
            ("three quarters", 0.75),
            ("six fifths", 1.2),
            ("one and a half", 1.5),
            ("thirty", 30.0),
            ("uno coma dos", 1.2),
            ("sesenta y nueve", 69.0),
            ("un virgule deux", 1.2),
            ("vier komma acht", 4.8),
        ] {
            assert!(close(value(s), v), "{s:?} = {} not {v}", value(s));
        }
    }

    #[test]
    fn subtraction_is_not_a_sign() {
        let t = tokens("10 − 7");
        assert_eq!(at(&t, 0).unwrap().value, 10.0);
        assert!(at(&t, 1).is_none(), "− between numbers is an operator");
        let t = tokens("x = -3");
        assert_eq!(at(&t, 2).unwrap().value, -3.0);
    }

    #[test]
    fn units_after_a_slash_are_not_fractions() {
        let t = tokens("0.02 rad/s");
        assert_eq!(at(&t, 0).unwrap().end, 1);
    }
}
