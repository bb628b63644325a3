//! Text folded for comparison and split into tokens. Folding removes what a
//! reader does not see or does not care about: case, accents, invisible
//! characters, Unicode look-alikes of Latin letters, full-width forms and
//! the many dashes and multiplication signs. Every token keeps the byte range
//! of the raw text it came from, so a match can be located in what was shown.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Letters, possibly followed by digits (`ros2`, `θ2`).
    Word,
    /// Digits with an optional decimal part and exponent.
    Num,
    /// One character of punctuation or a symbol (`°`, `π`, `/`, `×`, `.`).
    Sym,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    /// Folded text: lower-case letters, or the number's digits as written.
    pub text: String,
    /// A number's value (0 for other tokens).
    pub value: f64,
    /// Byte range in the raw text.
    pub start: usize,
    pub end: usize,
    /// Whitespace came right before this token.
    pub gap: bool,
}

impl Token {
    pub fn is_word(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text == w
    }
    pub fn is_sym(&self, c: char) -> bool {
        self.kind == Kind::Sym && self.text.starts_with(c) && self.text.chars().count() == 1
    }
    /// The number as compared across tokens: its value, shortest form.
    pub fn canonical(&self) -> String {
        match self.kind {
            Kind::Num => canonical_number(self.value),
            _ => self.text.clone(),
        }
    }
    /// Sentence ends and line breaks bound every rule's window.
    pub fn is_boundary(&self) -> bool {
        self.kind == Kind::Sym && matches!(self.text.as_str(), "." | "!" | "?" | ";" | "\n")
    }
}

pub fn canonical_number(v: f64) -> String {
    // Round away binary noise (0.1 + 0.2) before printing.
    let r = (v * 1e9).round() / 1e9;
    let s = format!("{r}");
    if s == "-0" { "0".into() } else { s }
}

/// Folded characters with the raw byte range each came from.
pub(crate) struct Folded {
    pub chars: Vec<(char, usize, usize)>,
}

const SUPERSCRIPTS: &str = "⁰¹²³⁴⁵⁶⁷⁸⁹";

fn superscript_digit(c: char) -> Option<char> {
    SUPERSCRIPTS
        .chars()
        .position(|s| s == c)
        .and_then(|i| char::from_digit(i as u32, 10))
}

/// Characters mapped before compatibility decomposition (which would turn
/// `º` into `o` and `½` into `1⁄2`).
fn explicit(c: char) -> Option<char> {
    Some(match c {
        '°' | 'º' | '˚' => '°',
        '−' | '﹣' | '－' => '−',
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '⁃' => '-',
        '×' | '✕' | '✖' | '⨯' | '·' | '⋅' | '∙' | '•' => '×',
        '÷' | '⁄' | '∕' => '/',
        '≈' | '≃' | '∼' | '〜' | '≅' => '~',
        '±' | '∓' => '±',
        'π' | 'ϖ' | 'Π' | '𝜋' | '𝝅' => 'π',
        'µ' | 'μ' => 'μ',
        '‘' | '’' | '‛' | '′' | '`' | 'ʼ' => '\'',
        '“' | '”' | '„' | '″' => '"',
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
        _ => return None,
    })
}

fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// Letters of other scripts that look like Latin ones (upper case already
/// lowered). Greek letters used in formulas (θ, π, ω, μ, …) are kept.
fn lookalike(c: char) -> char {
    match c {
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' | 'є' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' | 'һ' => 'h',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'с' | 'ϲ' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' | 'χ' => 'x',
        'ѕ' => 's',
        'і' | 'ї' | 'ι' | 'ӏ' => 'i',
        'ј' => 'j',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' | 'ѡ' => 'w',
        'ν' => 'v',
        'υ' => 'u',
        'κ' => 'k',
        'α' => 'a',
        'ɡ' => 'g',
        'ı' => 'i',
        'ℓ' => 'l',
        _ => c,
    }
}

/// Upper-case Greek letters identical to Latin ones; lowered to Latin.
fn greek_capital(c: char) -> Option<char> {
    Some(match c {
        'Α' => 'a',
        'Β' => 'b',
        'Ε' => 'e',
        'Ζ' => 'z',
        'Η' => 'h',
        'Ι' => 'i',
        'Κ' => 'k',
        'Μ' => 'm',
        'Ν' => 'n',
        'Ο' => 'o',
        'Ρ' => 'p',
        'Τ' => 't',
        'Υ' => 'y',
        'Χ' => 'x',
        _ => return None,
    })
}

pub(crate) fn fold(raw: &str, base: usize) -> Folded {
    let mut chars = Vec::with_capacity(raw.len());
    for (i, c) in raw.char_indices() {
        let (s, e) = (base + i, base + i + c.len_utf8());
        if invisible(c) {
            continue;
        }
        if superscript_digit(c).is_some() || c == '⁻' {
            chars.push((c, s, e));
            continue;
        }
        if let Some(m) = explicit(c) {
            chars.push((m, s, e));
            continue;
        }
        if let Some(m) = greek_capital(c) {
            chars.push((m, s, e));
            continue;
        }
        if c.is_ascii() {
            chars.push((c.to_ascii_lowercase(), s, e));
            continue;
        }
        for d in std::iter::once(c).nfkd() {
            if is_combining_mark(d) || invisible(d) {
                continue;
            }
            let d = explicit(d).unwrap_or(d);
            for l in d.to_lowercase() {
                chars.push((lookalike(l), s, e));
            }
        }
    }
    Folded { chars }
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic() && c != 'π'
}

/// Splits raw text into tokens. Lexing restarts cleanly after whitespace,
/// so text lexed piece by piece (from a whitespace boundary) gives the same
/// tokens as the whole.
pub fn tokens(raw: &str) -> Vec<Token> {
    tokens_from(raw, 0)
}

/// Tokens of `raw`, whose first byte is at `base` of a longer text.
pub fn tokens_from(raw: &str, base: usize) -> Vec<Token> {
    let f = fold(raw, base);
    lex(&f.chars)
}

fn lex(cs: &[(char, usize, usize)]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    let mut gap = false;
    let at = |j: usize| cs.get(j).map(|x| x.0);
    while i < cs.len() {
        let c = cs[i].0;
        if c == '\n' {
            out.push(tok(Kind::Sym, "\n".into(), cs[i].1, cs[i].2, gap));
            gap = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            gap = true;
            i += 1;
            continue;
        }
        let start = cs[i].1;
        // A run of superscripts: an exponent.
        if superscript_digit(c).is_some() || c == '⁻' {
            out.push(tok(Kind::Sym, "^".into(), start, start, gap));
            if c == '⁻' {
                out.push(tok(Kind::Sym, "-".into(), cs[i].1, cs[i].2, false));
                i += 1;
            }
            let mut digits = String::new();
            let mut end = start;
            while let Some(d) = at(i).and_then(superscript_digit) {
                digits.push(d);
                end = cs[i].2;
                i += 1;
            }
            if !digits.is_empty() {
                let v = digits.parse().unwrap_or(0.0);
                out.push(Token {
                    kind: Kind::Num,
                    text: digits,
                    value: v,
                    start,
                    end,
                    gap: false,
                });
            }
            gap = false;
            continue;
        }
        let prev_digit = i > 0 && cs[i - 1].0.is_ascii_digit();
        let leading_dot = c == '.' && !prev_digit && at(i + 1).is_some_and(|d| d.is_ascii_digit());
        if c.is_ascii_digit() || leading_dot {
            let (t, next) = number(cs, i, gap);
            out.push(t);
            i = next;
            // `3x10^8`: an x right between a number and digits is a times sign.
            if at(i) == Some('x') && at(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                out.push(tok(Kind::Sym, "×".into(), cs[i].1, cs[i].2, false));
                i += 1;
            }
            gap = false;
            continue;
        }
        if is_letter(c) {
            let mut text = String::new();
            let mut end = cs[i].2;
            while let Some(d) = at(i) {
                if is_letter(d) || d.is_ascii_digit() {
                    text.push(d);
                    end = cs[i].2;
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(tok(Kind::Word, text, start, end, gap));
            gap = false;
            continue;
        }
        out.push(tok(Kind::Sym, c.to_string(), start, cs[i].2, gap));
        gap = false;
        i += 1;
    }
    out
}

fn tok(kind: Kind, text: String, start: usize, end: usize, gap: bool) -> Token {
    Token {
        kind,
        text,
        value: 0.0,
        start,
        end,
        gap,
    }
}

/// A number starting at `i`: digits, `,ddd` thousands groups, a decimal
/// part, an exponent.
fn number(cs: &[(char, usize, usize)], mut i: usize, gap: bool) -> (Token, usize) {
    let start = cs[i].1;
    let at = |j: usize| cs.get(j).map(|x| x.0);
    let digit = |j: usize| at(j).is_some_and(|d| d.is_ascii_digit());
    let mut text = String::new();
    let mut end = cs[i].2;
    while digit(i) {
        text.push(cs[i].0);
        end = cs[i].2;
        i += 1;
    }
    // 1,200 and 12,000,000: a comma and exactly three digits, unless the
    // integer part is 0 (then 0,500 is a decimal comma, read by phrases).
    while at(i) == Some(',')
        && text != "0"
        && !text.is_empty()
        && digit(i + 1)
        && digit(i + 2)
        && digit(i + 3)
        && !digit(i + 4)
        && !text.contains('.')
    {
        for k in 1..=3 {
            text.push(cs[i + k].0);
        }
        end = cs[i + 3].2;
        i += 4;
    }
    if at(i) == Some('.') && digit(i + 1) {
        text.push('.');
        i += 1;
        while digit(i) {
            text.push(cs[i].0);
            end = cs[i].2;
            i += 1;
        }
    }
    if at(i) == Some('e')
        && (digit(i + 1) || (matches!(at(i + 1), Some('-' | '+' | '−')) && digit(i + 2)))
    {
        let mut exp = String::from("e");
        let mut j = i + 1;
        if let Some(s @ ('-' | '+' | '−')) = at(j) {
            exp.push(if s == '+' { '+' } else { '-' });
            j += 1;
        }
        while digit(j) {
            exp.push(cs[j].0);
            end = cs[j].2;
            j += 1;
        }
        // `2e` followed by letters (`2em`) is not an exponent.
        if !at(j).is_some_and(is_letter) {
            text.push_str(&exp);
            i = j;
        }
    }
    let clean: String = text.chars().filter(|c| *c != ',').collect();
    let value = clean.parse::<f64>().unwrap_or(0.0);
    (
        Token {
            kind: Kind::Num,
            text,
            value,
            start,
            end,
            gap,
        },
        i,
    )
}

/// Folded text: what two strings are compared as (case, accents, look-alikes).
pub fn fold_text(raw: &str) -> String {
    fold(raw, 0).chars.into_iter().map(|(c, _, _)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|t| t.canonical()).collect()
    }

    #[test]
    fn numbers_in_their_formats() {
        assert_eq!(words("1.2 rad"), ["1.2", "rad"]);
        assert_eq!(words(".5"), ["0.5"]);
        assert_eq!(words("1.20"), ["1.2"]);
        assert_eq!(words("1,200 mrad"), ["1200", "mrad"]);
        assert_eq!(words("0,5"), ["0", ",", "5"]);
        assert_eq!(words("3e8 m/s"), ["300000000", "m", "/", "s"]);
        assert_eq!(words("2e-9"), ["0.000000002"]);
        assert_eq!(words("3x10^8"), ["3", "×", "10", "^", "8"]);
        assert_eq!(words("10⁻⁹"), ["10", "^", "-", "9"]);
        assert_eq!(words("1.2rad"), ["1.2", "rad"]);
    }

    #[test]
    fn folding_removes_what_readers_do_not_see() {
        assert_eq!(fold_text("ＫＰ ＝ ４．８"), "kp = 4.8");
        assert_eq!(fold_text("Zoë"), "zoe");
        assert_eq!(fold_text("st\u{200B}at\u{00AD}ic"), "static");
        // Cyrillic а, е, о and Greek capital Ο.
        assert_eq!(
            fold_text("\u{0430}ccur\u{0430}cy \u{039F}k \u{0455}t\u{0430}tic"),
            "accuracy ok static"
        );
        assert_eq!(fold_text("½"), "1/2");
        assert_eq!(fold_text("69º"), "69°");
        assert_eq!(fold_text("θ₂"), "θ2");
        assert_eq!(fold_text("10 − 7"), "10 − 7");
    }

    #[test]
    fn tokens_know_where_they_came_from() {
        let raw = "Kp = 4.8 (é)";
        let t = tokens(raw);
        assert_eq!(&raw[t[2].start..t[2].end], "4.8");
        assert!(t[2].gap);
        assert_eq!(t[4].text, "e");
        assert_eq!(&raw[t[4].start..t[4].end], "é");
    }
}
