//! Splits a lesson's Markdown into chunks at headings, keeping the heading
//! path ("Lesson › Section › Subsection") and an anchor that matches the ids
//! the lesson page gives its headings.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Titles from the lesson down to this section.
    pub heading_path: Vec<String>,
    /// The anchor of the section's heading (empty for the lesson's opening text).
    pub anchor: String,
    /// Plain text of the section, without Markdown syntax.
    pub text: String,
}

/// The id a heading gets on the page: lower-case words joined by hyphens.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
            dash = false;
        } else if !out.is_empty() && !dash {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Chunks by `#`–`###` headings. Sections with no text are dropped.
pub fn chunk_markdown(lesson_title: &str, markdown: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    // Stack of (level, title) for the heading path.
    let mut stack: Vec<(u8, String)> = Vec::new();
    let mut current_anchor = String::new();
    let mut text = String::new();
    let mut in_heading: Option<u8> = None;
    let mut heading_text = String::new();

    let flush =
        |stack: &Vec<(u8, String)>, anchor: &str, text: &mut String, chunks: &mut Vec<Chunk>| {
            let body = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !body.is_empty() {
                let mut path = vec![lesson_title.to_string()];
                path.extend(stack.iter().map(|(_, t)| t.clone()));
                chunks.push(Chunk {
                    heading_path: path,
                    anchor: anchor.to_string(),
                    text: body,
                });
            }
            text.clear();
        };

    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) if level <= HeadingLevel::H3 => {
                flush(&stack, &current_anchor, &mut text, &mut chunks);
                in_heading = Some(level as u8);
                heading_text.clear();
            }
            Event::End(TagEnd::Heading(level)) if in_heading == Some(level as u8) => {
                let lvl = level as u8;
                while stack.last().is_some_and(|(l, _)| *l >= lvl) {
                    stack.pop();
                }
                let title = heading_text.trim().to_string();
                current_anchor = slugify(&title);
                stack.push((lvl, title));
                in_heading = None;
            }
            Event::Text(t) | Event::Code(t) => {
                if in_heading.is_some() {
                    heading_text.push_str(&t);
                } else {
                    text.push_str(&t);
                }
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock | TagEnd::TableCell,
            ) if in_heading.is_none() => text.push(' '),
            _ => {}
        }
    }
    flush(&stack, &current_anchor, &mut text, &mut chunks);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_headings_and_keeps_the_path() {
        let md = "Intro text.\n\n## Gyroscopes\n\nThey measure *rate*.\n\n### Bias\n\nA constant offset: `0.02 rad/s`.\n\n## Encoders\n\nCount ticks.\n";
        let chunks = chunk_markdown("IMUs", md);
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[0].heading_path, vec!["IMUs"]);
        assert_eq!(chunks[0].anchor, "");
        assert_eq!(chunks[1].heading_path, vec!["IMUs", "Gyroscopes"]);
        assert_eq!(chunks[1].text, "They measure rate.");
        assert_eq!(chunks[2].heading_path, vec!["IMUs", "Gyroscopes", "Bias"]);
        assert_eq!(chunks[2].anchor, "bias");
        assert!(chunks[2].text.contains("0.02 rad/s"));
        assert_eq!(
            chunks[3].heading_path,
            vec!["IMUs", "Encoders"],
            "a sibling replaces the previous section"
        );
    }

    #[test]
    fn slugs_are_stable() {
        assert_eq!(
            slugify("PID: Proportional, Integral & Derivative"),
            "pid-proportional-integral-derivative"
        );
        assert_eq!(slugify("  Frames (TF2) "), "frames-tf2");
    }
}
