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
