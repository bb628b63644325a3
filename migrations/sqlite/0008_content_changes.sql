-- The search index of every instance follows content through this log: each
-- change to a lesson's chunks (authoring, import, stage moves and renames,
-- deletions) takes the next number under the single content_version row and
-- names the lessons it touched. Because the number is taken under that row's
-- lock, changes become visible in number order, so an instance that has
-- applied everything up to N only needs the lessons logged after N. The row
-- is written by the first change (so a new database holds no data).
CREATE TABLE content_version (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    -- Tells a search index kept on disk which database it was built from.
    epoch  TEXT NOT NULL,
    seq    INTEGER NOT NULL
);

CREATE TABLE content_change (
    seq         INTEGER NOT NULL,
    lesson_id   TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (seq, lesson_id)
);
