//! What an import did: per table, how many rows the source had, how many
//! were added, were already there, or were skipped — and why each skip.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub source: u64,
    pub added: u64,
    pub present: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub table: String,
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub dry_run: bool,
    pub tables: BTreeMap<String, Counts>,
    pub skipped: Vec<Skip>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn source(&mut self, table: &str, n: u64) {
        self.tables.entry(table.into()).or_default().source += n;
    }
    pub fn written(&mut self, table: &str, added: bool) {
        let c = self.tables.entry(table.into()).or_default();
        if added {
            c.added += 1;
        } else {
            c.present += 1;
        }
    }
    pub fn skip(&mut self, table: &str, id: &str, reason: impl Into<String>) {
        self.tables.entry(table.into()).or_default().skipped += 1;
        self.skipped.push(Skip {
            table: table.into(),
            id: id.into(),
            reason: reason.into(),
        });
    }
    /// Skips a row that belongs to a user who was not imported.
    pub fn orphan(&mut self, table: &str, id: &str, user_id: &str) {
        self.skip(table, id, format!("its user {user_id} was not imported"));
    }
    pub fn counts(&self, table: &str) -> Counts {
        self.tables.get(table).copied().unwrap_or_default()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "DRY RUN: nothing was written; the counts show what an import would do."
            )?;
        }
        writeln!(
            f,
            "{:<16} {:>8} {:>8} {:>10} {:>8}",
            "table", "source", "added", "present", "skipped"
        )?;
        for (t, c) in &self.tables {
            writeln!(
                f,
                "{:<16} {:>8} {:>8} {:>10} {:>8}",
                t, c.source, c.added, c.present, c.skipped
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "\nskipped rows:")?;
            for s in &self.skipped {
                writeln!(f, "  {} {}: {}", s.table, s.id, s.reason)?;
            }
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}
