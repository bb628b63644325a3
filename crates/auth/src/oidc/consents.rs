//! The applications a user has let sign them in, and taking that back. The
//! routes follow Better-Auth's oauth-provider plugin (`/oauth2/get-consents`,
//! `/oauth2/delete-consent`); withdrawing a consent also ends every token the
//! application holds for the user, so "disconnect" means disconnected now,
//! not when an access token expires.

use serde_json::{Value, json};

use super::store::{self, ConsentRow};
use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult};

impl ConsentRow {
    /// Better-Auth's consent shape, plus the client's display name.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "clientId": self.client_id,
            "clientName": self.client_name,
            "userId": self.user_id,
            "scopes": self.scopes.split_whitespace().collect::<Vec<_>>(),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }
}

impl Auth {
    pub async fn list_consents(&self, user_id: &str) -> AuthResult<Vec<ConsentRow>> {
        Ok(store::consents_of(&self.db, user_id).await?)
    }

    /// Withdraws one of `user_id`'s consents. Another user's consent id is
    /// answered exactly like an unknown one, so ids cannot be probed.
    pub async fn delete_consent(
        &self,
        user_id: &str,
        consent_id: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let client_id = store::withdraw_consent(&self.db, consent_id, user_id, self.clock.now())
            .await?
            .ok_or_else(|| AuthError::not_found("CONSENT_NOT_FOUND", "Consent not found"))?;
        self.audit(
            meta,
            Entry::new(Event::OidcConsentRevoked)
                .user(user_id)
                .details(json!({"client_id": client_id})),
        )
        .await;
        Ok(())
    }
}
