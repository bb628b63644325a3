//! The dependency rules of docs/ARCHITECTURE.md, checked on the sources so
//! they hold as the code grows: domain modules import no HTTP code; no crate
//! names another crate's `store` or `http` module; only the ChatKit store
//! touches the ChatKit tables and only the auth crate the audit log's;
//! `common` knows nothing of the language model, the social providers or the
//! vector store; no auth route is rate-limited or exempted from the CSRF
//! rules by matching its path.

use std::path::{Path, PathBuf};

use regex::Regex;

/// `crates/` of this workspace.
fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crates folder")
        .to_path_buf()
}

/// The crates whose modules split into domain and `http/`. `web` is views
/// throughout and the binary is wiring; neither holds domain code.
const LAYERED: [&str; 5] = ["common", "auth", "api", "chatkit", "tutor"];
const CRATES: [&str; 7] = [
    "common",
    "auth",
    "api",
    "chatkit",
    "tutor",
    "web",
    "intellistack",
];

/// Every `.rs` file below `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("readable source");
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

/// The code of a line, without a trailing `//` comment (doc comments name
/// modules freely).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(crates_dir())
        .unwrap_or(p)
        .display()
        .to_string()
}

fn report(what: &str, offences: Vec<String>) {
    assert!(
        offences.is_empty(),
        "{what}:\n  {}\n(see docs/ARCHITECTURE.md)",
        offences.join("\n  ")
    );
}

#[test]
fn domain_modules_import_no_http_code() {
    let http_path = Regex::new(r"\b(crate|super)(::super)*::http\b|\baxum\b").unwrap();
    let root_http = Regex::new(r"^\s*(pub(\(crate\))?\s+)?(mod http;|use http::)").unwrap();
    let mut offences = Vec::new();
    for krate in LAYERED {
        let src = crates_dir().join(krate).join("src");
        for (path, text) in sources(&src) {
            if path.starts_with(src.join("http")) {
                continue;
            }
            let is_root = path == src.join("lib.rs");
            for (n, line) in text.lines().enumerate() {
                let line = code(line);
                // The crate root declares `http` and re-exports its public face.
                if is_root && root_http.is_match(line) {
                    continue;
                }
                if http_path.is_match(line) || (!is_root && line.contains("use http::")) {
                    offences.push(format!("{}:{}: {}", rel(&path), n + 1, line.trim()));
                }
            }
        }
    }
    report("domain modules that reach HTTP code", offences);
}

#[test]
fn no_crate_names_another_crates_store_or_http_module() {
    let mut offences = Vec::new();
    for krate in CRATES {
        let others: Vec<&str> = CRATES
            .iter()
            .copied()
            .filter(|c| *c != krate && *c != "intellistack")
            .collect();
        let names = others.join("|");
        // `auth::users::store::list`, `::api::http::router`, and the grouped
        // `use auth::{http::…}`; not `crate::support::api::…` in tests.
        let path = Regex::new(&format!(
            r"(?:^|[^\w:])(?:::)?({names})::(?:\w+::)*(store|http)\b"
        ))
        .unwrap();
        let grouped = Regex::new(&format!(
            r"(?:^|[^\w:])(?:::)?({names})::(?:\w+::)*\{{[^}}]*\b(store|http)\b"
        ))
        .unwrap();
        for (file, text) in sources(&crates_dir().join(krate)) {
            // This file spells the offences out in its own self-test.
            if file.ends_with("tests/it/architecture.rs") {
                continue;
            }
            let code_only: String = text.lines().map(|l| format!("{}\n", code(l))).collect();
            for m in path
                .find_iter(&code_only)
                .chain(grouped.find_iter(&code_only))
            {
                let line = code_only[..m.start()].lines().count().max(1);
                offences.push(format!("{}:{line}: {}", rel(&file), m.as_str().trim()));
            }
        }
    }
    report("names of another crate's store or http module", offences);
}

#[test]
fn only_the_chatkit_store_touches_the_chatkit_tables() {
    let table = Regex::new(r"\bchatkit_thread(_item)?\b").unwrap();
    let store = crates_dir().join("api/src/chat/store.rs");
    let mut offences = Vec::new();
    for krate in CRATES {
        for (file, text) in sources(&crates_dir().join(krate).join("src")) {
            if file == store {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if table.is_match(code(line)) {
                    offences.push(format!("{}:{}: {}", rel(&file), n + 1, line.trim()));
                }
            }
        }
    }
    report(
        "SQL on the ChatKit tables outside the ChatKit store",
        offences,
    );
}

#[test]
fn only_the_auth_crate_touches_the_audit_log_table() {
    // The Better-Auth importer copies identity tables row for row in one
    // transaction, the audit log's among them; it is the one exception.
    let importer = crates_dir().join("intellistack/src/migration");
    let mut offences = Vec::new();
    for krate in CRATES.iter().filter(|c| **c != "auth") {
        for (file, text) in sources(&crates_dir().join(krate).join("src")) {
            if file.starts_with(&importer) {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if code(line).contains("auth_event_log") {
                    offences.push(format!("{}:{}: {}", rel(&file), n + 1, line.trim()));
                }
            }
        }
    }
    report(
        "the audit log's table outside its service (auth::audit::AuditLog)",
        offences,
    );
}

#[test]
fn common_knows_nothing_of_the_model_the_providers_or_the_vectors() {
    let words = Regex::new(
        r"(?i)openai|\bllm|language model|chat model|tutor|qdrant|vector|embedding|github|google|social|sign-in provider",
    )
    .unwrap();
    let dir = crates_dir().join("common");
    let mut files = sources(&dir);
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    files.push((manifest, text));
    let mut offences = Vec::new();
    for (file, text) in files {
        for (n, line) in text.lines().enumerate() {
            if let Some(m) = words.find(line) {
                offences.push(format!(
                    "{}:{}: `{}` in {}",
                    rel(&file),
                    n + 1,
                    m.as_str(),
                    line.trim()
                ));
            }
        }
    }
    report(
        "`common` mentions what belongs to the tutor or the auth crate",
        offences,
    );
}

#[test]
fn no_auth_route_is_policed_by_its_path() {
    // Rate limits and the form routes' origin rules are declared where each
    // route is registered (`guard::policy`), so the middleware that applies
    // them must not look at paths at all.
    let literal_path = Regex::new(r#""/[A-Za-z]"#).unwrap();
    let path_test = Regex::new(r"path\(\)\s*(==|!=|\.starts_with|\.ends_with|\.contains|\.strip_prefix)|\bpath\s*(==|!=)\s*\x22").unwrap();
    let auth = crates_dir().join("auth/src");
    let mut offences = Vec::new();
    for name in ["http/guard.rs", "ratelimit.rs"] {
        let file = auth.join(name);
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            if literal_path.is_match(line) || path_test.is_match(line) {
                offences.push(format!("{}:{}: {}", rel(&file), n + 1, line.trim()));
            }
        }
    }
    // Nor may the path-chosen rules come back elsewhere in the crate.
    let chosen_by_path = Regex::new(r"\b(rule_for|is_form_route)\b").unwrap();
    for (file, text) in sources(&auth) {
        for (n, line) in text.lines().enumerate() {
            if chosen_by_path.is_match(code(line)) {
                offences.push(format!("{}:{}: {}", rel(&file), n + 1, line.trim()));
            }
        }
    }
    report("auth routes policed by matching paths", offences);
}

/// The checks see what they claim to: each pattern finds the offence it
/// exists for in a made-up line, so a test above cannot pass by matching nothing.
#[test]
fn the_patterns_find_what_they_look_for() {
    let path = Regex::new(r"(?:^|[^\w:])(?:::)?(auth|api)::(?:\w+::)*(store|http)\b").unwrap();
    assert!(path.is_match("let u = auth::users::store::list(db).await;"));
    assert!(path.is_match("router.merge(::api::http::router(s))"));
    assert!(!path.is_match("use crate::support::api::http_get;"));
    assert!(!path.is_match("use crate::support::auth::store_user;"));
    let http_path = Regex::new(r"\b(crate|super)(::super)*::http\b|\baxum\b").unwrap();
    assert!(http_path.is_match("use crate::http::extract::AuthenticatedUser;"));
    assert!(http_path.is_match("use super::super::http::views;"));
    assert!(http_path.is_match("use axum::http::StatusCode;"));
    assert!(!http_path.is_match("use crate::httpish;"));
}
