//! Shared state and the router of the roles this process serves.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use common::telemetry::{PrometheusHandle, metrics_handle};
use common::{Config, Db, Role, SharedClock};

use crate::ops;

/// What every handler may reach: configuration, the database and the clock.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub metrics: PrometheusHandle,
    pub roles: Arc<BTreeSet<Role>>,
    /// The identity service; every role reads sessions through it.
    pub auth: auth::Auth,
    pub api: api::ApiState,
}

/// A fully wired application, ready to be served.
pub struct App {
    pub state: AppState,
}

impl App {
    pub fn new(
        config: Config,
        db: Db,
        clock: SharedClock,
        roles: BTreeSet<Role>,
    ) -> Result<Self, crate::StartError> {
        let config = Arc::new(config);
        let auth = auth::Auth::new(config.clone(), db.clone(), clock.clone())?;
        let embedder = match &config.chat.embeddings {
            Some(e) => Some(embedder(&e.source)?),
            None => None,
        };
        Ok(Self::with_auth(config, db, clock, roles, auth, embedder))
    }

    /// Wires the application around an existing identity service (tests
    /// inject one with a capturing mailer).
    pub fn with_auth(
        config: Arc<Config>,
        db: Db,
        clock: SharedClock,
        roles: BTreeSet<Role>,
        auth: auth::Auth,
        embedder: Option<Arc<dyn tutor::retrieval::dense::Embedder>>,
    ) -> Self {
        // In one process the api role reads the auth role's key store
        // directly; apart, it fetches the JWKS over HTTP.
        let source = if roles.contains(&Role::Auth) && config.jwks_url.is_none() {
            api::KeySource::Local(auth.keys.clone())
        } else {
            let url = config.jwks_url.clone().unwrap_or_else(|| {
                let mut u = config.base_url.clone();
                u.set_path("/api/auth/jwks");
                u
            });
            api::KeySource::Remote {
                url,
                http: reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(5))
                    .build()
                    .unwrap_or_default(),
            }
        };
        let issuer = auth.issuer();
        let verifier = api::JwksVerifier::new(source, clock.clone(), issuer.clone(), issuer);
        let store: Arc<dyn chatkit::Store<api::chat::ChatContext>> =
            Arc::new(api::chat::store::SqlStore {
                db: db.clone(),
                clock: clock.clone(),
            });
        let repo = Arc::new(api::chat::repo::SqlRepository {
            db: db.clone(),
            clock: clock.clone(),
        });
        // One index per process, on disk under the data folder; started with
        // the server (see `server::serve`).
        let search = Arc::new(tutor::retrieval::index::SearchIndex::new(
            repo.clone(),
            Some(config.data_dir.join("search")),
        ));
        let responder: Arc<dyn chatkit::Responder<api::chat::ChatContext>> =
            match config.chat.responder {
                common::config::ResponderKind::Echo => Arc::new(api::chat::echo::EchoResponder {
                    delay: std::time::Duration::from_millis(config.chat.echo_delay_ms),
                }),
                common::config::ResponderKind::Tutor => {
                    let llm = config.chat.llm.as_ref().map(|l| {
                        tutor::llm::LlmClient::new(tutor::llm::LlmConfig {
                            base_url: l.base_url.clone(),
                            api_key: l.api_key.as_ref().map(|k| k.expose().to_string()),
                            model: l.model.clone(),
                            connect_timeout: std::time::Duration::from_secs(5),
                            read_timeout: std::time::Duration::from_secs(l.timeout_secs),
                            max_retries: l.max_retries,
                            backoff: std::time::Duration::from_millis(250),
                        })
                    });
                    let judge = config.chat.llm.as_ref().is_some_and(|l| l.judge);
                    let dense = config.chat.embeddings.as_ref().zip(embedder.clone()).map(
                        |(e, embedder)| {
                            let vectors: Arc<dyn tutor::retrieval::dense::VectorStore> = match &e
                                .qdrant
                            {
                                Some(q) => Arc::new(tutor::retrieval::dense::Qdrant {
                                    http: reqwest::Client::builder()
                                        .timeout(std::time::Duration::from_secs(10))
                                        .build()
                                        .unwrap_or_default(),
                                    url: q.url.clone(),
                                    collection: q.collection.clone(),
                                    api_key: q.api_key.as_ref().map(|k| k.expose().to_string()),
                                }),
                                None => Arc::new(tutor::retrieval::dense::MemoryVectors::default()),
                            };
                            tutor::turn::Dense::new(embedder, vectors)
                        },
                    );
                    Arc::new(tutor::turn::Tutor::new(
                        repo,
                        store.clone(),
                        llm,
                        dense,
                        judge,
                        search.clone(),
                    ))
                }
            };
        let chat = chatkit::ChatKitServer::new(store, responder)
            .with_limits(chatkit::Limits {
                max_message_chars: tutor::guardrails::MAX_MESSAGE_CHARS,
                ..chatkit::Limits::default()
            })
            .with_observer(Arc::new(api::chat::usage::UsageRecorder {
                db: db.clone(),
                clock: clock.clone(),
            }));
        let api = api::ApiState {
            db: db.clone(),
            clock: clock.clone(),
            verifier,
            auth: auth.clone(),
            chat,
            chat_daily_limit: config.chat.daily_limit,
            search,
        };
        let state = AppState {
            config,
            db,
            clock,
            metrics: metrics_handle(),
            roles: Arc::new(roles),
            auth,
            api,
        };
        App { state }
    }

    /// The router for the configured roles plus the operational endpoints
    /// every instance answers (`/health`, `/ready`, `/metrics`).
    pub fn router(&self) -> Router {
        let mut router = ops::router().with_state(self.state.clone());
        if self.state.roles.contains(&Role::Auth) {
            router = router.merge(auth::http::router(self.state.auth.clone()));
        }
        if self.state.roles.contains(&Role::Api) {
            router = router.merge(api::http::router(self.state.api.clone()));
        }
        if self.state.roles.contains(&Role::Web) {
            router = router.merge(web::router(web::WebState {
                auth: self.state.auth.clone(),
                api: self.state.api.clone(),
            }));
        }
        router
    }
}

/// The embedding model named by configuration.
pub fn embedder(
    source: &common::config::EmbeddingSource,
) -> Result<Arc<dyn tutor::retrieval::dense::Embedder>, crate::StartError> {
    match source {
        common::config::EmbeddingSource::Remote { base_url, api_key, model } => Ok(Arc::new(tutor::retrieval::dense::OpenAiEmbedder {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            base_url: base_url.clone(),
            api_key: api_key.as_ref().map(|k| k.expose().to_string()),
            model: model.clone(),
        })),
        #[cfg(feature = "local-embeddings")]
        common::config::EmbeddingSource::Local { path } => {
            let model = tutor::retrieval::local::MiniLm::load(path).map_err(|e| crate::StartError::Embeddings(e.to_string()))?;
            Ok(Arc::new(tutor::retrieval::local::LocalEmbedder(Arc::new(model))))
        }
        #[cfg(not(feature = "local-embeddings"))]
        common::config::EmbeddingSource::Local { .. } => Err(crate::StartError::Embeddings(
            "EMBEDDINGS_LOCAL_MODEL needs a build with `--features local-embeddings`; rebuild, or use EMBEDDINGS_MODEL with an embeddings endpoint".into(),
        )),
    }
}
