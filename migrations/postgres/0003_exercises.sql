-- Exercises become data: one row per exercise with its answer spec, and
-- every checked attempt. Exercise ids are unique across the database; they
-- name the exercise in /api/v1/exercises/{id}.

CREATE TABLE exercise (
    id          TEXT PRIMARY KEY,
    lesson_id   TEXT NOT NULL REFERENCES lesson(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    -- The whole exercise as the front matter writes it (JSON).
    spec        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX exercise_lesson ON exercise(lesson_id, position);

CREATE TABLE exercise_attempt (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    exercise_id  TEXT NOT NULL REFERENCES exercise(id) ON DELETE CASCADE,
    -- The attempt's number for this user and exercise (1, 2, …): orders
    -- attempts made within one clock tick.
    number       BIGINT NOT NULL,
    answer       TEXT NOT NULL,
    correct      BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX exercise_attempt_user ON exercise_attempt(user_id, exercise_id, created_at);

-- Exercises that were in play in a tutor thread: the guard keeps guarding
-- them in later turns, whatever page the student is on.
CREATE TABLE chatkit_thread_exercise (
    thread_id    TEXT NOT NULL REFERENCES chatkit_thread(id) ON DELETE CASCADE,
    exercise_id  TEXT NOT NULL,
    PRIMARY KEY (thread_id, exercise_id)
);

-- The answer guard's and the judge's verdicts, counted per user and day.
ALTER TABLE ai_usage_metric ADD COLUMN guard_hits BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ai_usage_metric ADD COLUMN judge_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ai_usage_metric ADD COLUMN judge_flags BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ai_usage_metric ADD COLUMN judge_disagreements BIGINT NOT NULL DEFAULT 0;

-- Exercises stored as free text become short-text exercises accepting the
-- old answer text; an id used twice gets its lesson's id in front.
INSERT INTO exercise (id, lesson_id, position, kind, spec, created_at, updated_at)
SELECT j.value->>'id', l.id, j.ord - 1, 'text',
       jsonb_build_object('id', j.value->>'id', 'kind', 'text', 'prompt', j.value->>'prompt',
                          'answer', jsonb_build_array(j.value->>'answer'),
                          'hints', COALESCE(j.value->'hints', '[]'::jsonb))::text,
       l.created_at, l.updated_at
FROM lesson l, jsonb_array_elements(l.exercises::jsonb) WITH ORDINALITY AS j(value, ord)
WHERE j.value->>'id' IS NOT NULL
ON CONFLICT (id) DO NOTHING;

INSERT INTO exercise (id, lesson_id, position, kind, spec, created_at, updated_at)
SELECT l.id || '-' || (j.value->>'id'), l.id, j.ord - 1, 'text',
       jsonb_build_object('id', l.id || '-' || (j.value->>'id'), 'kind', 'text', 'prompt', j.value->>'prompt',
                          'answer', jsonb_build_array(j.value->>'answer'),
                          'hints', COALESCE(j.value->'hints', '[]'::jsonb))::text,
       l.created_at, l.updated_at
FROM lesson l, jsonb_array_elements(l.exercises::jsonb) WITH ORDINALITY AS j(value, ord)
WHERE j.value->>'id' IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM exercise e WHERE e.lesson_id = l.id AND e.position = j.ord - 1)
ON CONFLICT (id) DO NOTHING;

ALTER TABLE lesson DROP COLUMN exercises;
