//! One-shot administrative commands: users and keys.

use std::io::BufRead;
use std::sync::Arc;

use common::{Config, SystemClock};

use crate::cli::{ContentCommand, KeysCommand, UsersCommand};
use crate::startup::{self, StartError};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Usage(String),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Start(e) => e.exit_code(),
            CommandError::Auth(_) => 1,
            CommandError::Usage(_) => 2,
        }
    }
}

/// Describes an auth error for the shell, without internal detail.
fn describe(err: auth::AuthError) -> CommandError {
    match err {
        auth::AuthError::WeakPassword(v) => {
            CommandError::Usage(format!("{} ({})", v.message(), v.code()))
        }
        auth::AuthError::Coded { code, message, .. } => {
            CommandError::Auth(format!("{message} ({code})"))
        }
        other => CommandError::Auth(other.to_string()),
    }
}

async fn service(config: Config) -> Result<auth::Auth, CommandError> {
    let db = startup::open_database(&config).await?;
    auth::Auth::new(Arc::new(config), db, Arc::new(SystemClock))
        .map_err(|e| CommandError::Start(e.into()))
}

pub async fn users(config: Config, command: UsersCommand) -> Result<(), CommandError> {
    let meta = auth::audit::RequestMeta {
        ip: None,
        user_agent: Some("intellistack-cli".into()),
    };
    match command {
        UsersCommand::Create {
            email,
            name,
            role,
            password,
            password_stdin,
        } => {
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                        CommandError::Usage(format!(
                            "cannot read the password from standard input: {e}"
                        ))
                    })?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
                (None, false) => {
                    return Err(CommandError::Usage(
                        "give a password with --password-stdin (recommended) or --password".into(),
                    ));
                }
            };
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or("user").to_string());
            let auth = service(config).await?;
            let user = auth
                .create_user_as_admin(
                    auth::admin::NewUserByAdmin {
                        email,
                        name,
                        password: Some(password),
                        role,
                        email_verified: true,
                    },
                    &meta,
                )
                .await
                .map_err(describe)?;
            println!(
                "created {} <{}> with role {} (id {})",
                user.name, user.email, user.role, user.id
            );
            auth.db.close().await;
            Ok(())
        }
        UsersCommand::SetRole { email, role } => {
            let auth = service(config).await?;
            let email = auth::users::normalize_email(&email)
                .ok_or_else(|| CommandError::Usage(format!("`{email}` is not an email address")))?;
            let user = auth::users::store::find_by_email(&auth.db, &email)
                .await
                .map_err(|e| CommandError::Auth(e.to_string()))?
                .ok_or_else(|| {
                    CommandError::Auth(format!(
                        "no user with email {email}; list users in the admin pages"
                    ))
                })?;
            let user = auth
                .set_role(None, &user.id, &role, &meta)
                .await
                .map_err(describe)?;
            println!("{} is now {}", user.email, user.role);
            auth.db.close().await;
            Ok(())
        }
    }
}

pub async fn keys(config: Config, command: KeysCommand) -> Result<(), CommandError> {
    match command {
        KeysCommand::Rotate => {
            let auth = service(config).await?;
            let kid = auth.keys.rotate().await.map_err(describe)?;
            let meta = auth::audit::RequestMeta {
                ip: None,
                user_agent: Some("intellistack-cli".into()),
            };
            let _ = auth::audit::record(
                &auth.db,
                &meta,
                auth::audit::Entry::new(auth::audit::Event::KeyRotated)
                    .details(serde_json::json!({"kid": kid})),
                chrono::Utc::now(),
            )
            .await;
            println!(
                "new signing key {kid}; previous keys stay published until their tokens expire"
            );
            auth.db.close().await;
            Ok(())
        }
    }
}

pub async fn content(config: Config, command: ContentCommand) -> Result<(), CommandError> {
    match command {
        ContentCommand::Import { dir } => {
            let docs = api::content::loader::from_dir(&dir).map_err(|e| {
                CommandError::Usage(format!("{e}; fix the file and run the import again"))
            })?;
            if docs.is_empty() {
                return Err(CommandError::Usage(format!(
                    "no course.md found under {}; each course needs its own folder with a course.md",
                    dir.display()
                )));
            }
            let db = startup::open_database(&config).await?;
            let clock: common::SharedClock = Arc::new(SystemClock);
            let imported = api::seed::import(&db, &clock, &docs)
                .await
                .map_err(|e| CommandError::Auth(e.to_string()))?;
            for d in &docs {
                let lessons: usize = d.stages.iter().map(|s| s.lessons.len()).sum();
                let state = if imported.contains(&d.slug) {
                    "imported"
                } else {
                    "already present, unchanged"
                };
                println!(
                    "{}: {} stages, {} lessons — {}",
                    d.slug,
                    d.stages.len(),
                    lessons,
                    state
                );
            }
            db.close().await;
            Ok(())
        }
    }
}
