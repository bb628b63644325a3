//! Outgoing mail: one interface, three senders (SMTP, the Resend HTTP API, and
//! a development outbox), and the messages the auth role sends.

pub mod outbox;
pub mod resend;
pub mod smtp;
pub mod templates;

use std::sync::Arc;

use std::path::Path;

use crate::settings::{AuthSettings, MailTransport};

/// A message with a plain-text and an HTML part.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("mail transport failed: {0}")]
    Transport(String),
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}

pub type SharedMailer = Arc<dyn Mailer>;

/// The sender chosen by the settings; the outbox lives under `data_dir`.
pub fn from_settings(settings: &AuthSettings, data_dir: &Path) -> Result<SharedMailer, MailError> {
    Ok(match &settings.mail {
        MailTransport::Outbox => Arc::new(outbox::Outbox::new(data_dir.join("outbox"))),
        MailTransport::Smtp { url } => {
            Arc::new(smtp::Smtp::new(url.expose(), &settings.mail_from)?)
        }
        MailTransport::Resend { api_key, api_url } => Arc::new(resend::Resend::new(
            api_key.clone(),
            api_url.clone(),
            &settings.mail_from,
        )),
    })
}

/// Sends in the background: a slow or failing relay never delays a response
/// (which would also reveal whether an account exists). Failures are logged
/// without the message body, which may hold a link.
pub fn send_later(mailer: &SharedMailer, mail: Mail) {
    let mailer = mailer.clone();
    tokio::spawn(async move {
        let subject = mail.subject.clone();
        if let Err(err) = mailer.send(mail).await {
            tracing::warn!(%subject, error = %err, "mail could not be sent");
        }
    });
}
