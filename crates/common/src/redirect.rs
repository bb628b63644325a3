//! Where a `next`, `callbackURL` or `redirectTo` may send a browser: the one
//! check behind every redirect target of every role.
//!
//! Browsers are generous readers of URLs: they drop tabs and line breaks
//! anywhere, read `\` as `/`, and treat `//host` as another site. A target
//! passes only when it has none of that and, resolved the way a browser
//! resolves it (the WHATWG URL standard, which the `url` crate implements),
//! it stays where it should.

use url::Url;

/// Characters no redirect target may hold, raw: control characters
/// (tab, CR, LF and NUL among them), backslashes and whitespace.
fn has_forbidden_char(target: &str) -> bool {
    target
        .chars()
        .any(|c| c.is_control() || c == '\\' || c.is_whitespace())
}

/// Percent-encoded slashes, backslashes and control characters: harmless in a
/// Location header, dangerous the moment something decodes the target again
/// (a callback handed on to another hop).
fn has_encoded_separator(target: &str) -> bool {
    let bytes = target.as_bytes();
    bytes.windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .is_some_and(|b| b < 0x20 || b == 0x7f || b == b'/' || b == b'\\')
    })
}

/// A path on this site that every browser keeps on this site.
pub fn is_local_path(target: &str) -> bool {
    if !target.starts_with('/') || target.starts_with("//") {
        return false;
    }
    if has_forbidden_char(target) || has_encoded_separator(target) {
        return false;
    }
    let Ok(base) = Url::parse("https://site.invalid/") else {
        return false;
    };
    base.join(target)
        .is_ok_and(|resolved| resolved.origin() == base.origin())
}

/// A local path, or an absolute URL whose origin is trusted (see
/// [`crate::origins`]). Absolute URLs are held to the same character rules.
pub fn is_allowed(trusted_origins: &[String], target: &str) -> bool {
    if is_local_path(target) {
        return true;
    }
    !has_forbidden_char(target) && crate::origins::is_trusted(trusted_origins, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_stay_on_site() {
        for ok in [
            "/dashboard",
            "/learn/a/b?x=1#h",
            "/learn/caf%C3%A9",
            "/a/%20b",
        ] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/%0d%0aSet-Cookie:x",
            "/\0",
            "/%2F%2Fevil.example",
            "/%5cevil.example",
            " /dashboard",
            "https://evil.example",
            "javascript:alert(1)",
            "dashboard",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn absolute_targets_need_a_trusted_origin_and_clean_characters() {
        let trusted = vec!["https://app.example.com".to_string()];
        assert!(is_allowed(&trusted, "https://app.example.com/done"));
        assert!(is_allowed(&trusted, "/done"));
        assert!(!is_allowed(&trusted, "https://evil.example/"));
        assert!(!is_allowed(
            &trusted,
            "https://app.example.com\t.evil.example/"
        ));
        assert!(!is_allowed(&trusted, "https://app.example.com/\r\nX: y"));
        assert!(!is_allowed(
            &trusted,
            "https://app.example.com\\@evil.example"
        ));
    }
}
