-- Who teaches which course. Roles stay global (student, instructor, admin);
-- an instructor's course views and authoring are limited to the courses
-- listed here. Admins see every course without a row.
CREATE TABLE course_staff (
    course_id   TEXT NOT NULL REFERENCES course(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    added_by    TEXT REFERENCES "user"(id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
CREATE INDEX course_staff_user ON course_staff(user_id);

-- A new course is a draft its staff build before students see it; the
-- courses that exist already stay in the catalogue.
ALTER TABLE course ADD COLUMN published BOOLEAN NOT NULL DEFAULT TRUE;
