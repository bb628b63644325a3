//! Learning: the catalogue, enrolment, course outlines with progress, lesson
//! access and completion. Finishing every lesson of a stage unlocks the next
//! one; instructors and admins see every stage.

use std::collections::HashSet;

use common::{Db, SharedClock};
use serde::Serialize;

use crate::chat::store::{set_course_threads_ended, set_courseless_threads_ended};
use crate::content::render::{Heading, render};
use crate::content::store::{self, Course, Lesson, Stage};
use crate::content::{Exercise, PublicExercise};
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthenticatedUser;
use crate::teaching::Teaching;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseSummary {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub enrolled: bool,
    /// The caller is an instructor of this course (or an admin).
    pub teaching: bool,
    pub published: bool,
    pub stage_count: usize,
    pub lesson_count: usize,
    pub completed_count: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonItem {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub position: i64,
    pub completed: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageOutline {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub position: i64,
    pub locked: bool,
    pub lessons: Vec<LessonItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outline {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub enrolled: bool,
    pub completed_count: usize,
    pub lesson_count: usize,
    pub stages: Vec<StageOutline>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub course_slug: String,
    pub stage_slug: String,
    pub stage_title: String,
    pub stage_position: i64,
    pub html: String,
    pub headings: Vec<Heading>,
    pub exercises: Vec<PublicExercise>,
    pub completed: bool,
    /// Lessons with exercises are completed by answering them correctly;
    /// others with "Mark complete".
    pub completed_by_exercises: bool,
    pub previous: Option<String>,
    /// The next lesson, when the caller may open it.
    pub next: Option<String>,
    /// The title of the next stage when it is still locked for the caller
    /// (this is the stage's last lesson).
    pub next_stage_locked: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub completed: bool,
    pub stage_completed: bool,
    /// The stage that this completion opened, if any (its slug).
    pub unlocked_stage: Option<String>,
    /// That stage's title and its first lesson (`stage/lesson`), to link to.
    pub unlocked_title: Option<String>,
    pub unlocked_first: Option<String>,
}

pub struct Learning<'a> {
    pub db: &'a Db,
    pub clock: &'a SharedClock,
}

/// Which stage positions a user may open: every one for the course's
/// staff, the unlocked ones for students.
fn open_positions(teaches: bool, stages: &[Stage], unlocked: Option<i64>) -> HashSet<i64> {
    stages
        .iter()
        .filter(|s| teaches || unlocked.is_some_and(|u| s.position <= u))
        .map(|s| s.position)
        .collect()
}

impl Learning<'_> {
    fn teaching(&self) -> Teaching<'_> {
        Teaching {
            db: self.db,
            clock: self.clock,
        }
    }

    /// Whether the caller is staff of the course (admins are of every one).
    pub async fn teaches(&self, user: &AuthenticatedUser, course_id: &str) -> ApiResult<bool> {
        self.teaching().may_teach(user, course_id).await
    }

    /// 403 `NOT_COURSE_STAFF` unless the caller teaches the course.
    pub async fn teaching_check(&self, user: &AuthenticatedUser, course_id: &str) -> ApiResult<()> {
        self.teaching().require(user, course_id).await
    }

    /// A course the caller may see: a draft only for its staff.
    async fn course(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<Course> {
        let missing = || ApiError::not_found("COURSE_NOT_FOUND", format!("No course `{slug}`"));
        let c = store::course_by_slug(self.db, slug)
            .await?
            .ok_or_else(missing)?;
        if !c.published && !self.teaches(user, &c.id).await? {
            return Err(missing());
        }
        Ok(c)
    }

    /// Where a lesson named by its stage and lesson slugs lives: (course
    /// slug, lesson id), in the first course that has them. Names only, no
    /// content: the pages that follow check access.
    pub async fn locate(&self, stage: &str, lesson: &str) -> ApiResult<Option<(String, String)>> {
        for c in store::courses(self.db).await? {
            for s in store::stages(self.db, &c.id).await? {
                if s.slug != stage {
                    continue;
                }
                if let Some(l) = store::lessons_of_stage(self.db, &s.id)
                    .await?
                    .into_iter()
                    .find(|l| l.slug == lesson)
                {
                    return Ok(Some((c.slug, l.id)));
                }
            }
        }
        Ok(None)
    }

    /// The published courses, as anyone may see them (the landing page):
    /// title, summary and stage titles.
    pub async fn public_catalogue(&self) -> ApiResult<Vec<(Course, Vec<Stage>)>> {
        let mut out = Vec::new();
        for c in store::courses(self.db).await? {
            if c.published {
                let stages = store::stages(self.db, &c.id).await?;
                out.push((c, stages));
            }
        }
        Ok(out)
    }

    pub async fn catalogue(&self, user: &AuthenticatedUser) -> ApiResult<Vec<CourseSummary>> {
        let mut out = Vec::new();
        for c in store::courses(self.db).await? {
            let teaching = self.teaches(user, &c.id).await?;
            if !c.published && !teaching {
                continue;
            }
            let stages = store::stages(self.db, &c.id).await?;
            let lessons = store::lessons_of_course(self.db, &c.id).await?;
            let enrolled = store::enrolment(self.db, &user.id, &c.id).await?.is_some();
            let done = store::completed_lessons(self.db, &user.id, &c.id)
                .await?
                .len();
            out.push(CourseSummary {
                id: c.id,
                slug: c.slug,
                title: c.title,
                summary: c.summary,
                enrolled,
                teaching,
                published: c.published,
                stage_count: stages.len(),
                lesson_count: lessons.len(),
                completed_count: done,
            });
        }
        Ok(out)
    }

    pub async fn enrol(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<bool> {
        let c = self.course(user, slug).await?;
        let new = store::enrol(self.db, &user.id, &c.id, self.clock.now()).await?;
        if new {
            // Coming back within the retention period keeps the old threads.
            set_course_threads_ended(self.db, &user.id, (&c.id, &c.slug), None).await?;
            set_courseless_threads_ended(self.db, &user.id, None).await?;
        }
        Ok(new)
    }

    /// Ends the caller's enrolment: stages close, progress is kept for a
    /// return, and the course's tutor threads are deleted after the
    /// retention period unless they enrol again. Returns whether they were
    /// enrolled; leaving twice is not an error.
    pub async fn leave(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<bool> {
        let c = self.course(user, slug).await?;
        let now = self.clock.now();
        // The enrolment first: if marking the threads then fails, they are
        // kept longer, never deleted early.
        let left = store::end_enrolment(self.db, &user.id, &c.id, now).await?;
        if left {
            set_course_threads_ended(self.db, &user.id, (&c.id, &c.slug), Some(now)).await?;
            // The last current enrolment takes the course-less threads with it.
            set_courseless_threads_ended(self.db, &user.id, Some(now)).await?;
        }
        Ok(left)
    }

    pub async fn outline(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<Outline> {
        let c = self.course(user, slug).await?;
        let stages = store::stages(self.db, &c.id).await?;
        let lessons = store::lessons_of_course(self.db, &c.id).await?;
        let enrolment = store::enrolment(self.db, &user.id, &c.id).await?;
        let teaches = self.teaches(user, &c.id).await?;
        let done: HashSet<String> = store::completed_lessons(self.db, &user.id, &c.id)
            .await?
            .into_iter()
            .collect();
        let open = open_positions(
            teaches,
            &stages,
            enrolment.as_ref().map(|e| e.unlocked_position),
        );
        let stage_views = stages
            .iter()
            .map(|s| StageOutline {
                id: s.id.clone(),
                slug: s.slug.clone(),
                title: s.title.clone(),
                summary: s.summary.clone(),
                position: s.position,
                locked: !open.contains(&s.position),
                lessons: lessons
                    .iter()
                    .filter(|l| l.stage_id == s.id)
                    .map(|l| LessonItem {
                        id: l.id.clone(),
                        slug: l.slug.clone(),
                        title: l.title.clone(),
                        position: l.position,
                        completed: done.contains(&l.id),
                    })
                    .collect(),
            })
            .collect();
        Ok(Outline {
            id: c.id,
            slug: c.slug,
            title: c.title,
            summary: c.summary,
            enrolled: enrolment.is_some(),
            completed_count: lessons.iter().filter(|l| done.contains(&l.id)).count(),
            lesson_count: lessons.len(),
            stages: stage_views,
        })
    }

    /// Finds a lesson and checks the caller may open it.
    pub async fn open(
        &self,
        user: &AuthenticatedUser,
        course: &str,
        stage: &str,
        lesson: &str,
    ) -> ApiResult<(Course, Stage, Lesson, Vec<Stage>)> {
        let c = self.course(user, course).await?;
        let stages = store::stages(self.db, &c.id).await?;
        let s = stages
            .iter()
            .find(|s| s.slug == stage)
            .cloned()
            .ok_or_else(|| ApiError::not_found("LESSON_NOT_FOUND", "No such lesson"))?;
        let l = store::lessons_of_stage(self.db, &s.id)
            .await?
            .into_iter()
            .find(|l| l.slug == lesson)
            .ok_or_else(|| ApiError::not_found("LESSON_NOT_FOUND", "No such lesson"))?;
        self.check_access(user, &c, &s).await?;
        Ok((c, s, l, stages))
    }

    /// A lesson by id with its stage, course and the course's stages, if the
    /// caller may open it.
    pub async fn open_by_id(
        &self,
        user: &AuthenticatedUser,
        lesson_id: &str,
    ) -> ApiResult<(Course, Stage, Lesson, Vec<Stage>)> {
        let missing = || ApiError::not_found("LESSON_NOT_FOUND", "No such lesson");
        let l = store::lesson_by_id(self.db, lesson_id)
            .await?
            .ok_or_else(missing)?;
        let s = store::stage_by_id(self.db, &l.stage_id)
            .await?
            .ok_or_else(missing)?;
        let c = store::course_by_id(self.db, &s.course_id)
            .await?
            .ok_or_else(missing)?;
        let stages = store::stages(self.db, &c.id).await?;
        if !c.published && !self.teaches(user, &c.id).await? {
            return Err(missing());
        }
        self.check_access(user, &c, &s).await?;
        Ok((c, s, l, stages))
    }

    /// Students must be enrolled and have the stage unlocked; the course's
    /// staff may open everything.
    async fn check_access(&self, user: &AuthenticatedUser, c: &Course, s: &Stage) -> ApiResult<()> {
        if !self.teaches(user, &c.id).await? {
            let Some(e) = store::enrolment(self.db, &user.id, &c.id).await? else {
                return Err(ApiError::forbidden(
                    "NOT_ENROLLED",
                    "Enrol in the course to open its lessons",
                ));
            };
            if s.position > e.unlocked_position {
                return Err(ApiError::forbidden(
                    "STAGE_LOCKED",
                    "This stage unlocks when you finish every lesson of the stage before it",
                ));
            }
        }
        Ok(())
    }

    /// The lesson's exercises as this user sees them, and whether every one
    /// is solved.
    pub async fn exercise_views(
        &self,
        user: &AuthenticatedUser,
        lesson_id: &str,
    ) -> ApiResult<(Vec<Exercise>, Vec<PublicExercise>, bool)> {
        let list = store::exercises_of_lesson(self.db, lesson_id).await?;
        let counts = store::attempt_counts(self.db, &user.id, lesson_id).await?;
        let views: Vec<PublicExercise> = list
            .iter()
            .map(|e| {
                let (n, ok) = counts
                    .iter()
                    .find(|(id, _, _)| id == &e.id)
                    .map(|(_, n, ok)| (*n as usize, *ok as usize))
                    .unwrap_or((0, 0));
                PublicExercise::view(e, n, n - ok, ok > 0)
            })
            .collect();
        let all = views.iter().all(|v| v.solved);
        Ok((list, views, all))
    }

    pub async fn lesson(
        &self,
        user: &AuthenticatedUser,
        course: &str,
        stage: &str,
        lesson: &str,
    ) -> ApiResult<LessonView> {
        let (c, s, l, _) = self.open(user, course, stage, lesson).await?;
        let all = store::lessons_of_course(self.db, &c.id).await?;
        let stages = store::stages(self.db, &c.id).await?;
        let path_of = |l: &Lesson| {
            stages
                .iter()
                .find(|st| st.id == l.stage_id)
                .map(|st| format!("{}/{}", st.slug, l.slug))
        };
        let idx = all.iter().position(|x| x.id == l.id);
        let previous = idx
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| all.get(i))
            .and_then(path_of);
        let unlocked = store::enrolment(self.db, &user.id, &c.id)
            .await?
            .map(|e| e.unlocked_position);
        let open = open_positions(self.teaches(user, &c.id).await?, &stages, unlocked);
        let next_lesson = idx.and_then(|i| all.get(i + 1));
        let next_stage = next_lesson.and_then(|n| stages.iter().find(|st| st.id == n.stage_id));
        // The last lesson of a stage leads into the next stage only once it is
        // open; before that the page names the stage instead of a locked link.
        let (next, next_stage_locked) = match (next_lesson, next_stage) {
            (Some(n), Some(st)) if open.contains(&st.position) => (path_of(n), None),
            (Some(_), Some(st)) => (None, Some(st.title.clone())),
            _ => (None, None),
        };
        let done = store::completed_lessons(self.db, &user.id, &c.id).await?;
        let rendered = render(&l.body);
        let (_, exercises, _) = self.exercise_views(user, &l.id).await?;
        Ok(LessonView {
            completed: done.contains(&l.id),
            completed_by_exercises: !exercises.is_empty(),
            exercises,
            id: l.id,
            slug: l.slug,
            title: l.title,
            course_slug: c.slug,
            stage_slug: s.slug,
            stage_title: s.title,
            stage_position: s.position,
            html: rendered.html,
            headings: rendered.headings,
            previous,
            next,
            next_stage_locked,
        })
    }

    pub async fn complete(
        &self,
        user: &AuthenticatedUser,
        course: &str,
        stage: &str,
        lesson: &str,
    ) -> ApiResult<Completion> {
        let (c, s, l, stages) = self.open(user, course, stage, lesson).await?;
        let (list, _, solved) = self.exercise_views(user, &l.id).await?;
        if !list.is_empty() && !solved {
            return Err(ApiError::conflict(
                "EXERCISES_PENDING",
                "This lesson is complete when its exercises are answered correctly",
            ));
        }
        self.progress(user, &c, &s, &l, &stages).await
    }

    /// Records a finished lesson and opens the next stage once every lesson
    /// of this one is finished.
    pub async fn progress(
        &self,
        user: &AuthenticatedUser,
        c: &Course,
        s: &Stage,
        l: &Lesson,
        stages: &[Stage],
    ) -> ApiResult<Completion> {
        if store::enrolment(self.db, &user.id, &c.id).await?.is_none() {
            // Staff may read without enrolling; progress needs an enrolment.
            store::enrol(self.db, &user.id, &c.id, self.clock.now()).await?;
        }
        store::mark_complete(self.db, &user.id, &l.id, self.clock.now()).await?;
        let done: HashSet<String> = store::completed_lessons(self.db, &user.id, &c.id)
            .await?
            .into_iter()
            .collect();
        let stage_lessons = store::lessons_of_stage(self.db, &s.id).await?;
        let stage_completed = stage_lessons.iter().all(|x| done.contains(&x.id));
        let mut unlocked = None;
        if stage_completed
            && let Some(next) = stages.iter().find(|x| x.position > s.position)
            && store::raise_unlocked(self.db, &user.id, &c.id, next.position).await?
        {
            let first = store::lessons_of_stage(self.db, &next.id)
                .await?
                .into_iter()
                .next()
                .map(|l| format!("{}/{}", next.slug, l.slug));
            unlocked = Some((next.slug.clone(), next.title.clone(), first));
        }
        let (unlocked_stage, unlocked_title, unlocked_first) = match unlocked {
            Some((slug, title, first)) => (Some(slug), Some(title), first),
            None => (None, None, None),
        };
        Ok(Completion {
            completed: true,
            stage_completed,
            unlocked_stage,
            unlocked_title,
            unlocked_first,
        })
    }
}
