//! Trusted-origin matching, shared by CORS and the auth role's CSRF checks.
//!
//! Patterns are exact origins (`https://app.example.com`), wildcards over the
//! whole origin (`https://*.example.com`) or over the host alone
//! (`*.example.com`), or custom schemes (`myapp://`, optionally with a path
//! prefix) for native apps.

/// True when `origin` (as sent in an `Origin` header, or any absolute URL)
/// matches one of `patterns`.
pub fn is_trusted(patterns: &[String], origin: &str) -> bool {
    patterns.iter().any(|p| matches_pattern(p, origin))
}

fn matches_pattern(pattern: &str, candidate: &str) -> bool {
    let is_web = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    if is_web(candidate) {
        let Ok(url) = url::Url::parse(candidate) else {
            return false;
        };
        let origin = url.origin().ascii_serialization();
        if pattern.contains('*') || pattern.contains('?') {
            if pattern.contains("://") {
                return glob(pattern, &origin);
            }
            return url.host_str().is_some_and(|h| glob(pattern, h));
        }
        return pattern.trim_end_matches('/') == origin;
    }
    // Custom schemes: compare scheme, authority and path prefix as text.
    if is_web(pattern) || !pattern.contains("://") {
        return false;
    }
    if pattern.contains('*') || pattern.contains('?') {
        return glob(pattern, candidate);
    }
    candidate.starts_with(pattern)
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_origins_match_only_themselves() {
        let p = pats(&["https://app.example.com"]);
        assert!(is_trusted(&p, "https://app.example.com"));
        assert!(is_trusted(&p, "https://app.example.com/dashboard?x=1"));
        assert!(!is_trusted(&p, "http://app.example.com"));
        assert!(!is_trusted(&p, "https://app.example.com.evil.com"));
        assert!(!is_trusted(&p, "https://evil.com"));
        assert!(!is_trusted(&p, "null"));
    }

    #[test]
    fn wildcards_cover_subdomains() {
        let p = pats(&["*.example.com", "https://*.example.org"]);
        assert!(is_trusted(&p, "https://a.example.com"));
        assert!(is_trusted(&p, "http://b.example.com"));
        assert!(is_trusted(&p, "https://a.example.org"));
        assert!(!is_trusted(&p, "http://a.example.org"));
        assert!(!is_trusted(&p, "https://example.com.evil.net"));
    }

    #[test]
    fn custom_schemes_match_by_prefix() {
        let p = pats(&["myapp://"]);
        assert!(is_trusted(&p, "myapp://callback"));
        assert!(!is_trusted(&p, "otherapp://callback"));
    }
}
