//! The Resend HTTP API (`POST /emails`).

use common::Secret;
use serde_json::json;
use url::Url;

use super::{Mail, MailError, Mailer};

pub struct Resend {
    http: reqwest::Client,
    api_key: Secret,
    endpoint: Url,
    from: String,
}

impl Resend {
    pub fn new(api_key: Secret, api_url: Url, from: &str) -> Self {
        let endpoint = api_url.join("emails").unwrap_or(api_url);
        Resend {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            api_key,
            endpoint,
            from: from.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for Resend {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let res = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(self.api_key.expose())
            .json(&json!({
                "from": self.from,
                "to": [mail.to],
                "subject": mail.subject,
                "text": mail.text,
                "html": mail.html,
            }))
            .send()
            .await
            .map_err(|e| MailError::Transport(e.without_url().to_string()))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(MailError::Transport(format!(
                "Resend answered {}",
                res.status()
            )))
        }
    }
}
