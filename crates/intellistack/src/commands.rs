//! One-shot administrative commands: users and keys.

use std::io::BufRead;
use std::sync::Arc;

use common::{Config, SystemClock};

use crate::Settings;

use crate::cli::{
    ContentCommand, EvalCommand, ImportCommand, KeysCommand, SourceKind, UsersCommand, ValidateArgs,
};
use crate::migration::{self, backup, better_auth, legacy};
use crate::startup::{self, StartError};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Start(#[from] StartError),
    /// The identity service refused or failed.
    #[error("{}", describe(.0))]
    Auth(#[from] auth::AuthError),
    #[error("no user with email {0}; list users in the admin pages")]
    NoSuchUser(String),
    /// Loading courses into the database failed.
    #[error("{0}")]
    Content(#[from] api::ApiError),
    /// A step of the retrieval evaluation failed.
    #[error("{step}: {source}")]
    Retrieval {
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An evaluation ran and scored below its bar (the figures say by how much).
    #[error("{0}")]
    BelowBar(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Migration(#[from] crate::migration::MigrateError),
    /// `validate-import` found differences (already printed).
    #[error("{0} mismatches between the source and the IntelliStack database")]
    Mismatches(usize),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Start(e) => e.exit_code(),
            CommandError::Auth(auth::AuthError::WeakPassword(_)) | CommandError::Usage(_) => 2,
            CommandError::Auth(_)
            | CommandError::NoSuchUser(_)
            | CommandError::Content(_)
            | CommandError::Retrieval { .. }
            | CommandError::BelowBar(_) => 1,
            CommandError::Migration(_) | CommandError::Mismatches(_) => 1,
        }
    }

    fn retrieval<E: std::error::Error + Send + Sync + 'static>(
        step: &'static str,
    ) -> impl FnOnce(E) -> Self {
        move |e| CommandError::Retrieval {
            step,
            source: Box::new(e),
        }
    }
}

/// An auth error as the shell shows it, without internal detail.
fn describe(err: &auth::AuthError) -> String {
    match err {
        auth::AuthError::WeakPassword(v) => format!("{} ({})", v.message(), v.code()),
        auth::AuthError::Coded { code, message, .. } => format!("{message} ({code})"),
        other => other.to_string(),
    }
}

async fn service(config: Settings) -> Result<auth::Auth, CommandError> {
    let db = startup::open_database(&config).await?;
    auth::Auth::new(
        Arc::new(config.core),
        config.auth,
        db,
        Arc::new(SystemClock),
    )
    .map_err(|e| CommandError::Start(e.into()))
}

pub async fn users(config: Settings, command: UsersCommand) -> Result<(), CommandError> {
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
                .await?;
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
            let user = auth
                .find_user_by_email(&email)
                .await?
                .ok_or_else(|| CommandError::NoSuchUser(email.clone()))?;
            let user = auth.set_role(None, &user.id, &role, &meta).await?;
            println!("{} is now {}", user.email, user.role);
            auth.db.close().await;
            Ok(())
        }
    }
}

pub async fn keys(config: Settings, command: KeysCommand) -> Result<(), CommandError> {
    match command {
        KeysCommand::Rotate { now } => {
            let auth = service(config).await?;
            let meta = auth::audit::RequestMeta {
                ip: None,
                user_agent: Some("intellistack-cli".into()),
            };
            let record = |details: serde_json::Value| {
                let log = auth.audit_log();
                let meta = meta.clone();
                async move {
                    log.record(
                        &meta,
                        auth::audit::Entry::new(auth::audit::Event::KeyRotated).details(details),
                    )
                    .await
                }
            };
            if now {
                let kid = auth.keys.rotate_now().await?;
                record(serde_json::json!({"kid": kid, "immediate": true})).await;
                println!(
                    "new signing key {kid}, signing now; the retired keys stay published until the tokens they signed expire. \
                     Services that cached the key set refuse new tokens until they fetch it again."
                );
            } else {
                let r = auth.keys.rotate().await?;
                let at = common::clock::to_iso(&r.activates_at);
                if r.created {
                    record(serde_json::json!({"kid": r.kid, "activates_at": at})).await;
                    println!(
                        "new signing key {} is published now and starts signing at {at}; \
                         the current key signs until then and stays published until its last token expires",
                        r.kid
                    );
                } else {
                    println!(
                        "a rotation is already scheduled: key {} starts signing at {at} (use --now to replace the current key at once)",
                        r.kid
                    );
                }
            }
            auth.db.close().await;
            Ok(())
        }
    }
}

pub async fn content(config: Settings, command: ContentCommand) -> Result<(), CommandError> {
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
            let imported = api::seed::import(&db, &clock, &docs).await?;
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

/// One method's scores, as printed.
#[derive(serde::Serialize)]
struct Row {
    method: &'static str,
    ndcg: f64,
    recall: f64,
    mrr: f64,
}

pub async fn eval(config: Settings, command: EvalCommand) -> Result<(), CommandError> {
    use tutor::eval::{Question, mean, score};
    use tutor::retrieval::bm25::Bm25;
    #[allow(unused_imports)]
    use tutor::retrieval::dense::Embedder as _;
    use tutor::retrieval::dense::{MemoryVectors, Point, VectorStore, embedding_text};

    let (questions, course, k, json) = match command {
        EvalCommand::Retrieval {
            questions,
            course,
            k,
            json,
        } => (questions, course, k, json),
        EvalCommand::Tutor {
            set,
            questions,
            course,
            json,
        } => return eval_tutor(set, questions, course, json),
    };
    let doc = eval_course(&course)?;
    // The question set defaults to the embedded one even with --content.
    let raw = eval_file(
        None,
        &course.course,
        &questions,
        "questions.json",
        "--questions",
    )?;
    let questions: Vec<Question> = serde_json::from_str(&raw)
        .map_err(|e| CommandError::Usage(format!("the question set is not valid: {e}")))?;

    let (passages, keys) = eval_passages(&doc);
    for q in &questions {
        for j in &q.relevant {
            if !keys.iter().any(|(l, h)| *l == j.lesson && *h == j.heading) {
                return Err(CommandError::Usage(format!(
                    "question {} judges `{}` › `{}` relevant, but no such section exists",
                    q.id, j.lesson, j.heading
                )));
            }
        }
    }
    let relevant = |q: &Question| -> Vec<String> {
        passages
            .iter()
            .zip(&keys)
            .filter(|(_, (l, h))| q.relevant.iter().any(|j| j.lesson == *l && j.heading == *h))
            .map(|(p, _)| p.chunk_id.clone())
            .collect()
    };
    let stages: Vec<u64> = (1..=doc.stages.len() as u64).collect();
    eprintln!(
        "evaluating {} questions over {} chunks",
        questions.len(),
        passages.len()
    );
    let bm25 = Bm25::build(&passages).map_err(CommandError::retrieval("search index"))?;
    let lexical: Vec<Vec<String>> = questions
        .iter()
        .map(|q| {
            bm25.search(&q.question, &doc.slug, &stages, 50)
                .map(|hits| hits.into_iter().map(|(_, p)| p.chunk_id).collect())
                .unwrap_or_default()
        })
        .collect();

    let mut rows = vec![Row::from_scores(
        "bm25",
        mean(
            &questions
                .iter()
                .zip(&lexical)
                .map(|(q, r)| score(r, &relevant(q), k))
                .collect::<Vec<_>>(),
        ),
    )];
    match &config.tutor.embeddings {
        None => eprintln!(
            "dense: not configured (set EMBEDDINGS_MODEL to include dense and fused rows)"
        ),
        Some(e) => {
            let embedder = crate::app::embedder(&e.source)?;
            eprintln!("dense: embedding {} chunks", passages.len());
            let texts: Vec<String> = passages.iter().map(embedding_text).collect();
            let vectors = embedder
                .embed(&texts)
                .await
                .map_err(CommandError::retrieval("embeddings failed"))?;
            let store = MemoryVectors::default();
            store
                .replace_all(
                    passages
                        .iter()
                        .zip(vectors)
                        .map(|(p, v)| Point::of(p, v))
                        .collect(),
                )
                .await
                .map_err(CommandError::retrieval("vector search"))?;
            let qv = embedder
                .embed(
                    &questions
                        .iter()
                        .map(|q| q.question.clone())
                        .collect::<Vec<_>>(),
                )
                .await
                .map_err(CommandError::retrieval("embeddings failed"))?;
            let mut dense = Vec::new();
            for v in &qv {
                dense.push(
                    store
                        .search(v, &doc.slug, &stages, 50)
                        .await
                        .map_err(CommandError::retrieval("vector search"))?,
                );
            }
            let fused: Vec<Vec<String>> = lexical
                .iter()
                .zip(&dense)
                .map(|(l, d)| {
                    tutor::retrieval::fusion::rrf(&[l.clone(), d.clone()])
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect()
                })
                .collect();
            rows.push(Row::from_scores(
                "dense",
                mean(
                    &questions
                        .iter()
                        .zip(&dense)
                        .map(|(q, r)| score(r, &relevant(q), k))
                        .collect::<Vec<_>>(),
                ),
            ));
            rows.push(Row::from_scores(
                "fused",
                mean(
                    &questions
                        .iter()
                        .zip(&fused)
                        .map(|(q, r)| score(r, &relevant(q), k))
                        .collect::<Vec<_>>(),
                ),
            ));
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"questions": questions.len(), "chunks": passages.len(), "k": k, "results": rows})
        );
    } else {
        println!("| method | nDCG@{k} | Recall@{k} | MRR@{k} |");
        println!("| --- | --- | --- | --- |");
        for r in &rows {
            println!(
                "| {} | {:.3} | {:.3} | {:.3} |",
                r.method, r.ndcg, r.recall, r.mrr
            );
        }
    }
    Ok(())
}

/// The course to evaluate, from a folder or the embedded sample.
fn eval_course(
    course: &crate::cli::EvalCourse,
) -> Result<api::content::loader::CourseDoc, CommandError> {
    let slug = &course.course;
    let docs = match &course.content {
        Some(dir) => api::content::loader::from_dir(dir),
        None => api::content::loader::embedded(),
    }
    .map_err(|e| CommandError::Usage(format!("{e}; fix the course files first")))?;
    docs.into_iter().find(|d| d.slug == *slug).ok_or_else(|| {
        CommandError::Usage(format!(
            "no course `{slug}`; pass --course with a slug from the content folder"
        ))
    })
}

/// A file of the course (`questions.json`, `tutor-eval.json`): `file` when
/// given (by `flag`), else the one in the course's folder under `content`,
/// else the embedded sample's.
fn eval_file(
    content: Option<&std::path::Path>,
    course: &str,
    file: &Option<std::path::PathBuf>,
    default_name: &str,
    flag: &str,
) -> Result<String, CommandError> {
    Ok(match file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| CommandError::Usage(format!("cannot read {}: {e}", p.display())))?,
        None => match content {
            Some(dir) => {
                std::fs::read_to_string(dir.join(course).join(default_name)).map_err(|e| {
                    CommandError::Usage(format!(
                        "the course `{course}` has no {default_name} ({e}); pass {flag} FILE"
                    ))
                })?
            }
            None => api::content::loader::embedded_file(&format!("{course}/{default_name}"))
                .ok_or_else(|| {
                    CommandError::Usage(format!(
                        "the course `{course}` ships no {default_name}; pass {flag} FILE"
                    ))
                })?
                .to_string(),
        },
    })
}

/// Every lesson chunked the way the server does, with the key of each
/// chunk (`stage/lesson`, heading) and a citation URL.
fn eval_passages(
    doc: &api::content::loader::CourseDoc,
) -> (Vec<tutor::retrieval::bm25::Passage>, Vec<(String, String)>) {
    let mut passages = Vec::new();
    let mut keys = Vec::new();
    for (si, stage) in doc.stages.iter().enumerate() {
        for lesson in &stage.lessons {
            for (ci, chunk) in tutor::retrieval::chunk::chunk_markdown(&lesson.title, &lesson.body)
                .into_iter()
                .enumerate()
            {
                let lesson_key = format!("{}/{}", stage.slug, lesson.slug);
                let heading = chunk.heading_path.last().cloned().unwrap_or_default();
                keys.push((lesson_key.clone(), heading));
                let url = if chunk.anchor.is_empty() {
                    format!("/learn/{lesson_key}")
                } else {
                    format!("/learn/{lesson_key}#{}", chunk.anchor)
                };
                passages.push(tutor::retrieval::bm25::Passage {
                    chunk_id: format!("{lesson_key}#{ci}"),
                    lesson_id: lesson_key,
                    course_id: doc.slug.clone(),
                    stage_position: si as u64 + 1,
                    title: chunk.heading_path.join(" › "),
                    url,
                    text: chunk.text,
                });
            }
        }
    }
    (passages, keys)
}

/// `intellistack eval tutor`: the figures of the tutor's decisions.
fn eval_tutor(
    set: Option<std::path::PathBuf>,
    questions: Option<std::path::PathBuf>,
    course: crate::cli::EvalCourse,
    json: bool,
) -> Result<(), CommandError> {
    use tutor::eval::{DecisionReport, DecisionSet, Question, check_decisions};
    let doc = eval_course(&course)?;
    let content = course.content.as_deref();
    let raw = eval_file(content, &course.course, &set, "tutor-eval.json", "--set")?;
    let set: DecisionSet = serde_json::from_str(&raw)
        .map_err(|e| CommandError::Usage(format!("the decision set is not valid: {e}")))?;
    let raw = eval_file(
        content,
        &course.course,
        &questions,
        "questions.json",
        "--questions",
    )?;
    let judged: Vec<Question> = serde_json::from_str(&raw)
        .map_err(|e| CommandError::Usage(format!("the question set is not valid: {e}")))?;
    let (passages, keys) = eval_passages(&doc);
    let r = check_decisions(&passages, &keys, &set, &judged)
        .map_err(CommandError::retrieval("search index"))?;
    let pct = DecisionReport::pct;
    let selection = pct(r.selection_top1, r.selections);
    let refused = pct(
        r.off_course_refused + r.locked_named + r.locked_not_found,
        r.off_course + r.locked,
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "report": r,
                "selection_top1_pct": selection,
                "refused_pct": refused,
                "locked_named_pct": pct(r.locked_named, r.locked),
                "on_topic_found_pct": pct(r.on_topic_found, r.on_topic),
            })
        );
    } else {
        println!(
            "selection's own section first: {}/{} ({selection:.1}%)",
            r.selection_top1, r.selections
        );
        println!(
            "off-course \"not found\": {}/{}; locked topic names its stage: {}/{} (\"not found\" instead: {}); together {refused:.1}%",
            r.off_course_refused, r.off_course, r.locked_named, r.locked, r.locked_not_found
        );
        println!(
            "judged on-topic questions answered: {}/{} (judged section among the passages: {})",
            r.on_topic_found, r.on_topic, r.on_topic_relevant
        );
        for m in &r.misses {
            println!("  miss: {m}");
        }
    }
    if selection < 90.0 || refused < 90.0 {
        return Err(CommandError::BelowBar(format!(
            "below 90%: selection {selection:.1}%, not found / locked {refused:.1}%"
        )));
    }
    Ok(())
}

impl Row {
    fn from_scores(method: &'static str, s: tutor::eval::Scores) -> Self {
        Row {
            method,
            ndcg: s.ndcg,
            recall: s.recall,
            mrr: s.mrr,
        }
    }
}

/// Refuses a source that is the IntelliStack database itself.
fn distinct_source(config: &Config, from: &str) -> Result<(), CommandError> {
    match common::config::DatabaseConfig::parse(from) {
        Ok(source) if source == config.database => Err(CommandError::Usage(
            "--from is the IntelliStack database itself (DATABASE_URL): point it at the old system's database".into(),
        )),
        _ => Ok(()),
    }
}

pub async fn import(config: Settings, command: ImportCommand) -> Result<(), CommandError> {
    match &command {
        ImportCommand::Legacy { from, .. } | ImportCommand::BetterAuth { from, .. } => {
            distinct_source(&config, from)?
        }
    }
    let target = startup::open_database(&config).await?;
    let now = chrono::Utc::now();
    let report = match command {
        ImportCommand::Legacy {
            from,
            dry_run,
            duplicates,
        } => {
            let source = migration::open_source(&from).await?;
            legacy::import(
                &source,
                &target,
                config.secret.expose(),
                duplicates,
                dry_run,
                now,
            )
            .await?
        }
        ImportCommand::BetterAuth {
            from,
            dry_run,
            old_secret,
        } => {
            let source = migration::open_source(&from).await?;
            let old = old_secret.unwrap_or_else(|| config.secret.expose().to_string());
            better_auth::import(&source, &target, config.secret.expose(), &old, dry_run, now)
                .await?
        }
    };
    print!("{report}");
    target.close().await;
    Ok(())
}

pub async fn validate_import(config: Settings, args: ValidateArgs) -> Result<(), CommandError> {
    let target = startup::open_database(&config).await?;
    let source = migration::open_source(&args.from).await?;
    let now = chrono::Utc::now();
    let (rows, report) = match args.kind {
        SourceKind::Legacy => {
            let plan = legacy::plan(
                &source,
                &target,
                config.secret.expose(),
                args.duplicates,
                now,
            )
            .await?;
            let rows: Vec<_> = plan
                .batches
                .into_iter()
                .flatten()
                .chain(plan.events)
                .collect();
            (rows, plan.report)
        }
        SourceKind::BetterAuth => {
            let old = args
                .old_secret
                .unwrap_or_else(|| config.secret.expose().to_string());
            let plan =
                better_auth::plan(&source, &target, config.secret.expose(), &old, now).await?;
            (plan.rows, plan.report)
        }
    };
    let mismatches = migration::validate::check(&target, &rows, now).await?;
    println!(
        "checked {} rows from the source ({} skipped by design, listed by the import report)",
        rows.len(),
        report.skipped.len()
    );
    target.close().await;
    if mismatches.is_empty() {
        println!("validate-import: everything in the source is in IntelliStack");
        Ok(())
    } else {
        for m in &mismatches {
            println!("MISMATCH {}", m.0);
        }
        Err(CommandError::Mismatches(mismatches.len()))
    }
}

pub async fn backup(config: Settings, to: &std::path::Path) -> Result<(), CommandError> {
    let db = startup::open_database(&config).await?;
    let m = backup::backup(&db, &config.database, to).await?;
    db.close().await;
    let rows: u64 = m.tables.values().map(|t| t.rows).sum();
    println!(
        "backup written to {} ({}, {} bytes, {} tables, {rows} rows, sha256 {})",
        to.display(),
        m.file,
        m.bytes,
        m.tables.len(),
        m.sha256
    );
    Ok(())
}

pub async fn restore(
    config: Settings,
    from: &std::path::Path,
    force: bool,
) -> Result<(), CommandError> {
    let db = startup::open_database(&config).await?;
    let m = backup::restore(db, &config.database, from, force).await?;
    // Re-open and compare with what the backup recorded.
    let db = common::Db::connect(&config.database)
        .await
        .map_err(StartError::from)?;
    let diffs = backup::verify(&db, &m).await?;
    db.close().await;
    if diffs.is_empty() {
        println!(
            "restored {} ({} tables): row counts and content hashes match the manifest",
            m.file,
            m.tables.len()
        );
        Ok(())
    } else {
        for d in &diffs {
            println!("DIFFERS {d}");
        }
        Err(CommandError::Mismatches(diffs.len()))
    }
}
