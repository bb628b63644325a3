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
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// nDCG@k, Recall@k and MRR@k for BM25, dense and fused retrieval. Dense
    /// runs when EMBEDDINGS_MODEL is set.
    Retrieval {
        /// Question set (JSON); default: the sample course's.
        #[arg(long)]
        questions: Option<std::path::PathBuf>,
        /// Course folder to read instead of the embedded sample course.
        #[arg(long)]
        content: Option<std::path::PathBuf>,
        /// Course slug.
        #[arg(long, default_value = "physical-ai")]
        course: String,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
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
    /// Retire the current signing key and create a new one. Tokens signed by
    /// the old key keep verifying until they expire.
    Rotate,
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
