//! A course as the Markdown folder format of `content/` (see
//! `content/README.md`), packed as a `.zip`: export writes the files from
//! the database, import reads them with the same loader that start-up and
//! `intellistack content import` use. Export, import and export again gives
//! the same files, byte for byte.

use std::io::{Cursor, Read, Write};

use common::{Db, SharedClock};
use serde::Serialize;

use crate::content::Exercise;
use crate::content::loader;
use crate::content::store::{self, Course};
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthenticatedUser;
use crate::teaching::Teaching;

/// Uploaded archives larger than this are refused (the body limit is lower
/// for most routes; this guards what the archive unpacks to).
pub const MAX_UNPACKED_BYTES: u64 = 20 * 1024 * 1024;

#[derive(Serialize)]
struct CourseMeta<'a> {
    slug: &'a str,
    title: &'a str,
    summary: &'a str,
}

#[derive(Serialize)]
struct StageMeta<'a> {
    slug: &'a str,
    title: &'a str,
    summary: &'a str,
    position: i64,
}

#[derive(Serialize)]
struct LessonMeta<'a> {
    slug: &'a str,
    title: &'a str,
    position: i64,
    #[serde(skip_serializing_if = "<[Exercise]>::is_empty")]
    exercises: &'a [Exercise],
}

pub struct CourseFiles<'a> {
    pub db: &'a Db,
    pub clock: &'a SharedClock,
}

fn file(meta: &impl Serialize, body: &str) -> ApiResult<String> {
    let yaml = serde_norway::to_string(meta).map_err(ApiError::internal)?;
    let mut out = format!("---\n{yaml}---\n");
    // The loader trims the body, so a trimmed body reads back the same.
    let body = body.trim();
    if !body.is_empty() {
        out.push('\n');
        out.push_str(body);
        out.push('\n');
    }
    Ok(out)
}

fn bad_archive(reason: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(
        "INVALID_ARCHIVE",
        format!("The archive cannot be read: {reason}"),
    )
}

impl CourseFiles<'_> {
    fn teaching(&self) -> Teaching<'_> {
        Teaching {
            db: self.db,
            clock: self.clock,
        }
    }

    /// The course's files: relative path → text, in order.
    pub async fn files(&self, course: &Course) -> ApiResult<Vec<(String, String)>> {
        let mut out = vec![(
            format!("{}/course.md", course.slug),
            file(
                &CourseMeta {
                    slug: &course.slug,
                    title: &course.title,
                    summary: &course.summary,
                },
                "",
            )?,
        )];
        for s in store::stages(self.db, &course.id).await? {
            let dir = format!("{}/{:02}-{}", course.slug, s.position, s.slug);
            out.push((
                format!("{dir}/stage.md"),
                file(
                    &StageMeta {
                        slug: &s.slug,
                        title: &s.title,
                        summary: &s.summary,
                        position: s.position,
                    },
                    "",
                )?,
            ));
            for l in store::lessons_of_stage(self.db, &s.id).await? {
                let exercises = store::exercises_of_lesson(self.db, &l.id).await?;
                out.push((
                    format!("{dir}/{:02}-{}.md", l.position, l.slug),
                    file(
                        &LessonMeta {
                            slug: &l.slug,
                            title: &l.title,
                            position: l.position,
                            exercises: &exercises,
                        },
                        &l.body,
                    )?,
                ));
            }
        }
        Ok(out)
    }

    /// The course as a `.zip` of its folder, for its staff.
    pub async fn export(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<Vec<u8>> {
        let course = self.teaching().course(user, slug).await?;
        let files = self.files(&course).await?;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        // A fixed time stamp: the same course gives the same archive.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        for (path, text) in files {
            zip.start_file(path, options).map_err(ApiError::internal)?;
            zip.write_all(text.as_bytes()).map_err(ApiError::internal)?;
        }
        Ok(zip.finish().map_err(ApiError::internal)?.into_inner())
    }

    /// Reads a `.zip` holding one course folder and creates the course as
    /// a draft, with the importing user as its instructor. A course whose
    /// slug exists already, a bad file or an exercise id in use is refused
    /// with nothing written.
    pub async fn import(&self, user: &AuthenticatedUser, bytes: &[u8]) -> ApiResult<Course> {
        if !user.can("course", "author") {
            return Err(ApiError::forbidden(
                "FORBIDDEN_ROLE",
                "This needs the instructor or admin role",
            ));
        }
        let files = unpack(bytes)?;
        let docs = loader::from_files(files)
            .map_err(|e| ApiError::invalid("INVALID_CONTENT", e.to_string()))?;
        let doc = match docs.as_slice() {
            [one] => one,
            [] => return Err(bad_archive("it holds no course.md")),
            _ => {
                return Err(bad_archive(
                    "it holds more than one course; import one at a time",
                ));
            }
        };
        if store::course_by_slug(self.db, &doc.slug).await?.is_some() {
            return Err(ApiError::conflict(
                "SLUG_TAKEN",
                format!("A course `{}` exists already", doc.slug),
            ));
        }
        let course = crate::seed::insert_doc(self.db, self.clock, doc, false).await?;
        store::add_staff(
            self.db,
            &course.id,
            &user.id,
            Some(&user.id),
            self.clock.now(),
        )
        .await?;
        Ok(course)
    }
}

/// The Markdown files of an archive (other files are ignored, as the
/// loader ignores them in a folder).
fn unpack(bytes: &[u8]) -> ApiResult<loader::Files> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad_archive)?;
    let mut files = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad_archive)?;
        if entry.is_dir() {
            continue;
        }
        // Paths that climb out of the archive are refused.
        let Some(path) = entry.enclosed_name() else {
            return Err(bad_archive(format!("unsafe path `{}`", entry.name())));
        };
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(bad_archive("it unpacks to more than 20 MB"));
        }
        let mut text = String::new();
        (&mut entry)
            .take(MAX_UNPACKED_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| bad_archive(format!("{}: {e}", path.display())))?;
        files.push((path, text));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_front_matter_then_the_body() {
        let text = file(
            &StageMeta {
                slug: "a",
                title: "A: the start",
                summary: "",
                position: 1,
            },
            "",
        )
        .unwrap();
        assert_eq!(
            text,
            "---\nslug: a\ntitle: 'A: the start'\nsummary: ''\nposition: 1\n---\n"
        );
        let (yaml, body) = loader::split_front_matter(&text).unwrap();
        assert!(yaml.contains("position: 1"));
        assert_eq!(body, "");
    }

    #[test]
    fn an_archive_that_climbs_out_is_refused() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("../evil.md", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"---\nslug: x\n---\n").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let err = unpack(&bytes).unwrap_err().to_string();
        assert!(err.contains("unsafe path"), "{err}");
        assert!(unpack(b"not a zip").is_err());
    }
}
