//! IntelliStack's side of ChatKit: the request context, the SQL store, the
//! daily quota, usage accounting, and the echo responder used by protocol tests.

pub mod echo;
pub mod quota;
pub mod store;
pub mod tutor;
pub mod usage;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::extract::AuthenticatedUser;

/// What the page says about where the student is. Context for the tutor
/// only — never identity or permissions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageContext {
    pub url: Option<String>,
    pub title: Option<String>,
    pub headings: Vec<String>,
    pub selected_text: Option<String>,
    pub course: Option<String>,
    pub stage: Option<String>,
    pub lesson: Option<String>,
}

const MAX_FIELD: usize = 2_000;
const MAX_SELECTION: usize = 4_000;

fn text(v: Option<&Value>, max: usize) -> Option<String> {
    v.and_then(Value::as_str)
        .map(|s| s.chars().take(max).collect::<String>())
        .filter(|s| !s.trim().is_empty())
}

impl PageContext {
    /// Reads `metadata.page` of a ChatKit request, bounding every field.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Self {
        let Some(page) = metadata.get("page").and_then(Value::as_object) else {
            return PageContext::default();
        };
        PageContext {
            url: text(page.get("url"), MAX_FIELD),
            title: text(page.get("title"), MAX_FIELD),
            headings: page
                .get("headings")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|h| text(Some(h), 200))
                        .take(50)
                        .collect()
                })
                .unwrap_or_default(),
            selected_text: text(
                page.get("selectedText")
                    .or_else(|| page.get("selected_text")),
                MAX_SELECTION,
            ),
            course: text(page.get("course"), 100),
            stage: text(page.get("stage"), 100),
            lesson: text(page.get("lesson"), 100),
        }
    }
}

/// The context of one chat request: the verified caller and the page.
#[derive(Debug, Clone)]
pub struct ChatContext {
    pub user: AuthenticatedUser,
    pub page: PageContext,
}
