//! Development outbox: each message becomes a JSON file, and one log line
//! shows its first link so a developer can click through without a relay.

use std::path::PathBuf;

use super::{Mail, MailError, Mailer};

pub struct Outbox {
    dir: PathBuf,
}

/// A stored message, as the development page and tests read it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_at: String,
}

impl Outbox {
    pub fn new(dir: PathBuf) -> Self {
        Outbox { dir }
    }

    /// Newest first.
    pub fn list(&self) -> Vec<StoredMail> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.reverse();
        files
            .into_iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }
}

pub fn first_link(text: &str) -> Option<&str> {
    let start = text.find("http://").or_else(|| text.find("https://"))?;
    text[start..].split_whitespace().next()
}

#[async_trait::async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let now = chrono::Utc::now();
        let stored = StoredMail {
            id: common::ids::random_alphanumeric(12),
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            created_at: common::clock::to_iso(&now),
        };
        let io = |e: std::io::Error| MailError::Transport(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let path = self
            .dir
            .join(format!("{}-{}.json", now.timestamp_millis(), stored.id));
        let body =
            serde_json::to_vec_pretty(&stored).map_err(|e| MailError::Transport(e.to_string()))?;
        tokio::fs::write(&path, body).await.map_err(io)?;
        // Development only: the outbox exists so the link can be followed.
        tracing::info!(
            to = %stored.to,
            subject = %stored.subject,
            link = first_link(&stored.text).unwrap_or("-"),
            "mail written to the development outbox"
        );
        Ok(())
    }
}
