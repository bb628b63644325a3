-- The whole IntelliStack data model. PostgreSQL has the same tables in
-- migrations/postgres; a test compares the two column by column.
-- Timestamps are stored as ISO 8601 text in UTC; JSON as text.

-- Identity (Better-Auth's core schema in snake_case) -------------------------

CREATE TABLE "user" (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    image           TEXT,
    role            TEXT NOT NULL DEFAULT 'student',
    banned          BOOLEAN NOT NULL DEFAULT FALSE,
    ban_reason      TEXT,
    ban_expires     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE session (
    id               TEXT PRIMARY KEY,
    token            TEXT NOT NULL UNIQUE,
    user_id          TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    expires_at       TIMESTAMP NOT NULL,
    ip_address       TEXT,
    user_agent       TEXT,
    impersonated_by  TEXT,
    remember_me      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX session_user_id ON session(user_id);

CREATE TABLE account (
    id                        TEXT PRIMARY KEY,
    account_id                TEXT NOT NULL,
    provider_id               TEXT NOT NULL,
    user_id                   TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    access_token              TEXT,
    refresh_token             TEXT,
    id_token                  TEXT,
    access_token_expires_at   TIMESTAMP,
    refresh_token_expires_at  TIMESTAMP,
    scope                     TEXT,
    password                  TEXT,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    UNIQUE (provider_id, account_id)
);
CREATE INDEX account_user_id ON account(user_id);

CREATE TABLE verification (
    id          TEXT PRIMARY KEY,
    identifier  TEXT NOT NULL,
    value       TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX verification_identifier ON verification(identifier);

CREATE TABLE jwks (
    id           TEXT PRIMARY KEY,
    public_key   TEXT NOT NULL,
    private_key  TEXT NOT NULL,
    alg          TEXT NOT NULL,
    crv          TEXT,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP
);

-- OpenID Connect provider ------------------------------------------------------

CREATE TABLE oauth_client (
    id                          TEXT PRIMARY KEY,
    client_id                   TEXT NOT NULL UNIQUE,
    client_secret               TEXT,
    name                        TEXT NOT NULL,
    uri                         TEXT,
    icon                        TEXT,
    redirect_uris               TEXT NOT NULL,
    post_logout_redirect_uris   TEXT NOT NULL DEFAULT '[]',
    grant_types                 TEXT NOT NULL,
    response_types              TEXT NOT NULL,
    scopes                      TEXT NOT NULL,
    token_endpoint_auth_method  TEXT NOT NULL,
    application_type            TEXT NOT NULL DEFAULT 'web',
    skip_consent                BOOLEAN NOT NULL DEFAULT FALSE,
    require_pkce                BOOLEAN NOT NULL DEFAULT TRUE,
    enable_end_session          BOOLEAN NOT NULL DEFAULT FALSE,
    disabled                    BOOLEAN NOT NULL DEFAULT FALSE,
    user_id                     TEXT REFERENCES "user"(id) ON DELETE SET NULL,
    metadata                    TEXT NOT NULL DEFAULT '{}',
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);

CREATE TABLE oauth_authorization_code (
    id                     TEXT PRIMARY KEY,
    code_hash              TEXT NOT NULL UNIQUE,
    client_id              TEXT NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    session_id             TEXT,
    redirect_uri           TEXT NOT NULL,
    scopes                 TEXT NOT NULL,
    nonce                  TEXT,
    code_challenge         TEXT,
    code_challenge_method  TEXT,
    auth_time              TIMESTAMP NOT NULL,
    expires_at             TIMESTAMP NOT NULL,
    consumed_at            TIMESTAMP,
    created_at             TIMESTAMP NOT NULL
);

CREATE TABLE oauth_refresh_token (
    id                     TEXT PRIMARY KEY,
    token_hash             TEXT NOT NULL UNIQUE,
    client_id              TEXT NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    session_id             TEXT,
    family_id              TEXT NOT NULL,
    authorization_code_id  TEXT,
    scopes                 TEXT NOT NULL,
    auth_time              TIMESTAMP,
    expires_at             TIMESTAMP NOT NULL,
    rotated_at             TIMESTAMP,
    revoked_at             TIMESTAMP,
    created_at             TIMESTAMP NOT NULL
);
CREATE INDEX oauth_refresh_token_family ON oauth_refresh_token(family_id);

CREATE TABLE oauth_access_token (
    id                     TEXT PRIMARY KEY,
    token_hash             TEXT NOT NULL UNIQUE,
    client_id              TEXT NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    user_id                TEXT REFERENCES "user"(id) ON DELETE CASCADE,
    session_id             TEXT,
    refresh_token_id       TEXT,
    authorization_code_id  TEXT,
    scopes                 TEXT NOT NULL,
    expires_at             TIMESTAMP NOT NULL,
    revoked_at             TIMESTAMP,
    created_at             TIMESTAMP NOT NULL
);
CREATE INDEX oauth_access_token_code ON oauth_access_token(authorization_code_id);

CREATE TABLE oauth_consent (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (client_id, user_id)
);

-- Ours: lockout, audit, rate limits, job leases --------------------------------

CREATE TABLE login_lockout (
    email           TEXT PRIMARY KEY,
    failed_count    INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMP,
    last_failed_at  TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE auth_event_log (
    id          TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    user_id     TEXT,
    email       TEXT,
    ip_address  TEXT,
    user_agent  TEXT,
    details     TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX auth_event_log_created ON auth_event_log(created_at);
CREATE INDEX auth_event_log_type ON auth_event_log(event_type, created_at);
CREATE INDEX auth_event_log_user ON auth_event_log(user_id);
CREATE INDEX auth_event_log_email ON auth_event_log(email);

CREATE TABLE rate_limit (
    key           TEXT PRIMARY KEY,
    count         INTEGER NOT NULL,
    window_start  TIMESTAMP NOT NULL
);

CREATE TABLE job_lease (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

-- Learning --------------------------------------------------------------------

CREATE TABLE course (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE stage (
    id          TEXT PRIMARY KEY,
    course_id   TEXT NOT NULL REFERENCES course(id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (course_id, slug)
);
CREATE INDEX stage_course_position ON stage(course_id, position);

CREATE TABLE lesson (
    id          TEXT PRIMARY KEY,
    stage_id    TEXT NOT NULL REFERENCES stage(id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    exercises   TEXT NOT NULL DEFAULT '[]',
    position    INTEGER NOT NULL,
    author_id   TEXT REFERENCES "user"(id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (stage_id, slug)
);
CREATE INDEX lesson_stage_position ON lesson(stage_id, position);

CREATE TABLE enrolment (
    user_id             TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    course_id           TEXT NOT NULL REFERENCES course(id) ON DELETE CASCADE,
    unlocked_position   INTEGER NOT NULL DEFAULT 1,
    enrolled_at         TIMESTAMP NOT NULL,
    enrolment_ended_at  TIMESTAMP,
    PRIMARY KEY (user_id, course_id)
);

CREATE TABLE lesson_progress (
    user_id       TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    lesson_id     TEXT NOT NULL REFERENCES lesson(id) ON DELETE CASCADE,
    completed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, lesson_id)
);

-- Chat --------------------------------------------------------------------------

CREATE TABLE chatkit_thread (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    title                TEXT,
    course_id            TEXT,
    lesson_stage         INTEGER,
    status               TEXT NOT NULL DEFAULT '{"type":"active"}',
    metadata             TEXT NOT NULL DEFAULT '{}',
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    enrollment_ended_at  TIMESTAMP
);
CREATE INDEX chatkit_thread_user_updated ON chatkit_thread(user_id, updated_at);

CREATE TABLE chatkit_thread_item (
    id          TEXT PRIMARY KEY,
    thread_id   TEXT NOT NULL REFERENCES chatkit_thread(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    role        TEXT,
    content     TEXT NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (thread_id, seq)
);

CREATE TABLE chatkit_rate_limit (
    user_id        TEXT PRIMARY KEY REFERENCES "user"(id) ON DELETE CASCADE,
    message_count  INTEGER NOT NULL DEFAULT 0,
    window_start   TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

-- One row per accepted student message: the rolling 24-hour quota counts these.
CREATE TABLE chatkit_quota_event (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX chatkit_quota_event_user ON chatkit_quota_event(user_id, created_at);

CREATE TABLE ai_usage_metric (
    user_id                 TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    date                    TEXT NOT NULL,
    message_count           INTEGER NOT NULL DEFAULT 0,
    total_response_time_ms  INTEGER NOT NULL DEFAULT 0,
    error_count             INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, date)
);

-- Retrieval -------------------------------------------------------------------

CREATE TABLE content_chunk (
    id              TEXT PRIMARY KEY,
    lesson_id       TEXT NOT NULL REFERENCES lesson(id) ON DELETE CASCADE,
    course_id       TEXT NOT NULL,
    stage_position  INTEGER NOT NULL,
    heading_path    TEXT NOT NULL,
    anchor          TEXT NOT NULL,
    position        INTEGER NOT NULL,
    text            TEXT NOT NULL,
    hash            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX content_chunk_lesson ON content_chunk(lesson_id);

CREATE TABLE content_embedding (
    chunk_id    TEXT PRIMARY KEY REFERENCES content_chunk(id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    dimensions  INTEGER NOT NULL,
    vector      BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
