//! IntelliStack's side of ChatKit: the request context, the SQL store, the
//! daily quota, usage accounting, the tutor's repository over the database,
//! and the echo responder used by protocol tests. The tutor itself lives in
//! the `tutor` crate.

pub mod echo;
pub mod quota;
pub(crate) mod repo;
pub(crate) mod store;
pub mod usage;

use std::sync::Arc;

use common::{Db, SharedClock};

use crate::caller::AuthenticatedUser;

/// The ChatKit store over this database, for the chat server.
pub fn sql_store(db: Db, clock: SharedClock) -> Arc<dyn chatkit::Store<ChatContext>> {
    Arc::new(store::SqlStore { db, clock })
}

/// The tutor's repository over this database (passages, stages, exercises).
pub fn tutor_repository(db: Db, clock: SharedClock) -> Arc<dyn tutor::turn::Repository> {
    Arc::new(repo::SqlRepository { db, clock })
}

/// What the search index reads from this database (passages and the change log).
pub fn content_source(
    db: Db,
    clock: SharedClock,
) -> Arc<dyn tutor::retrieval::index::ContentSource> {
    Arc::new(repo::SqlRepository { db, clock })
}

/// What the page says about where the student is (the tutor's type).
pub use tutor::turn::Page as PageContext;

/// The context of one chat request: the verified caller and the page.
#[derive(Debug, Clone)]
pub struct ChatContext {
    pub user: AuthenticatedUser,
    pub page: PageContext,
}

impl tutor::turn::TurnContext for ChatContext {
    fn learner(&self) -> tutor::turn::Learner {
        tutor::turn::Learner {
            id: self.user.id.clone(),
            staff: self.user.is_staff(),
        }
    }
    fn page(&self) -> &PageContext {
        &self.page
    }
}
