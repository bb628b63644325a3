//! Shared state and the router of the roles this process serves.

use std::collections::BTreeSet;
use std::sync::Arc;

use api::settings::ResponderKind;
use axum::Router;
use common::telemetry::{PrometheusHandle, metrics_handle};
use common::{Config, Db, Role, SharedClock};

use crate::Settings;
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
    /// The tutor answers chat turns, so the search index is built and kept.
    pub searches: bool,
}

/// A fully wired application, ready to be served.
pub struct App {
    pub state: AppState,
}

impl App {
    pub fn new(
        settings: Settings,
        db: Db,
        clock: SharedClock,
        roles: BTreeSet<Role>,
    ) -> Result<Self, crate::StartError> {
        let config = Arc::new(settings.core.clone());
        let auth = auth::Auth::new(
            config.clone(),
            settings.auth.clone(),
            db.clone(),
            clock.clone(),
        )?;
        let embedder = match &settings.tutor.embeddings {
            Some(e) => Some(embedder(&e.source)?),
            None => None,
        };
        Ok(Self::with_auth(&settings, db, clock, roles, auth, embedder))
    }

    /// Wires the application around an existing identity service (tests
    /// inject one with a capturing mailer).
    pub fn with_auth(
        settings: &Settings,
        db: Db,
        clock: SharedClock,
        roles: BTreeSet<Role>,
        auth: auth::Auth,
        embedder: Option<Arc<dyn tutor::retrieval::dense::Embedder>>,
    ) -> Self {
        let config = auth.config.clone();
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
        let store = api::chat::sql_store(db.clone(), clock.clone());
        let repo = api::chat::tutor_repository(db.clone(), clock.clone());
        // One index per process, on disk under the data folder; started with
        // the server (see `server::serve`).
        let search = Arc::new(tutor::retrieval::index::SearchIndex::new(
            api::chat::content_source(db.clone(), clock.clone()),
            Some(config.data_dir.join("search")),
        ));
        let responder: Arc<dyn chatkit::Responder<api::chat::ChatContext>> =
            match settings.chat.responder {
                ResponderKind::Echo => Arc::new(api::chat::echo::EchoResponder {
                    delay: std::time::Duration::from_millis(settings.chat.echo_delay_ms),
                }),
                ResponderKind::Tutor => {
                    let llm = settings
                        .tutor
                        .llm
                        .as_ref()
                        .map(|l| tutor::llm::LlmClient::new(l.client_config()));
                    let judge = settings.tutor.llm.as_ref().is_some_and(|l| l.judge);
                    let dense = settings
                        .tutor
                        .embeddings
                        .as_ref()
                        .zip(embedder.clone())
                        .map(|(e, embedder)| {
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
                        });
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
        let chat_clock = clock.clone();
        let chat = chatkit::ChatKitServer::new(store, responder)
            .with_clock(chatkit::Clock::new(move || chat_clock.now()))
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
            chat_daily_limit: settings.chat.daily_limit,
            search,
        };
        let state = AppState {
            searches: settings.chat.responder == ResponderKind::Tutor,
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
            router = router.merge(auth::router(self.state.auth.clone()));
        }
        if self.state.roles.contains(&Role::Api) {
            router = router.merge(api::router(self.state.api.clone()));
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
    source: &tutor::settings::EmbeddingSource,
) -> Result<Arc<dyn tutor::retrieval::dense::Embedder>, crate::StartError> {
    match source {
        tutor::settings::EmbeddingSource::Remote { base_url, api_key, model } => Ok(Arc::new(tutor::retrieval::dense::OpenAiEmbedder {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            base_url: base_url.clone(),
            api_key: api_key.as_ref().map(|k| k.expose().to_string()),
            model: model.clone(),
        })),
        #[cfg(feature = "local-embeddings")]
        tutor::settings::EmbeddingSource::Local { path } => {
            let model = tutor::retrieval::local::MiniLm::load(path).map_err(|e| crate::StartError::Embeddings(e.to_string()))?;
            Ok(Arc::new(tutor::retrieval::local::LocalEmbedder(Arc::new(model))))
        }
        #[cfg(not(feature = "local-embeddings"))]
        tutor::settings::EmbeddingSource::Local { .. } => Err(crate::StartError::Embeddings(
            "EMBEDDINGS_LOCAL_MODEL needs a build with `--features local-embeddings`; rebuild, or use EMBEDDINGS_MODEL with an embeddings endpoint".into(),
        )),
    }
}
