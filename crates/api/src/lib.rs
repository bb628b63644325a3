//! The learning backend under `/api/v1`: verifies the auth role's JWTs
//! through a JWKS cache, serves courses whose stages unlock as students
//! progress, lets instructors author content, and gives admins the audit
//! trail and usage figures.

pub mod admin;
pub mod authoring;
pub mod caller;
pub mod chat;
pub mod content;
pub mod course_files;
pub mod error;
pub mod exercises;
pub(crate) mod http;
pub mod insight;
pub mod jwks;
pub mod learning;
pub mod seed;
pub mod settings;
pub mod teaching;

use common::{Db, SharedClock};

pub use caller::AuthenticatedUser;
pub use error::{ApiError, ApiResult, Refusal};
pub use http::admin::events_csv_download;
pub use http::error::error_response;
pub use http::router;
pub use http::teaching::course_zip_download;
pub use jwks::{JwksVerifier, KeySource};

#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    pub clock: SharedClock,
    pub verifier: JwksVerifier,
    /// The identity service, for role changes and the audit trail.
    pub auth: auth::Auth,
    pub chat: chatkit::ChatKitServer<chat::ChatContext>,
    /// Student messages per rolling 24 hours.
    pub chat_daily_limit: u32,
    /// The tutor's search index (its state and counters), shared with the responder.
    pub search: std::sync::Arc<tutor::retrieval::index::SearchIndex>,
}

impl ApiState {
    pub fn learning(&self) -> learning::Learning<'_> {
        learning::Learning {
            db: &self.db,
            clock: &self.clock,
        }
    }

    pub fn exercises(&self) -> exercises::Exercises<'_> {
        exercises::Exercises {
            db: &self.db,
            clock: &self.clock,
        }
    }

    pub fn insights(&self) -> insight::Insights<'_> {
        insight::Insights {
            db: &self.db,
            clock: &self.clock,
        }
    }

    pub fn teaching(&self) -> teaching::Teaching<'_> {
        teaching::Teaching {
            db: &self.db,
            clock: &self.clock,
        }
    }

    pub fn authoring(&self) -> authoring::Authoring<'_> {
        authoring::Authoring {
            db: &self.db,
            clock: &self.clock,
        }
    }
}
