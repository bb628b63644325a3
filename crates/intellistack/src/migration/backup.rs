//! `backup` and `restore`. SQLite is copied with `VACUUM INTO` (a consistent
//! snapshot while the server runs); PostgreSQL with `pg_dump`/`pg_restore`
//! in custom format. A manifest records the file's SHA-256 and, per table,
//! the row count and a hash of the content, so a restore can prove it
//! brought back exactly what was saved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::config::DatabaseConfig;
use common::{Db, on_db};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row as _};

use super::MigrateError;

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableSum {
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub created_at: String,
    pub tables: BTreeMap<String, TableSum>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn file_sha256(path: &Path) -> Result<(String, u64), MigrateError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| MigrateError::Io(format!("cannot read {}: {e}", path.display())))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| MigrateError::Io(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        ctx.update(&buf[..n]);
    }
    Ok((hex(ctx.finish().as_ref()), total))
}

/// The application's tables (not the migration bookkeeping).
async fn tables(db: &Db) -> Result<Vec<String>, MigrateError> {
    let rows: Vec<(String,)> = match db {
        Db::Sqlite(p) => sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name").fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE '_sqlx%' ORDER BY table_name").fetch_all(p).await,
    }
    .map_err(MigrateError::Write)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub(crate) async fn columns(db: &Db, table: &str) -> Result<Vec<String>, MigrateError> {
    let rows: Vec<(String,)> = match db {
        Db::Sqlite(p) => sqlx::query_as("SELECT name FROM pragma_table_info($1) ORDER BY cid").bind(table).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as("SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position").bind(table).fetch_all(p).await,
    }
    .map_err(MigrateError::Write)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Row count and content hash of every table: rows rendered as text,
/// sorted, and hashed in order.
pub async fn summarize(db: &Db) -> Result<BTreeMap<String, TableSum>, MigrateError> {
    let mut out = BTreeMap::new();
    for table in tables(db).await? {
        let cols = columns(db, &table).await?;
        if cols.is_empty() {
            continue;
        }
        // Names come from the database's own catalogue, quoted: not input.
        let cast = |c: &str| match db {
            Db::Sqlite(_) => format!("COALESCE(CAST(\"{c}\" AS TEXT), '\u{2400}')"),
            Db::Postgres(_) => format!("COALESCE(\"{c}\"::text, '\u{2400}')"),
        };
        let joined = cols
            .iter()
            .map(|c| cast(c))
            .collect::<Vec<_>>()
            .join(" || '\u{241f}' || ");
        let sql = format!("SELECT {joined} AS line FROM \"{table}\" ORDER BY 1");
        let lines: Vec<String> = on_db!(db, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql.clone())).fetch_all(pool).await.map_err(MigrateError::Write)?;
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>().map_err(MigrateError::Write)?
        });
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for l in &lines {
            ctx.update(l.as_bytes());
            ctx.update(b"\n");
        }
        out.insert(
            table,
            TableSum {
                rows: lines.len() as u64,
                sha256: hex(ctx.finish().as_ref()),
            },
        );
    }
    Ok(out)
}

fn tool(name: &str) -> Result<PathBuf, MigrateError> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| {
            MigrateError::Tool(format!(
                "{name} is not installed: PostgreSQL backups need the PostgreSQL client tools (Debian: apt-get install postgresql-client), matching or newer than the server's version"
            ))
        })
}

/// The connection URL without its password, and the password apart: the
/// tools get it through `PGPASSWORD`, so it never shows in the process list.
fn split_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let password = u.password().map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            let _ = u.set_password(None);
            (u.to_string(), password)
        }
        Err(_) => (url.to_string(), None),
    }
}

fn pg_command(tool_name: &str, url: &str) -> Result<(Command, String), MigrateError> {
    let mut cmd = Command::new(tool(tool_name)?);
    let (bare, password) = split_password(url);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    Ok((cmd, bare))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), MigrateError> {
    let out = cmd
        .output()
        .map_err(|e| MigrateError::Tool(format!("cannot run {what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(MigrateError::Tool(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Writes a backup of `db` into the folder `dir` (created; must be empty).
pub async fn backup(db: &Db, cfg: &DatabaseConfig, dir: &Path) -> Result<Manifest, MigrateError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(MigrateError::Invalid(format!(
            "{} is not empty: choose a new folder for the backup",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| MigrateError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let tables = summarize(db).await?;
    let (format, file) = match (db, cfg) {
        (Db::Sqlite(pool), _) => {
            let file = dir.join("intellistack.sqlite");
            sqlx::query("VACUUM INTO $1")
                .bind(file.display().to_string())
                .execute(pool)
                .await
                .map_err(MigrateError::Write)?;
            ("sqlite", file)
        }
        (Db::Postgres(_), DatabaseConfig::Postgres { url }) => {
            let file = dir.join("intellistack.pgdump");
            let (mut cmd, bare) = pg_command("pg_dump", url)?;
            run(
                cmd.arg("--format=custom")
                    .arg("--no-owner")
                    .arg("--file")
                    .arg(&file)
                    .arg(bare),
                "pg_dump",
            )?;
            ("postgres-custom", file)
        }
        _ => {
            return Err(MigrateError::Invalid(
                "the database and its configuration disagree".into(),
            ));
        }
    };
    let (sha256, bytes) = file_sha256(&file)?;
    let manifest = Manifest {
        format: format.into(),
        file: file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
        bytes,
        created_at: common::clock::to_iso(&chrono::Utc::now()),
        tables,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| MigrateError::Io(format!("cannot write the manifest: {e}")))?;
    std::fs::write(dir.join(MANIFEST), json)
        .map_err(|e| MigrateError::Io(format!("cannot write the manifest: {e}")))?;
    Ok(manifest)
}

pub fn read_manifest(dir: &Path) -> Result<Manifest, MigrateError> {
    let path = dir.join(MANIFEST);
    let raw = std::fs::read(&path).map_err(|e| {
        MigrateError::Io(format!(
            "cannot read {}: {e}; is this a folder written by `intellistack backup`?",
            path.display()
        ))
    })?;
    serde_json::from_slice(&raw).map_err(|e| {
        MigrateError::Invalid(format!("{} is not a valid manifest: {e}", path.display()))
    })
}

/// Whether any application table holds rows.
pub async fn has_data(db: &Db) -> Result<bool, MigrateError> {
    Ok(summarize(db).await?.values().any(|t| t.rows > 0))
}

/// Restores `dir` into the configured database. `db` is closed first for
/// SQLite (its file is replaced). Returns the manifest it restored.
pub async fn restore(
    db: Db,
    cfg: &DatabaseConfig,
    dir: &Path,
    force: bool,
) -> Result<Manifest, MigrateError> {
    let manifest = read_manifest(dir)?;
    let file = dir.join(&manifest.file);
    let (sha, _) = file_sha256(&file)?;
    if sha != manifest.sha256 {
        return Err(MigrateError::Invalid(format!(
            "{} does not match its manifest (SHA-256 {sha}, expected {}): the backup is damaged",
            file.display(),
            manifest.sha256
        )));
    }
    if !force && has_data(&db).await? {
        return Err(MigrateError::Invalid(
            "the database already holds data; restore would overwrite it. Pass --force to replace it".into(),
        ));
    }
    match (cfg, manifest.format.as_str()) {
        (DatabaseConfig::Sqlite { path }, "sqlite") => {
            db.close().await;
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", path.display()));
                if side.exists() {
                    std::fs::remove_file(&side).map_err(|e| {
                        MigrateError::Io(format!("cannot remove {}: {e}", side.display()))
                    })?;
                }
            }
            let tmp = PathBuf::from(format!("{}.restoring", path.display()));
            std::fs::copy(&file, &tmp)
                .map_err(|e| MigrateError::Io(format!("cannot copy the backup: {e}")))?;
            std::fs::rename(&tmp, path)
                .map_err(|e| MigrateError::Io(format!("cannot replace {}: {e}", path.display())))?;
        }
        (DatabaseConfig::Postgres { url }, "postgres-custom") => {
            db.close().await;
            let (mut cmd, bare) = pg_command("pg_restore", url)?;
            run(
                cmd.arg("--clean")
                    .arg("--if-exists")
                    .arg("--no-owner")
                    .arg("--single-transaction")
                    .arg("--dbname")
                    .arg(bare)
                    .arg(&file),
                "pg_restore",
            )?;
        }
        (_, other) => {
            return Err(MigrateError::Invalid(format!(
                "this backup is `{other}`, but DATABASE_URL points at another kind of database"
            )));
        }
    }
    Ok(manifest)
}

/// Compares a database with a manifest; returns the tables that differ.
pub async fn verify(db: &Db, manifest: &Manifest) -> Result<Vec<String>, MigrateError> {
    let now = summarize(db).await?;
    let mut diffs = Vec::new();
    for (t, want) in &manifest.tables {
        match now.get(t) {
            Some(got) if got == want => {}
            Some(got) => diffs.push(format!(
                "{t}: {} rows (hash {}), expected {} rows (hash {})",
                got.rows,
                &got.sha256[..12],
                want.rows,
                &want.sha256[..12]
            )),
            None => diffs.push(format!("{t}: missing")),
        }
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_leave_the_command_line() {
        let (bare, pw) =
            super::split_password("postgres://app:s%40cret@db.example:5432/intellistack");
        assert_eq!(bare, "postgres://app@db.example:5432/intellistack");
        assert_eq!(pw.as_deref(), Some("s@cret"));
        let (bare, pw) = super::split_password("postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(bare, "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(pw, None);
    }
}
