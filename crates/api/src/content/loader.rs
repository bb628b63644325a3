//! Reads courses from Markdown files with YAML front matter:
//!
//! ```text
//! <course>/course.md            slug, title, summary
//! <course>/<NN-stage>/stage.md  slug, title, summary, position
//! <course>/<NN-stage>/<NN-lesson>.md  slug, title, position, exercises
//! ```
//! The binary embeds `content/`; `CONTENT_DIR` or `intellistack content import` can load others.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde::Deserialize;

use super::{Exercise, valid_slug};

static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../content");

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct CourseDoc {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub stages: Vec<StageDoc>,
}

#[derive(Debug, Clone)]
pub struct StageDoc {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub position: i64,
    pub lessons: Vec<LessonDoc>,
}

#[derive(Debug, Clone)]
pub struct LessonDoc {
    pub slug: String,
    pub title: String,
    pub position: i64,
    pub body: String,
    pub exercises: Vec<Exercise>,
}

#[derive(Deserialize)]
struct CourseMeta {
    slug: String,
    title: String,
    #[serde(default)]
    summary: String,
}

#[derive(Deserialize)]
struct StageMeta {
    slug: String,
    title: String,
    #[serde(default)]
    summary: String,
    position: i64,
}

#[derive(Deserialize)]
struct LessonMeta {
    slug: String,
    title: String,
    position: i64,
    /// Read one by one, so an error names the exercise.
    #[serde(default)]
    exercises: Vec<serde_norway::Value>,
}

/// A lesson's exercises, checked: the error names the file, the exercise
/// and what is wrong.
fn exercises(path: &Path, raw: Vec<serde_norway::Value>) -> Result<Vec<Exercise>, ContentError> {
    let invalid = |reason: String| ContentError::Invalid {
        path: path.display().to_string(),
        reason,
    };
    let mut out = Vec::new();
    for (i, v) in raw.into_iter().enumerate() {
        let json =
            serde_json::to_value(&v).map_err(|e| invalid(format!("exercise {}: {e}", i + 1)))?;
        out.push(Exercise::from_value(json).map_err(|e| invalid(e.to_string()))?);
    }
    tutor::exercise::check_all(&out).map_err(|e| invalid(e.to_string()))?;
    Ok(out)
}

/// Splits `---\n<yaml>\n---\n<body>`.
pub fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---")?;
    let yaml = &rest[..end];
    let after = &rest[end + 4..];
    let body = after
        .strip_prefix('\n')
        .or_else(|| after.strip_prefix("\r\n"))
        .unwrap_or(after);
    Some((yaml, body))
}

fn parse<T: for<'de> Deserialize<'de>>(
    path: &str,
    text: &str,
) -> Result<(T, String), ContentError> {
    let invalid = |reason: String| ContentError::Invalid {
        path: path.to_string(),
        reason,
    };
    let (yaml, body) = split_front_matter(text)
        .ok_or_else(|| invalid("no front matter (--- … ---) at the top".into()))?;
    let meta = serde_norway::from_str(yaml).map_err(|e| invalid(e.to_string()))?;
    Ok((meta, body.trim().to_string()))
}

/// A file tree: relative path → text.
pub type Files = Vec<(PathBuf, String)>;

/// A file shipped under `content/` (for example a course's question set).
pub fn embedded_file(path: &str) -> Option<&'static str> {
    EMBEDDED.get_file(path).and_then(|f| f.contents_utf8())
}

/// The sample course shipped in the binary.
pub fn embedded() -> Result<Vec<CourseDoc>, ContentError> {
    let mut files = Vec::new();
    collect_embedded(&EMBEDDED, &mut files);
    from_files(files)
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Files) {
    for f in dir.files() {
        if let Some(text) = f.contents_utf8() {
            out.push((f.path().to_path_buf(), text.to_string()));
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
}

/// Courses under a folder on disk.
pub fn from_dir(root: &Path) -> Result<Vec<CourseDoc>, ContentError> {
    let mut files = Vec::new();
    walk(root, root, &mut files)?;
    from_files(files)
}

fn walk(root: &Path, dir: &Path, out: &mut Files) -> Result<(), ContentError> {
    let io = |source| ContentError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).map_err(|source| ContentError::Io {
                path: path.display().to_string(),
                source,
            })?;
            out.push((path.strip_prefix(root).unwrap_or(&path).to_path_buf(), text));
        }
    }
    Ok(())
}

/// Courses from a file tree held in memory (relative path, text).
pub fn from_files(files: Files) -> Result<Vec<CourseDoc>, ContentError> {
    let mut courses = Vec::new();
    // Exercise ids name exercises in the API, so they are unique everywhere.
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.file_name().is_some_and(|n| n == "course.md"))
    {
        let course_dir = path.parent().unwrap_or(Path::new(""));
        let (meta, _body): (CourseMeta, _) = parse(&path.display().to_string(), text)?;
        let mut stages = Vec::new();
        for (spath, stext) in files.iter().filter(|(p, _)| {
            p.file_name().is_some_and(|n| n == "stage.md")
                && p.parent().and_then(Path::parent) == Some(course_dir)
        }) {
            let stage_dir = spath.parent().unwrap_or(Path::new(""));
            let (smeta, _): (StageMeta, _) = parse(&spath.display().to_string(), stext)?;
            let mut lessons = Vec::new();
            for (lpath, ltext) in files.iter().filter(|(p, _)| {
                p.parent() == Some(stage_dir)
                    && p.file_name().is_some_and(|n| n != "stage.md")
                    && p.extension().is_some_and(|e| e == "md")
            }) {
                let (lmeta, body): (LessonMeta, _) = parse(&lpath.display().to_string(), ltext)?;
                check_slug(lpath, &lmeta.slug)?;
                let list = exercises(lpath, lmeta.exercises)?;
                for e in &list {
                    if let Some(other) = seen.insert(e.id.clone(), lpath.display().to_string()) {
                        return Err(ContentError::Invalid {
                            path: lpath.display().to_string(),
                            reason: format!(
                                "exercise `{}`: {other} already has an exercise with this id; ids must be unique",
                                e.id
                            ),
                        });
                    }
                }
                lessons.push(LessonDoc {
                    slug: lmeta.slug,
                    title: lmeta.title,
                    position: lmeta.position,
                    body,
                    exercises: list,
                });
            }
            lessons.sort_by_key(|l| l.position);
            check_slug(spath, &smeta.slug)?;
            stages.push(StageDoc {
                slug: smeta.slug,
                title: smeta.title,
                summary: smeta.summary,
                position: smeta.position,
                lessons,
            });
        }
        stages.sort_by_key(|s| s.position);
        check_slug(path, &meta.slug)?;
        courses.push(CourseDoc {
            slug: meta.slug,
            title: meta.title,
            summary: meta.summary,
            stages,
        });
    }
    Ok(courses)
}

fn check_slug(path: &Path, slug: &str) -> Result<(), ContentError> {
    if valid_slug(slug) {
        Ok(())
    } else {
        Err(ContentError::Invalid {
            path: path.display().to_string(),
            reason: format!("slug `{slug}` must be lower-case letters, digits and hyphens"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_course_tree() {
        let files = vec![
            (PathBuf::from("c/course.md"), "---\nslug: c\ntitle: C\nsummary: S\n---\nIntro".to_string()),
            (PathBuf::from("c/01-a/stage.md"), "---\nslug: a\ntitle: A\nposition: 1\n---\n".to_string()),
            (
                PathBuf::from("c/01-a/02-y.md"),
                "---\nslug: y\ntitle: Y\nposition: 2\nexercises:\n  - id: e1\n    kind: numeric\n    prompt: \"Q: what?\"\n    answer: 42\n---\n## H\n\nText".to_string(),
            ),
            (PathBuf::from("c/01-a/01-x.md"), "---\nslug: x\ntitle: X\nposition: 1\n---\nBody".to_string()),
        ];
        let courses = from_files(files).unwrap();
        assert_eq!(courses.len(), 1);
        let stage = &courses[0].stages[0];
        assert_eq!(
            stage
                .lessons
                .iter()
                .map(|l| l.slug.as_str())
                .collect::<Vec<_>>(),
            vec!["x", "y"]
        );
        assert_eq!(stage.lessons[1].exercises[0].kind(), "numeric");
        assert_eq!(stage.lessons[1].body, "## H\n\nText");
    }

    #[test]
    fn bad_front_matter_names_the_file() {
        let files = vec![(PathBuf::from("c/course.md"), "no front matter".to_string())];
        let err = from_files(files).unwrap_err().to_string();
        assert!(err.starts_with("c/course.md:"), "{err}");
    }

    #[test]
    fn a_bad_exercise_names_the_file_the_exercise_and_the_problem() {
        let files = vec![
            (PathBuf::from("c/course.md"), "---\nslug: c\ntitle: C\n---\n".to_string()),
            (PathBuf::from("c/01-a/stage.md"), "---\nslug: a\ntitle: A\nposition: 1\n---\n".to_string()),
            (
                PathBuf::from("c/01-a/01-x.md"),
                "---\nslug: x\ntitle: X\nposition: 1\nexercises:\n  - id: drift\n    kind: numeric\n    prompt: p\n    answer: {value: 1.2, unit: furlongs}\n---\nBody".to_string(),
            ),
        ];
        let err = from_files(files).unwrap_err().to_string();
        assert_eq!(
            err,
            "c/01-a/01-x.md: exercise `drift`: unknown unit `furlongs`"
        );
    }

    #[test]
    fn the_embedded_sample_course_loads() {
        let courses = embedded().unwrap();
        let course = courses
            .iter()
            .find(|c| c.slug == "physical-ai")
            .expect("sample course");
        assert!(course.stages.len() >= 3);
        for s in &course.stages {
            assert!(
                s.lessons.len() >= 3,
                "stage {} has {} lessons",
                s.slug,
                s.lessons.len()
            );
            for l in &s.lessons {
                assert!(
                    l.body.split_whitespace().count() > 300,
                    "lesson {} is substantial",
                    l.slug
                );
                assert!(!l.exercises.is_empty(), "lesson {} has exercises", l.slug);
            }
        }
    }
}
