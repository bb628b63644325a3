//! Who teaches which course. Roles are global (student, instructor, admin);
//! an instructor's course views — the workspace, class insight, students'
//! tutor threads, locked stages — are limited to the courses they are staff
//! of, checked against the database on every request. Admins see every
//! course. The creator of a course becomes its first instructor; admins add
//! and remove the others.

use common::{Db, SharedClock};
use serde::{Deserialize, Serialize};

use crate::content::store::{self, Course};
use crate::content::valid_slug;
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthenticatedUser;

/// Admins see and manage every course.
pub fn teaches_all(user: &AuthenticatedUser) -> bool {
    user.can("course", "manage-all")
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCourse {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CoursePatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Students see a course once it is published.
    pub published: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub published: bool,
}

impl From<&Course> for CourseView {
    fn from(c: &Course) -> Self {
        CourseView {
            id: c.id.clone(),
            slug: c.slug.clone(),
            title: c.title.clone(),
            summary: c.summary.clone(),
            published: c.published,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffMember {
    pub user_id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffInput {
    /// The instructor's email address.
    pub email: String,
}

pub struct Teaching<'a> {
    pub db: &'a Db,
    pub clock: &'a SharedClock,
}

fn not_staff() -> ApiError {
    ApiError::forbidden(
        "NOT_COURSE_STAFF",
        "Only this course's instructors and admins may do this",
    )
}

fn check_title(title: &str) -> ApiResult<()> {
    if title.trim().is_empty() || title.chars().count() > 200 {
        Err(ApiError::invalid(
            "INVALID_TITLE",
            "A title is 1 to 200 characters",
        ))
    } else {
        Ok(())
    }
}

/// A unique-constraint violation on the slug becomes 409.
fn slug_conflict(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            ApiError::conflict("SLUG_TAKEN", "Another course already uses that slug")
        }
        _ => ApiError::Db(e),
    }
}

impl Teaching<'_> {
    /// Whether `user` may see and change the course: an admin, or an
    /// instructor listed as its staff. Read from the database each time.
    pub async fn may_teach(&self, user: &AuthenticatedUser, course_id: &str) -> ApiResult<bool> {
        if teaches_all(user) {
            return Ok(true);
        }
        if !user.can("course", "author") {
            return Ok(false);
        }
        Ok(store::is_staff_of(self.db, &user.id, course_id).await?)
    }

    /// The course by slug, if `user` may teach it: 404 when there is no such
    /// course, 403 `NOT_COURSE_STAFF` when it is someone else's.
    pub async fn course(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<Course> {
        let c = store::course_by_slug(self.db, slug).await?.ok_or_else(|| {
            ApiError::not_found("COURSE_NOT_FOUND", format!("No course `{slug}`"))
        })?;
        self.require(user, &c.id).await?;
        Ok(c)
    }

    /// 403 `NOT_COURSE_STAFF` unless `user` may teach the course.
    pub async fn require(&self, user: &AuthenticatedUser, course_id: &str) -> ApiResult<()> {
        if self.may_teach(user, course_id).await? {
            Ok(())
        } else {
            Err(not_staff())
        }
    }

    /// The courses `user` teaches: every course for admins.
    pub async fn courses(&self, user: &AuthenticatedUser) -> ApiResult<Vec<Course>> {
        if teaches_all(user) {
            Ok(store::courses(self.db).await?)
        } else if user.can("course", "author") {
            Ok(store::courses_taught(self.db, &user.id).await?)
        } else {
            Ok(Vec::new())
        }
    }

    /// Creates a draft course; its creator becomes its instructor.
    pub async fn create_course(
        &self,
        user: &AuthenticatedUser,
        input: NewCourse,
    ) -> ApiResult<Course> {
        if !user.can("course", "author") {
            return Err(ApiError::forbidden(
                "FORBIDDEN_ROLE",
                "This needs the instructor or admin role",
            ));
        }
        if !valid_slug(&input.slug) {
            return Err(ApiError::invalid(
                "INVALID_SLUG",
                "Slugs are lower-case letters, digits and single hyphens",
            ));
        }
        check_title(&input.title)?;
        let now = self.clock.now();
        let course = Course {
            id: common::ids::new_id(),
            slug: input.slug,
            title: input.title.trim().to_string(),
            summary: input.summary.trim().to_string(),
            created_at: now,
            updated_at: now,
            published: false,
        };
        store::insert_course(self.db, &course)
            .await
            .map_err(slug_conflict)?;
        store::add_staff(self.db, &course.id, &user.id, Some(&user.id), now).await?;
        Ok(course)
    }

    pub async fn update_course(
        &self,
        user: &AuthenticatedUser,
        slug: &str,
        patch: CoursePatch,
    ) -> ApiResult<Course> {
        let mut c = self.course(user, slug).await?;
        if let Some(t) = patch.title {
            check_title(&t)?;
            c.title = t.trim().to_string();
        }
        if let Some(s) = patch.summary {
            c.summary = s.trim().to_string();
        }
        if let Some(p) = patch.published {
            c.published = p;
        }
        c.updated_at = self.clock.now();
        store::update_course(self.db, &c).await?;
        Ok(c)
    }

    pub async fn staff(&self, user: &AuthenticatedUser, slug: &str) -> ApiResult<Vec<StaffMember>> {
        let c = self.course(user, slug).await?;
        Ok(store::staff_of(self.db, &c.id)
            .await?
            .into_iter()
            .map(|(user_id, name, email)| StaffMember {
                user_id,
                name,
                email,
            })
            .collect())
    }

    /// Admins assign instructors: the account must exist and hold the
    /// instructor or admin role now.
    pub async fn add_staff(
        &self,
        admin: &AuthenticatedUser,
        slug: &str,
        email: &str,
    ) -> ApiResult<StaffMember> {
        if !teaches_all(admin) {
            return Err(ApiError::forbidden(
                "FORBIDDEN_ROLE",
                "Only admins assign instructors to courses",
            ));
        }
        let c = self.course(admin, slug).await?;
        let email = email.trim().to_lowercase();
        let (id, name, email, role) =
            store::account_by_email(self.db, &email)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found("USER_NOT_FOUND", format!("No account `{email}`"))
                })?;
        if !auth::access::allows(&role, "course", "author") {
            return Err(ApiError::invalid(
                "NOT_AN_INSTRUCTOR",
                format!("{email} is a {role}; give them the instructor role first"),
            ));
        }
        store::add_staff(self.db, &c.id, &id, Some(&admin.id), self.clock.now()).await?;
        Ok(StaffMember {
            user_id: id,
            name,
            email,
        })
    }

    pub async fn remove_staff(
        &self,
        admin: &AuthenticatedUser,
        slug: &str,
        user_id: &str,
    ) -> ApiResult<()> {
        if !teaches_all(admin) {
            return Err(ApiError::forbidden(
                "FORBIDDEN_ROLE",
                "Only admins assign instructors to courses",
            ));
        }
        let c = self.course(admin, slug).await?;
        if !store::remove_staff(self.db, &c.id, user_id).await? {
            return Err(ApiError::not_found(
                "STAFF_NOT_FOUND",
                "That user is not staff of this course",
            ));
        }
        Ok(())
    }
}
