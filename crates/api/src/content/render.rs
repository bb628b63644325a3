//! Markdown to sanitized HTML. Headings get ids (the anchors citations link
//! to); everything is passed through ammonia, so authored content cannot
//! inject script.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use serde::Serialize;
use tutor::retrieval::chunk::slugify;

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Heading {
    pub id: String,
    pub text: String,
    pub level: u8,
}

pub struct Rendered {
    pub html: String,
    pub headings: Vec<Heading>,
}

pub fn render(markdown: &str) -> Rendered {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let mut events: Vec<Event> = Parser::new_ext(markdown, opts).collect();
    let mut headings = Vec::new();
    let mut seen = HashSet::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, .. }) = &events[i] {
            let level = *level;
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let base = slugify(&text);
            let mut id = base.clone();
            let mut n = 1;
            while !seen.insert(id.clone()) {
                n += 1;
                id = format!("{base}-{n}");
            }
            if level <= HeadingLevel::H3 {
                headings.push(Heading {
                    id: id.clone(),
                    text: text.trim().to_string(),
                    level: level as u8,
                });
            }
            events[i] = Event::Start(Tag::Heading {
                level,
                id: Some(CowStr::from(id)),
                classes: vec![],
                attrs: vec![],
            });
            i = j;
        }
        i += 1;
    }
    let mut raw = String::new();
    html::push_html(&mut raw, events.into_iter());
    let html = ammonia::Builder::default()
        .add_tag_attributes("h1", &["id"])
        .add_tag_attributes("h2", &["id"])
        .add_tag_attributes("h3", &["id"])
        .add_tag_attributes("h4", &["id"])
        .add_tag_attributes("code", &["class"])
        // Footnotes: the reference links to the definition's id.
        .add_tag_attributes("div", &["id"])
        .add_allowed_classes("div", &["footnote-definition"])
        .add_allowed_classes("sup", &["footnote-definition-label", "footnote-reference"])
        .clean(&raw)
        .to_string();
    Rendered { html, headings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_anchors_and_script_is_removed() {
        let r = render(
            "## Why PID?\n\nText <script>alert(1)</script> and <img src=x onerror=alert(1)>.\n\n## Why PID?\n\n```python\nx = 1\n```\n",
        );
        assert!(
            r.html.contains(r#"<h2 id="why-pid">Why PID?</h2>"#),
            "{}",
            r.html
        );
        assert!(
            r.html.contains(r#"<h2 id="why-pid-2">"#),
            "duplicate headings get distinct ids"
        );
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("onerror"), "{}", r.html);
        assert!(r.html.contains(r#"<code class="language-python">"#));
        assert_eq!(r.headings.len(), 2);
        assert_eq!(r.headings[0].text, "Why PID?");
    }

    #[test]
    fn footnotes_keep_their_link_and_target() {
        let r = render("Text.[^a]\n\n[^a]: The note.\n");
        assert!(
            r.html
                .contains(r##"<sup class="footnote-reference"><a href="#a" rel="noopener noreferrer">1</a></sup>"##),
            "{}",
            r.html
        );
        assert!(
            r.html
                .contains(r#"<div class="footnote-definition" id="a">"#),
            "{}",
            r.html
        );
    }
}
