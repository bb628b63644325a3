//! Rules on characters that hold for every text field of every role, and
//! how free text is compared.

use serde_json::Value;

/// NUL and the other control characters (C0, DEL, C1) — except tab and line
/// breaks, which multi-line text (lessons, chat messages) needs.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether free text holds a character no field accepts.
pub fn has_forbidden_control(text: &str) -> bool {
    text.chars().any(is_forbidden_control)
}

/// Whether a single-line field (a name, an email, a title, an id) holds any
/// control character at all, tab and line breaks included.
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Whether any key or string anywhere in a JSON document holds a forbidden
/// control character.
pub fn json_has_forbidden_control(value: &Value) -> bool {
    match value {
        Value::String(s) => has_forbidden_control(s),
        Value::Array(items) => items.iter().any(json_has_forbidden_control),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| has_forbidden_control(k) || json_has_forbidden_control(v)),
        _ => false,
    }
}

/// Lower case, each run of other characters than letters and digits one
/// space, none at the ends: how two texts are compared whatever their case,
/// punctuation or line breaks.
pub fn squash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_are_found_anywhere_in_json() {
        assert!(json_has_forbidden_control(
            &serde_json::json!({"a": ["x", {"b": "nul\u{0}"}]})
        ));
        assert!(json_has_forbidden_control(
            &serde_json::json!({"key\u{1b}": 1})
        ));
        assert!(json_has_forbidden_control(&serde_json::json!("c1 \u{85}")));
        assert!(!json_has_forbidden_control(
            &serde_json::json!({"body": "line one\n\tline two\r\n"})
        ));
        assert!(has_control("tab\there"));
        assert!(!has_control("plain"));
    }
}
