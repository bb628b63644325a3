//! Class insight for a course's instructors and admins: who is enrolled and
//! how far they got, which exercises students get right at once and which
//! wrong answers are common, what they ask the tutor on each lesson, and
//! the threads the tutor's guardrails flagged. Read-only, and scoped: every
//! entry point checks that the caller teaches the course.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use common::{Db, SharedClock, on_db};
use serde::Serialize;

use crate::content::store::{self, Course};
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthenticatedUser;
use crate::teaching::{Teaching, teaches_all};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageProgress {
    pub slug: String,
    pub title: String,
    pub position: i64,
    pub lessons: usize,
    /// Enrolled students for whom this stage is open.
    pub reached: usize,
    /// Enrolled students who completed every lesson of the stage.
    pub completed: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WrongAnswer {
    pub answer: String,
    pub count: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExerciseInsight {
    pub id: String,
    pub prompt: String,
    pub lesson_title: String,
    /// Students who tried it at least once.
    pub students: usize,
    pub attempts: usize,
    /// Students whose first attempt was right.
    pub first_try: usize,
    /// Students who answered it right eventually.
    pub solved: usize,
    /// The most common wrong answers (up to five), most frequent first;
    /// answers are compared ignoring case and surrounding spaces.
    pub wrong_answers: Vec<WrongAnswer>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonQuestions {
    pub stage_slug: String,
    pub lesson_slug: String,
    pub title: String,
    pub questions: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedThread {
    pub thread_id: String,
    pub course_slug: Option<String>,
    pub course_title: Option<String>,
    pub student_name: String,
    pub student_email: String,
    pub flags: Vec<String>,
    /// The flagged text (the newest finding), else the student's latest
    /// message in the thread.
    pub message: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Insight {
    pub course_slug: String,
    pub course_title: String,
    pub students: usize,
    pub stages: Vec<StageProgress>,
    pub exercises: Vec<ExerciseInsight>,
    pub questions: Vec<LessonQuestions>,
    pub flagged: Vec<FlaggedThread>,
}

/// One message of a thread as staff read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadMessage {
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadTranscript {
    pub id: String,
    pub title: Option<String>,
    pub course_slug: String,
    pub student_name: String,
    pub student_email: String,
    pub flags: Vec<String>,
    pub messages: Vec<ThreadMessage>,
}

pub struct Insights<'a> {
    pub db: &'a Db,
    pub clock: &'a SharedClock,
}

#[derive(sqlx::FromRow)]
struct ThreadRow {
    id: String,
    user_id: String,
    course_id: Option<String>,
    title: Option<String>,
    metadata: String,
    updated_at: DateTime<Utc>,
    name: String,
    email: String,
}

fn flags_of(metadata: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(metadata)
        .ok()
        .and_then(|v| {
            v.get("flags").and_then(|f| f.as_array()).map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The text of the newest finding in `metadata.flag_events`, if any.
fn newest_flagged_text(metadata: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(metadata).ok()?;
    v.get("flag_events")?
        .as_array()?
        .last()?
        .get("text")?
        .as_str()
        .map(str::to_string)
}

/// The text of a stored ChatKit item: its content parts joined.
fn item_text(content: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(content).unwrap_or_default();
    v.get("content")
        .and_then(|c| c.as_array())
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

fn fold(answer: &str) -> String {
    answer.trim().to_lowercase()
}

impl Insights<'_> {
    fn teaching(&self) -> Teaching<'_> {
        Teaching {
            db: self.db,
            clock: self.clock,
        }
    }

    pub async fn course(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<Insight> {
        let c = self.teaching().course(user, slug).await?;
        let staff: HashSet<String> = store::staff_of(self.db, &c.id)
            .await?
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        // Current enrolments of everyone but the course's staff.
        let enrolled: Vec<(String, i64)> = on_db!(self.db, pool => sqlx::query_as(
            "SELECT user_id, unlocked_position FROM enrolment WHERE course_id = $1 AND enrolment_ended_at IS NULL ORDER BY user_id")
            .bind(&c.id).fetch_all(pool).await)?;
        let enrolled: Vec<(String, i64)> = enrolled
            .into_iter()
            .filter(|(u, _)| !staff.contains(u))
            .collect();
        let students: HashSet<&str> = enrolled.iter().map(|(u, _)| u.as_str()).collect();

        let stages = store::stages(self.db, &c.id).await?;
        let lessons = store::lessons_of_course(self.db, &c.id).await?;
        let done: Vec<(String, String)> = on_db!(self.db, pool => sqlx::query_as(
            "SELECT p.user_id, p.lesson_id FROM lesson_progress p JOIN lesson l ON l.id = p.lesson_id JOIN stage s ON s.id = l.stage_id WHERE s.course_id = $1")
            .bind(&c.id).fetch_all(pool).await)?;
        let done: HashSet<(&str, &str)> =
            done.iter().map(|(u, l)| (u.as_str(), l.as_str())).collect();
        let stage_views = stages
            .iter()
            .map(|s| {
                let ls: Vec<&str> = lessons
                    .iter()
                    .filter(|l| l.stage_id == s.id)
                    .map(|l| l.id.as_str())
                    .collect();
                StageProgress {
                    slug: s.slug.clone(),
                    title: s.title.clone(),
                    position: s.position,
                    lessons: ls.len(),
                    reached: enrolled.iter().filter(|(_, u)| s.position <= *u).count(),
                    completed: enrolled
                        .iter()
                        .filter(|(u, _)| {
                            !ls.is_empty() && ls.iter().all(|l| done.contains(&(u.as_str(), *l)))
                        })
                        .count(),
                }
            })
            .collect();

        // Attempts of the enrolled students, in order per student and exercise.
        let attempts: Vec<(String, String, String, bool)> = on_db!(self.db, pool => sqlx::query_as(
            "SELECT a.exercise_id, a.user_id, a.answer, a.correct FROM exercise_attempt a
             JOIN exercise e ON e.id = a.exercise_id JOIN lesson l ON l.id = e.lesson_id JOIN stage s ON s.id = l.stage_id
             WHERE s.course_id = $1 ORDER BY a.exercise_id, a.user_id, a.number, a.created_at, a.id")
            .bind(&c.id).fetch_all(pool).await)?;
        let mut exercises = Vec::new();
        for l in &lessons {
            for e in store::exercises_of_lesson(self.db, &l.id).await? {
                let mine: Vec<&(String, String, String, bool)> = attempts
                    .iter()
                    .filter(|a| a.0 == e.id && students.contains(a.1.as_str()))
                    .collect();
                let mut firsts: BTreeMap<&str, bool> = BTreeMap::new();
                let mut solved: HashSet<&str> = HashSet::new();
                let mut wrong: HashMap<String, (String, usize)> = HashMap::new();
                for a in &mine {
                    firsts.entry(a.1.as_str()).or_insert(a.3);
                    if a.3 {
                        solved.insert(a.1.as_str());
                    } else {
                        let entry = wrong
                            .entry(fold(&a.2))
                            .or_insert_with(|| (a.2.trim().to_string(), 0));
                        entry.1 += 1;
                    }
                }
                let mut wrong: Vec<WrongAnswer> = wrong
                    .into_values()
                    .map(|(answer, count)| WrongAnswer { answer, count })
                    .collect();
                wrong.sort_by(|a, b| b.count.cmp(&a.count).then(a.answer.cmp(&b.answer)));
                wrong.truncate(5);
                exercises.push(ExerciseInsight {
                    id: e.id.clone(),
                    prompt: e.prompt.clone(),
                    lesson_title: l.title.clone(),
                    students: firsts.len(),
                    attempts: mine.len(),
                    first_try: firsts.values().filter(|ok| **ok).count(),
                    solved: solved.len(),
                    wrong_answers: wrong,
                });
            }
        }

        // Tutor questions per lesson: students' messages, by the lesson they
        // were asked on.
        let asked: Vec<(String, String)> = on_db!(self.db, pool => sqlx::query_as(
            "SELECT t.user_id, i.metadata FROM chatkit_thread_item i JOIN chatkit_thread t ON t.id = i.thread_id
             WHERE t.course_id IN ($1, $2) AND i.type = 'user_message'")
            .bind(&c.id).bind(&c.slug).fetch_all(pool).await)?;
        let mut per_lesson: HashMap<(String, String), usize> = HashMap::new();
        for (user, meta) in &asked {
            if staff.contains(user) {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(meta).unwrap_or_default();
            if let (Some(s), Some(l)) = (v["stage"].as_str(), v["lesson"].as_str()) {
                *per_lesson
                    .entry((s.to_string(), l.to_string()))
                    .or_default() += 1;
            }
        }
        let questions = lessons
            .iter()
            .filter_map(|l| {
                let s = stages.iter().find(|s| s.id == l.stage_id)?;
                Some(LessonQuestions {
                    stage_slug: s.slug.clone(),
                    lesson_slug: l.slug.clone(),
                    title: l.title.clone(),
                    questions: per_lesson
                        .get(&(s.slug.clone(), l.slug.clone()))
                        .copied()
                        .unwrap_or(0),
                })
            })
            .collect();

        let flagged = self.flagged_in(std::slice::from_ref(&c)).await?;
        Ok(Insight {
            course_slug: c.slug,
            course_title: c.title,
            students: enrolled.len(),
            stages: stage_views,
            exercises,
            questions,
            flagged,
        })
    }

    /// Flagged threads of the given courses, newest first.
    async fn flagged_in(&self, courses: &[Course]) -> ApiResult<Vec<FlaggedThread>> {
        let rows: Vec<ThreadRow> = on_db!(self.db, pool => sqlx::query_as(
            r#"SELECT t.id, t.user_id, t.course_id, t.title, t.metadata, t.updated_at, u.name, u.email
               FROM chatkit_thread t JOIN "user" u ON u.id = t.user_id
               WHERE t.metadata LIKE '%"flags"%' ORDER BY t.updated_at DESC, t.id"#)
            .fetch_all(pool).await)?;
        let mut out = Vec::new();
        for r in rows {
            let flags = flags_of(&r.metadata);
            if flags.is_empty() {
                continue;
            }
            let course = r
                .course_id
                .as_deref()
                .and_then(|k| courses.iter().find(|c| c.id == k || c.slug == k));
            let Some(course) = course else { continue };
            let last: Option<(String,)> = on_db!(self.db, pool => sqlx::query_as(
                "SELECT content FROM chatkit_thread_item WHERE thread_id = $1 AND type = 'user_message' ORDER BY seq DESC LIMIT 1")
                .bind(&r.id).fetch_optional(pool).await)?;
            out.push(FlaggedThread {
                thread_id: r.id,
                course_slug: Some(course.slug.clone()),
                course_title: Some(course.title.clone()),
                student_name: r.name,
                student_email: r.email,
                flags,
                // The flagged text itself when the guardrails kept it, else
                // the student's latest message.
                message: newest_flagged_text(&r.metadata)
                    .or_else(|| last.map(|(c,)| item_text(&c)))
                    .unwrap_or_default(),
                updated_at: common::clock::to_iso(&r.updated_at),
            });
        }
        Ok(out)
    }

    /// The flagged threads the caller may read: every course's for admins,
    /// their own courses' for instructors; students are refused.
    pub async fn flagged(&self, user: &AuthenticatedUser) -> ApiResult<Vec<FlaggedThread>> {
        if !user.can("course", "author") {
            return Err(ApiError::forbidden(
                "FORBIDDEN_ROLE",
                "This needs the instructor or admin role",
            ));
        }
        let courses = self.teaching().courses(user).await?;
        self.flagged_in(&courses).await
    }

    /// A student's tutor thread, read-only, for the staff of the thread's
    /// course — and only while the student is enrolled in it.
    pub async fn thread(
        &self,
        user: &AuthenticatedUser,
        thread_id: &str,
    ) -> ApiResult<ThreadTranscript> {
        let missing = || ApiError::not_found("THREAD_NOT_FOUND", "No such thread");
        let row: Option<ThreadRow> = on_db!(self.db, pool => sqlx::query_as(
            r#"SELECT t.id, t.user_id, t.course_id, t.title, t.metadata, t.updated_at, u.name, u.email
               FROM chatkit_thread t JOIN "user" u ON u.id = t.user_id WHERE t.id = $1"#)
            .bind(thread_id).fetch_optional(pool).await)?;
        let row = row.ok_or_else(missing)?;
        let course = match row.course_id.as_deref() {
            Some(k) => match store::course_by_id(self.db, k).await? {
                Some(c) => Some(c),
                None => store::course_by_slug(self.db, k).await?,
            },
            None => None,
        };
        // A thread outside any course belongs to the student alone.
        let Some(course) = course else {
            return Err(ApiError::forbidden(
                "NOT_COURSE_STAFF",
                "This thread belongs to no course you teach",
            ));
        };
        self.teaching().require(user, &course.id).await?;
        let enrolled = store::enrolment(self.db, &row.user_id, &course.id)
            .await?
            .is_some();
        if !enrolled && !teaches_all(user) {
            return Err(ApiError::forbidden(
                "NOT_ENROLLED",
                "The student is not enrolled in this course",
            ));
        }
        let items: Vec<(String, String, DateTime<Utc>)> = on_db!(self.db, pool => sqlx::query_as(
            "SELECT type, content, created_at FROM chatkit_thread_item WHERE thread_id = $1 AND type IN ('user_message', 'assistant_message') ORDER BY seq")
            .bind(thread_id).fetch_all(pool).await)?;
        Ok(ThreadTranscript {
            id: row.id,
            title: row.title,
            course_slug: course.slug,
            student_name: row.name,
            student_email: row.email,
            flags: flags_of(&row.metadata),
            messages: items
                .into_iter()
                .map(|(kind, content, at)| ThreadMessage {
                    role: if kind == "user_message" {
                        "user".into()
                    } else {
                        "assistant".into()
                    },
                    text: item_text(&content),
                    created_at: common::clock::to_iso(&at),
                })
                .collect(),
        })
    }
}
