//! Checked attempts at exercises. Each attempt is stored with its verdict; a
//! wrong one reveals the next hint, a right one the worked explanation, and
//! when every exercise of a lesson is answered correctly the lesson is
//! complete (which may open the next stage).

use common::{Db, SharedClock};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tutor::answers::{self, Given};

use crate::content::store::{self, Attempt};
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthenticatedUser;
use crate::learning::Learning;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AttemptInput {
    /// The answer: text (`"1.2 rad"`, an option id), or a list of option
    /// ids for a choice with several right options.
    #[schema(value_type = Object)]
    pub answer: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResult {
    pub id: String,
    pub exercise_id: String,
    pub answer: String,
    pub correct: bool,
    /// Why a well-formed answer is wrong, when that helps (a unit of another
    /// quantity, a unit the exercise does not take).
    pub note: Option<String>,
    /// The next hint after a wrong answer.
    pub hint: Option<String>,
    /// The worked explanation after a right answer.
    pub explanation: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: usize,
    pub created_at: String,
    /// Whether every exercise of the lesson is now answered correctly.
    pub lesson_completed: bool,
    pub stage_completed: bool,
    /// The stage this answer opened, if any (its slug).
    pub unlocked_stage: Option<String>,
    /// That stage's title and its first lesson (`stage/lesson`), to link to.
    pub unlocked_title: Option<String>,
    pub unlocked_first: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub id: String,
    pub exercise_id: String,
    pub answer: String,
    pub correct: bool,
    pub created_at: String,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        AttemptView {
            id: a.id,
            exercise_id: a.exercise_id,
            answer: a.answer,
            correct: a.correct,
            created_at: common::clock::to_iso(&a.created_at),
        }
    }
}

pub struct Exercises<'a> {
    pub db: &'a Db,
    pub clock: &'a SharedClock,
}

fn not_found() -> ApiError {
    ApiError::not_found("EXERCISE_NOT_FOUND", "No such exercise")
}

fn given(v: &Value) -> ApiResult<(Given, String)> {
    match v {
        Value::String(s) => Ok((Given::Text(s.clone()), s.clone())),
        Value::Array(a) => {
            let ids = a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::invalid("INVALID_ANSWER", "`answer` lists option ids as text")
                })?;
            if ids.len() > 50 {
                return Err(ApiError::invalid(
                    "INVALID_ANSWER",
                    "Too many options chosen",
                ));
            }
            let shown = ids.join(", ");
            Ok((Given::Choices(ids), shown))
        }
        Value::Number(n) => Ok((Given::Text(n.to_string()), n.to_string())),
        _ => Err(ApiError::invalid(
            "INVALID_ANSWER",
            "`answer` is text, or a list of option ids",
        )),
    }
}

impl Exercises<'_> {
    fn learning(&self) -> Learning<'_> {
        Learning {
            db: self.db,
            clock: self.clock,
        }
    }

    /// Checks and stores an attempt.
    pub async fn attempt(
        &self,
        user: &AuthenticatedUser,
        exercise_id: &str,
        input: &AttemptInput,
    ) -> ApiResult<AttemptResult> {
        let (exercise, lesson_id) = store::exercise_by_id(self.db, exercise_id)
            .await?
            .ok_or_else(not_found)?;
        let (course, stage, lesson, stages) = self.learning().open_by_id(user, &lesson_id).await?;
        let (given, shown) = given(&input.answer)?;
        let verdict = answers::check(&exercise, &given)
            .map_err(|e| ApiError::invalid("INVALID_ANSWER", e.0))?;
        let now = self.clock.now();
        let attempt = Attempt {
            id: common::ids::new_id(),
            user_id: user.id.clone(),
            exercise_id: exercise.id.clone(),
            answer: shown.clone(),
            correct: verdict.correct,
            created_at: now,
        };
        store::insert_attempt(self.db, &attempt).await?;
        let history = store::attempts(self.db, &user.id, &exercise.id).await?;
        let wrong = history.iter().filter(|a| !a.correct).count();
        let solved_before = history.iter().any(|a| a.correct && a.id != attempt.id);
        let (mut lesson_completed, mut stage_completed) = (false, false);
        let (mut unlocked_stage, mut unlocked_title, mut unlocked_first) = (None, None, None);
        if verdict.correct {
            let (_, _, all) = self.learning().exercise_views(user, &lesson.id).await?;
            if all {
                let c = self
                    .learning()
                    .progress(user, &course, &stage, &lesson, &stages)
                    .await?;
                lesson_completed = true;
                stage_completed = c.stage_completed;
                unlocked_stage = c.unlocked_stage;
                unlocked_title = c.unlocked_title;
                unlocked_first = c.unlocked_first;
            }
        }
        Ok(AttemptResult {
            id: attempt.id,
            exercise_id: exercise.id.clone(),
            answer: shown,
            correct: verdict.correct,
            note: verdict.note,
            hint: (!verdict.correct && !solved_before)
                .then(|| {
                    exercise
                        .hint_after(wrong.saturating_sub(1))
                        .map(str::to_string)
                })
                .flatten(),
            explanation: verdict
                .correct
                .then(|| exercise.explanation.clone())
                .flatten(),
            attempts: history.len(),
            created_at: common::clock::to_iso(&now),
            lesson_completed,
            stage_completed,
            unlocked_stage,
            unlocked_title,
            unlocked_first,
        })
    }

    /// A student's attempts at an exercise. Students see their own; staff
    /// may name a student.
    pub async fn attempts(
        &self,
        user: &AuthenticatedUser,
        exercise_id: &str,
        of: Option<&str>,
    ) -> ApiResult<Vec<AttemptView>> {
        let (_, lesson_id) = store::exercise_by_id(self.db, exercise_id)
            .await?
            .ok_or_else(not_found)?;
        let who = match of {
            Some(other) if other != user.id => {
                if !user.is_staff() {
                    return Err(ApiError::forbidden(
                        "FORBIDDEN_ROLE",
                        "Only instructors and admins see other students' attempts",
                    ));
                }
                // Only the course's own staff.
                let course_id = store::course_of_lesson(self.db, &lesson_id)
                    .await?
                    .ok_or_else(not_found)?;
                self.learning().teaching_check(user, &course_id).await?;
                other.to_string()
            }
            _ => {
                self.learning().open_by_id(user, &lesson_id).await?;
                user.id.clone()
            }
        };
        Ok(store::attempts(self.db, &who, exercise_id)
            .await?
            .into_iter()
            .map(AttemptView::from)
            .collect())
    }

    /// The caller's attempts across a course.
    pub async fn mine(
        &self,
        user: &AuthenticatedUser,
        course: &str,
    ) -> ApiResult<Vec<AttemptView>> {
        let c = store::course_by_slug(self.db, course)
            .await?
            .ok_or_else(|| {
                ApiError::not_found("COURSE_NOT_FOUND", format!("No course `{course}`"))
            })?;
        Ok(store::attempts_in_course(self.db, &user.id, &c.id)
            .await?
            .into_iter()
            .map(AttemptView::from)
            .collect())
    }
}
