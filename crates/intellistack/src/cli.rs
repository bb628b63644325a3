//! Command-line interface.

use std::net::IpAddr;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "intellistack",
    version,
    about = "IntelliStack: identity provider, learning backend and AI tutor in one binary.",
    long_about = "IntelliStack: identity provider, learning backend and AI tutor in one binary.\n\n\
        Configuration comes from environment variables and an optional .env file \
        (see .env.example). With no command, `serve` runs every role on port 3000 \
        against SQLite under ./data."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: applies pending migrations, then serves the chosen roles
    /// until SIGINT or SIGTERM, letting in-flight requests finish.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit (the server also does this at start).
    Migrate,
    /// Manage users from the shell (for example, bootstrap the first admin).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage JWT signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Evaluate the tutor's retrieval on a judged question set.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// Manage course content.
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// Import users from the previous IntelliStack or from Better-Auth.
    /// Idempotent: a second run adds nothing. See docs/MIGRATION.md.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Compare an import with its source; exits 1 and lists every mismatch.
    ValidateImport(ValidateArgs),
    /// Save the whole database to a new folder, with a checksum manifest.
    Backup {
        /// The folder to create (must not exist, or be empty).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore a folder written by `backup` into DATABASE_URL (stop the server first).
    Restore {
        /// The backup folder.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database that already holds data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The previous IntelliStack auth tables (users, user_roles, oauth_accounts,
    /// user_sessions, login_attempts).
    Legacy {
        /// The source: sqlite:///path/file.db or postgres://user@host/db
        #[arg(long)]
        from: String,
        /// Print the report and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Accounts whose emails differ only in case: refuse the newer one, or merge it into the older.
        #[arg(long, value_enum, default_value = "refuse")]
        duplicates: crate::migration::legacy::Duplicates,
    },
    /// A Better-Auth database (default camelCase schema, SQLite or PostgreSQL).
    BetterAuth {
        /// The source: sqlite:///path/file.db or postgres://user@host/db
        #[arg(long)]
        from: String,
        /// Print the report and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The Better-Auth secret its signing keys are encrypted with (default: BETTER_AUTH_SECRET).
        #[arg(long, env = "BETTER_AUTH_OLD_SECRET", hide_env_values = true)]
        old_secret: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The source the import read.
    #[arg(long)]
    pub from: String,
    /// Which kind of source it is.
    #[arg(long, value_enum, default_value = "legacy")]
    pub kind: SourceKind,
    /// As given to the import.
    #[arg(long, value_enum, default_value = "refuse")]
    pub duplicates: crate::migration::legacy::Duplicates,
    /// As given to the import (Better-Auth sources).
    #[arg(long, env = "BETTER_AUTH_OLD_SECRET", hide_env_values = true)]
    pub old_secret: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SourceKind {
    Legacy,
    BetterAuth,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// nDCG@k, Recall@k and MRR@k for BM25, dense and fused retrieval. Dense
    /// runs when EMBEDDINGS_MODEL is set.
    Retrieval {
        /// Question set (JSON); default: the sample course's.
        #[arg(long)]
        questions: Option<std::path::PathBuf>,
        #[command(flatten)]
        course: EvalCourse,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The tutor's decisions: how often a selection's own section ranks
    /// first, and how often off-course and locked-topic questions get the
    /// "not found" or "locked stage" reply. Exits 1 below 90%.
    Tutor {
        /// Off-course and locked-topic questions (JSON); default: the
        /// sample course's `tutor-eval.json`.
        #[arg(long)]
        set: Option<std::path::PathBuf>,
        /// Judged on-topic questions (JSON); default: the course's `questions.json`.
        #[arg(long)]
        questions: Option<std::path::PathBuf>,
        #[command(flatten)]
        course: EvalCourse,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

/// The course an evaluation reads.
#[derive(Debug, clap::Args)]
pub struct EvalCourse {
    /// Course folder to read instead of the embedded sample course.
    #[arg(long)]
    pub content: Option<std::path::PathBuf>,
    /// Course slug.
    #[arg(long, default_value = "physical-ai")]
    pub course: String,
}

#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Import courses from a folder of Markdown files (see content/README.md).
    /// Courses whose slug already exists are left unchanged.
    Import {
        /// The folder holding one sub-folder per course.
        dir: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user with a verified email and a password.
    /// Example: intellistack users create --email admin@example.com --role admin --password-stdin
    Create {
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// student, instructor or admin.
        #[arg(long, default_value = "student")]
        role: String,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role; it applies to their next token or page load.
    SetRole {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// student, instructor or admin.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Publish a new signing key now; it starts signing after
    /// JWT_KEY_PUBLISH_LEAD_SECS (default 6 minutes), when the current key
    /// stops. Tokens signed by the old key keep verifying until they expire.
    Rotate {
        /// Replace the current key at once (for a key that may be
        /// compromised): services that cached the key set refuse new tokens
        /// until they refetch it.
        #[arg(long)]
        now: bool,
    },
}

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Roles to serve, comma-separated: auth (identity provider under /api/auth),
    /// api (learning backend under /api/v1), web (pages). Default: all three.
    #[arg(long, value_name = "ROLES", default_value = "auth,api,web")]
    pub roles: String,
    /// Port to listen on [env: PORT; default 3000].
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Address to listen on [env: BIND_ADDR; default 127.0.0.1]; use 0.0.0.0 in containers.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
}
