//! Page handlers: thin — read the viewer, load what the page shows, render.

pub mod account_pages;
pub mod admin_pages;
pub mod learning_pages;
pub mod teach_pages;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::WebState;
use crate::error::WebError;
use crate::session::{Viewer, viewer};

/// What the layout shows around every page.
pub struct Chrome {
    pub user_name: Option<String>,
    pub role: String,
    pub is_admin: bool,
    pub is_staff: bool,
    /// Set while an admin acts as this user: who is shown, for the banner.
    pub acting_as: Option<String>,
    /// Staff whose role waits for a second factor.
    pub needs_second_factor: bool,
}

impl Chrome {
    pub fn of(v: Option<&Viewer>) -> Self {
        match v {
            Some(v) => Chrome {
                user_name: Some(v.user().name.clone()),
                role: v.role().to_string(),
                is_admin: v.is_admin(),
                is_staff: v.is_staff(),
                acting_as: v
                    .impersonated_by()
                    .map(|_| format!("{} ({})", v.user().name, v.user().email)),
                needs_second_factor: v.needs_second_factor(),
            },
            None => Chrome {
                user_name: None,
                role: String::new(),
                is_admin: false,
                is_staff: false,
                acting_as: None,
                needs_second_factor: false,
            },
        }
    }
}

pub fn render(t: &impl Template) -> Result<Response, WebError> {
    Ok(Html(t.render()?).into_response())
}

struct CatalogueEntry {
    title: String,
    summary: String,
    stages: Vec<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    courses: Vec<CatalogueEntry>,
}

/// `/`: the dashboard for the signed in; for everyone else, what the
/// platform is and which courses it offers, with the way in.
pub async fn home(State(state): State<WebState>, headers: HeaderMap) -> Result<Response, WebError> {
    if viewer(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let courses = state
        .api
        .learning()
        .public_catalogue()
        .await?
        .into_iter()
        .map(|(c, stages)| CatalogueEntry {
            title: c.title,
            summary: c.summary,
            stages: stages.into_iter().map(|s| s.title).collect(),
        })
        .collect();
    render(&HomePage {
        chrome: Chrome::of(None),
        courses,
    })
}

/// A `next` target is followed only when it stays on this site, by the rule
/// every redirect of every role follows (`common::redirect`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if common::redirect::is_local_path(n) => n.to_string(),
        _ => "/dashboard".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_site() {
        assert_eq!(super::safe_next(Some("/learn/a/b")), "/learn/a/b");
        assert_eq!(super::safe_next(Some("//evil.example")), "/dashboard");
        assert_eq!(super::safe_next(Some("https://evil.example")), "/dashboard");
        assert_eq!(super::safe_next(Some("/\\evil.example")), "/dashboard");
        assert_eq!(super::safe_next(Some("/\t/evil.example")), "/dashboard");
        assert_eq!(super::safe_next(Some("/\r\n/evil")), "/dashboard");
        assert_eq!(super::safe_next(None), "/dashboard");
    }
}
