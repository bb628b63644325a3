//! Units and their quantities. A unit is a dimension (powers of length,
//! time, angle, pixels and counts) and a factor to the base unit of that
//! dimension (m, s, rad, px, 1), so values convert within a quantity and
//! never across quantities. Compound units (`rad/s`, `m per second`, `m/s²`)
//! are built from the simple ones.

use super::lex::{Kind, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Dim {
    pub length: i8,
    pub time: i8,
    pub angle: i8,
    pub pixel: i8,
    pub count: i8,
    pub mass: i8,
}

impl Dim {
    pub const NONE: Dim = Dim {
        length: 0,
        time: 0,
        angle: 0,
        pixel: 0,
        count: 0,
        mass: 0,
    };
    const fn of(length: i8, time: i8, angle: i8, pixel: i8, count: i8) -> Dim {
        Dim {
            length,
            time,
            angle,
            pixel,
            count,
            mass: 0,
        }
    }
    const fn with_mass(self, mass: i8) -> Dim {
        Dim { mass, ..self }
    }
    pub fn is_none(&self) -> bool {
        *self == Dim::NONE
    }
    pub fn times(self, o: Dim) -> Dim {
        Dim::of(
            self.length + o.length,
            self.time + o.time,
            self.angle + o.angle,
            self.pixel + o.pixel,
            self.count + o.count,
        )
        .with_mass(self.mass + o.mass)
    }
    pub fn pow(self, p: i8) -> Dim {
        Dim::of(
            self.length * p,
            self.time * p,
            self.angle * p,
            self.pixel * p,
            self.count * p,
        )
        .with_mass(self.mass * p)
    }
    /// A name for error messages: "an angle", "a length".
    pub fn describe(&self) -> &'static str {
        if self.mass != 0 {
            return match (self.mass, self.length, self.time) {
                (1, 0, 0) => "a mass",
                (1, 1, -2) => "a force",
                (1, 2, -2) => "a torque or an energy",
                _ => "another quantity",
            };
        }
        match (self.length, self.time, self.angle, self.pixel, self.count) {
            (0, 0, 0, 0, 0) => "a plain number",
            (1, 0, 0, 0, 0) => "a length",
            (0, 1, 0, 0, 0) => "a time",
            (0, 0, 1, 0, 0) => "an angle",
            (0, 0, 0, 1, 0) => "a number of pixels",
            (0, 0, 0, 0, 1) => "a count",
            (0, -1, 0, 0, 0) => "a frequency",
            (1, -1, 0, 0, 0) => "a speed",
            (0, -1, 1, 0, 0) => "an angular speed",
            (1, -2, 0, 0, 0) => "an acceleration",
            (0, -2, 1, 0, 0) => "an angular acceleration",
            _ => "another quantity",
        }
    }
}

const L: Dim = Dim::of(1, 0, 0, 0, 0);
const T: Dim = Dim::of(0, 1, 0, 0, 0);
const A: Dim = Dim::of(0, 0, 1, 0, 0);
const PX: Dim = Dim::of(0, 0, 0, 1, 0);
const N: Dim = Dim::of(0, 0, 0, 0, 1);
const HZ: Dim = Dim::of(0, -1, 0, 0, 0);
const SPEED: Dim = Dim::of(1, -1, 0, 0, 0);
const KG: Dim = Dim::NONE.with_mass(1);
const NEWTON: Dim = Dim::of(1, -2, 0, 0, 0).with_mass(1);
const DEG: f64 = std::f64::consts::PI / 180.0;

/// A unit: its quantity and how many base units one of it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub dim: Dim,
    pub factor: f64,
}

/// Simple units by every name they go by (folded: lower case, no accents),
/// singular and plural, in English and a few other languages.
const UNITS: &[(&[&str], Dim, f64)] = &[
    (
        &[
            "rad",
            "rads",
            "radian",
            "radians",
            "radianes",
            "radiant",
            "radiants",
            "radianten",
        ],
        A,
        1.0,
    ),
    (
        &["mrad", "milliradian", "milliradians", "milliradianes"],
        A,
        1e-3,
    ),
    (
        &[
            "deg", "degs", "degree", "degrees", "°", "grados", "grado", "degre", "degres", "grad",
        ],
        A,
        DEG,
    ),
    (
        &[
            "turn",
            "turns",
            "rev",
            "revs",
            "revolution",
            "revolutions",
            "vueltas",
            "tours",
        ],
        A,
        std::f64::consts::TAU,
    ),
    (
        &[
            "m", "meter", "meters", "metre", "metres", "metro", "metros", "mètre",
        ],
        L,
        1.0,
    ),
    (
        &[
            "cm",
            "centimeter",
            "centimeters",
            "centimetre",
            "centimetres",
            "centimetros",
        ],
        L,
        1e-2,
    ),
    (
        &[
            "mm",
            "millimeter",
            "millimeters",
            "millimetre",
            "millimetres",
            "milimetros",
        ],
        L,
        1e-3,
    ),
    (
        &[
            "km",
            "kilometer",
            "kilometers",
            "kilometre",
            "kilometres",
            "kilometros",
        ],
        L,
        1e3,
    ),
    (
        &["μm", "um", "micrometer", "micrometers", "micron", "microns"],
        L,
        1e-6,
    ),
    (&["nm", "nanometer", "nanometers"], L, 1e-9),
    (&["ft", "foot", "feet"], L, 0.3048),
    (&["inch", "inches", "pulgadas"], L, 0.0254),
    (&["yd", "yard", "yards"], L, 0.9144),
    (&["mi", "mile", "miles"], L, 1609.344),
    (
        &[
            "s", "sec", "secs", "second", "seconds", "segundo", "segundos", "seconde", "secondes",
            "sekunde", "sekunden",
        ],
        T,
        1.0,
    ),
    (
        &[
            "ms",
            "msec",
            "millisecond",
            "milliseconds",
            "milisegundos",
            "millisekunden",
        ],
        T,
        1e-3,
    ),
    (&["μs", "us", "microsecond", "microseconds"], T, 1e-6),
    (
        &["ns", "nanosecond", "nanoseconds", "nanosegundos"],
        T,
        1e-9,
    ),
    (
        &[
            "min", "mins", "minute", "minutes", "minuto", "minutos", "minuten",
        ],
        T,
        60.0,
    ),
    (
        &[
            "h", "hr", "hrs", "hour", "hours", "hora", "horas", "heure", "heures", "stunde",
            "stunden",
        ],
        T,
        3600.0,
    ),
    (&["hz", "hertz"], HZ, 1.0),
    (&["khz", "kilohertz"], HZ, 1e3),
    (&["mhz", "megahertz"], HZ, 1e6),
    (
        &["rpm"],
        Dim::of(0, -1, 1, 0, 0),
        std::f64::consts::TAU / 60.0,
    ),
    (&["mph"], SPEED, 0.44704),
    (&["kph", "kmh"], SPEED, 1.0 / 3.6),
    (
        &["kg", "kilogram", "kilograms", "kilo", "kilos", "kilogramos"],
        KG,
        1.0,
    ),
    (&["g", "gram", "grams", "gramos"], KG, 1e-3),
    (&["lb", "lbs", "pound", "pounds"], KG, 0.453_592_37),
    (&["n", "newton", "newtons"], NEWTON, 1.0),
    (&["kn", "kilonewton", "kilonewtons"], NEWTON, 1e3),
    (
        &[
            "px", "pixel", "pixels", "pixeles", "pixel", "pixels", "pixeln",
        ],
        PX,
        1.0,
    ),
    (
        &[
            "count",
            "counts",
            "tick",
            "ticks",
            "message",
            "messages",
            "msg",
            "msgs",
            "mensajes",
            "mensaje",
            "nachrichten",
            "pulse",
            "pulses",
            "sample",
            "samples",
            "reading",
            "readings",
            "frame",
            "frames",
            "scan",
            "scans",
            "item",
            "items",
        ],
        N,
        1.0,
    ),
];

/// A simple unit by name; `None` for words that are not units.
pub fn simple(name: &str) -> Option<Unit> {
    UNITS
        .iter()
        .find(|(names, _, _)| names.contains(&name))
        .map(|(_, dim, factor)| Unit {
            dim: *dim,
            factor: *factor,
        })
}

/// Extra names an exercise defines (`step = 1 m`), checked first.
pub type Custom = [(String, Unit)];

fn lookup(name: &str, custom: &Custom) -> Option<Unit> {
    custom
        .iter()
        .find(|(n, _)| n == name || format!("{n}s") == name)
        .map(|(_, u)| *u)
        .or_else(|| simple(name))
}

/// Tokens that may sit between a number and its unit: spaces are not
/// tokens; Markdown emphasis, code marks and table cell walls are.
pub fn is_padding(t: &Token) -> bool {
    t.kind == Kind::Sym && matches!(t.text.as_str(), "|" | "*" | "_" | "'" | "\"")
}

/// One simple unit at `i`: a unit word, or `°`. `in` counts as inches only
/// written tight against the number (`3in`), since "in" is also a word.
fn one(toks: &[Token], i: usize, custom: &Custom, first: bool) -> Option<(Unit, usize)> {
    let t = toks.get(i)?;
    match t.kind {
        Kind::Word => {
            if t.text == "in" {
                return (first && !t.gap).then_some((
                    Unit {
                        dim: L,
                        factor: 0.0254,
                    },
                    i + 1,
                ));
            }
            lookup(&t.text, custom).map(|u| (u, i + 1)).or_else(|| {
                // `s2` and `m2` as NFKC writes `s²`: a unit and a power.
                let digits = t.text.trim_start_matches(|c: char| !c.is_ascii_digit());
                let stem = &t.text[..t.text.len() - digits.len()];
                let p: i8 = digits.parse().ok()?;
                let u = lookup(stem, custom)?;
                Some((
                    Unit {
                        dim: u.dim.pow(p),
                        factor: u.factor.powi(p as i32),
                    },
                    i + 1,
                ))
            })
        }
        Kind::Sym if t.text == "°" => {
            // °C and °F are temperatures, not angles.
            if toks
                .get(i + 1)
                .is_some_and(|n| !n.gap && (n.is_word("c") || n.is_word("f")))
            {
                return None;
            }
            Some((
                Unit {
                    dim: A,
                    factor: DEG,
                },
                i + 1,
            ))
        }
        _ => None,
    }
}

/// A unit spelled out in single letters (`r a d`), longest name first.
fn spelled(toks: &[Token], i: usize, custom: &Custom) -> Option<(Unit, usize)> {
    let mut letters = String::new();
    let mut j = i;
    while let Some(t) = toks.get(j) {
        if t.kind == Kind::Word && t.text.chars().count() == 1 && j - i < 16 {
            letters.push_str(&t.text);
            j += 1;
        } else {
            break;
        }
    }
    if j - i < 2 {
        return None;
    }
    for end in (i + 2..=j).rev() {
        let name: String = toks[i..end].iter().map(|t| t.text.as_str()).collect();
        if let Some(u) = lookup(&name, custom) {
            return Some((u, end));
        }
    }
    None
}

fn power(toks: &[Token], i: usize) -> Option<(i8, usize)> {
    if toks.get(i)?.is_sym('^') {
        let (neg, j) = if toks
            .get(i + 1)
            .is_some_and(|t| t.is_sym('-') || t.is_sym('−'))
        {
            (true, i + 2)
        } else {
            (false, i + 1)
        };
        let n = toks.get(j).filter(|t| t.kind == Kind::Num)?;
        let p = n.value as i8;
        return Some((if neg { -p } else { p }, j + 1));
    }
    if toks.get(i).is_some_and(|t| t.is_word("squared")) {
        return Some((2, i + 1));
    }
    None
}

/// The unit written at `i` (after any padding), with the index after it.
/// `rad/s`, `rad per second`, `m/s^2`, `m/s²` and `meters per second
/// squared` are all understood.
pub fn parse(toks: &[Token], mut i: usize, custom: &Custom) -> Option<(Unit, usize)> {
    while toks.get(i).is_some_and(is_padding) {
        i += 1;
    }
    let (mut unit, mut j) = one(toks, i, custom, true).or_else(|| spelled(toks, i, custom))?;
    if let Some((p, k)) = power(toks, j) {
        unit = Unit {
            dim: unit.dim.pow(p),
            factor: unit.factor.powi(p as i32),
        };
        j = k;
    }
    loop {
        let per = match toks.get(j) {
            Some(t) if t.is_sym('/') => j + 1,
            Some(t) if t.is_word("per") || t.is_word("por") || t.is_word("pro") => j + 1,
            _ => break,
        };
        let Some((mut d, mut k)) = one(toks, per, custom, false) else {
            break;
        };
        if let Some((p, m)) = power(toks, k) {
            d = Unit {
                dim: d.dim.pow(p),
                factor: d.factor.powi(p as i32),
            };
            k = m;
        }
        unit = Unit {
            dim: unit.dim.times(d.dim.pow(-1)),
            factor: unit.factor / d.factor,
        };
        j = k;
    }
    Some((unit, j))
}

/// Parses a unit written on its own (`mrad`, `step = 1 m` is handled by the
/// exercise loader), for front matter.
pub fn parse_name(text: &str) -> Option<Unit> {
    let toks = super::lex::tokens(text);
    let (u, end) = parse(&toks, 0, &[])?;
    (end == toks.len()).then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::lex::tokens;

    #[test]
    fn compound_units() {
        let u = parse_name("rad/s").unwrap();
        assert_eq!(u.dim.describe(), "an angular speed");
        let u = parse_name("meters per second squared").unwrap();
        assert_eq!(u.dim.describe(), "an acceleration");
        let u = parse_name("m/s²").unwrap();
        assert_eq!(u.dim.describe(), "an acceleration");
        assert_eq!(parse_name("km/h").unwrap().factor, 1000.0 / 3600.0);
        assert!(parse_name("bananas").is_none());
        assert_eq!(parse_name("°").unwrap().dim.describe(), "an angle");
    }

    #[test]
    fn padding_between_a_number_and_its_unit() {
        let t = tokens("| 1.2 |   | rad |");
        let (u, _) = parse(&t, 3, &[]).unwrap();
        assert_eq!(u.dim.describe(), "an angle");
    }

    #[test]
    fn in_is_a_unit_only_against_its_number() {
        let t = tokens("3in");
        assert!(parse(&t, 1, &[]).is_some());
        let t = tokens("3 in a row");
        assert!(parse(&t, 1, &[]).is_none());
    }
}
