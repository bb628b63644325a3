//! The tutor's settings: the language model and dense retrieval (an
//! embeddings endpoint or the local model, vectors in-process or in Qdrant).
//! Declared once here, parsed from the environment, composed by the binary.

use std::path::PathBuf;
use std::time::Duration;

use common::config::{ConfigError, Secret};
use common::settings::{Env, Var, Vars, WhenUnset, http_url};
use url::Url;

const OPENAI_BASE_URL: &Var = &Var::new(
    "OPENAI_BASE_URL",
    WhenUnset::Value("https://api.openai.com/v1"),
    "the tutor's language model: an OpenAI-compatible endpoint (retrieval-only without this or a key)",
);
const OPENAI_API_KEY: &Var = &Var::new(
    "OPENAI_API_KEY",
    WhenUnset::None,
    "the key for that endpoint (and for remote embeddings)",
);
const TUTOR_MODEL: &Var = &Var::new(
    "TUTOR_MODEL",
    WhenUnset::Value("gpt-4o-mini"),
    "the chat model",
);
const TUTOR_JUDGE: &Var = &Var::new(
    "TUTOR_JUDGE",
    WhenUnset::Value("false"),
    "ask the model whether each final reply solves an exercise; logged beside the answer guard's verdict and counted in AI usage",
);
const LLM_TIMEOUT_SECS: &Var = &Var::new(
    "LLM_TIMEOUT_SECS",
    WhenUnset::Value("30"),
    "longest silence allowed in a streamed reply",
);
const LLM_MAX_RETRIES: &Var = &Var::new(
    "LLM_MAX_RETRIES",
    WhenUnset::Value("2"),
    "retries of a failed model call before the turn fails",
);
const EMBEDDINGS_MODEL: &Var = &Var::new(
    "EMBEDDINGS_MODEL",
    WhenUnset::None,
    "dense retrieval through an OpenAI-compatible `/embeddings` endpoint, with this model",
);
const EMBEDDINGS_BASE_URL: &Var = &Var::new(
    "EMBEDDINGS_BASE_URL",
    WhenUnset::Derived("`OPENAI_BASE_URL`"),
    "the embeddings endpoint",
);
const EMBEDDINGS_LOCAL_MODEL: &Var = &Var::new(
    "EMBEDDINGS_LOCAL_MODEL",
    WhenUnset::None,
    "dense retrieval with all-MiniLM-L6-v2 in-process (a build with `local-embeddings`): the model folder",
);
const QDRANT_URL: &Var = &Var::new(
    "QDRANT_URL",
    WhenUnset::None,
    "vectors in Qdrant instead of the process",
);
const QDRANT_COLLECTION: &Var = &Var::new(
    "QDRANT_COLLECTION",
    WhenUnset::Value("intellistack_chunks"),
    "the Qdrant collection",
);
const QDRANT_API_KEY: &Var = &Var::new("QDRANT_API_KEY", WhenUnset::None, "the Qdrant API key");

/// Every variable the tutor reads.
pub const VARS: &[&Var] = &[
    OPENAI_BASE_URL,
    OPENAI_API_KEY,
    TUTOR_MODEL,
    TUTOR_JUDGE,
    LLM_TIMEOUT_SECS,
    LLM_MAX_RETRIES,
    EMBEDDINGS_MODEL,
    EMBEDDINGS_BASE_URL,
    EMBEDDINGS_LOCAL_MODEL,
    QDRANT_URL,
    QDRANT_COLLECTION,
    QDRANT_API_KEY,
];

/// What the tutor is configured with.
#[derive(Debug, Clone, Default)]
pub struct TutorSettings {
    /// The language model; without one the tutor runs retrieval-only.
    pub llm: Option<LlmSettings>,
    /// Dense retrieval; without it search is BM25 alone.
    pub embeddings: Option<EmbeddingSettings>,
}

#[derive(Debug, Clone)]
pub struct EmbeddingSettings {
    pub source: EmbeddingSource,
    /// Qdrant, when vectors live outside the process.
    pub qdrant: Option<QdrantSettings>,
}

#[derive(Debug, Clone)]
pub enum EmbeddingSource {
    /// An OpenAI-compatible `/embeddings` endpoint.
    Remote {
        base_url: Url,
        api_key: Option<Secret>,
        model: String,
    },
    /// all-MiniLM-L6-v2 in this process (the `local-embeddings` build feature).
    Local { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct QdrantSettings {
    pub url: Url,
    pub collection: String,
    pub api_key: Option<Secret>,
}

/// An OpenAI-compatible chat completions endpoint.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub model: String,
    pub timeout_secs: u64,
    pub max_retries: u32,
    /// Ask the model whether each final reply solves an exercise (logged
    /// and counted, never blocking).
    pub judge: bool,
}

impl TutorSettings {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let env = Env::new(vars);
        let base_url = |var: &'static Var| -> Result<Url, ConfigError> {
            http_url(
                var.name,
                env.get(var).unwrap_or("https://api.openai.com/v1"),
            )
        };
        let llm = match (env.set(OPENAI_BASE_URL), env.set(OPENAI_API_KEY)) {
            (None, None) => None,
            (_, key) => Some(LlmSettings {
                base_url: base_url(OPENAI_BASE_URL)?,
                api_key: key.map(Secret::new),
                model: env.get(TUTOR_MODEL).unwrap_or_default().to_string(),
                timeout_secs: env
                    .parse(LLM_TIMEOUT_SECS, "a whole number of seconds")?
                    .unwrap_or(30),
                max_retries: env.parse(LLM_MAX_RETRIES, "a whole number")?.unwrap_or(2),
                judge: env.flag(TUTOR_JUDGE)?,
            }),
        };
        let qdrant = env.url(QDRANT_URL)?.map(|url| QdrantSettings {
            url,
            collection: env.get(QDRANT_COLLECTION).unwrap_or_default().to_string(),
            api_key: env.get(QDRANT_API_KEY).map(Secret::new),
        });
        let source = match (env.get(EMBEDDINGS_LOCAL_MODEL), env.get(EMBEDDINGS_MODEL)) {
            (Some(path), _) => Some(EmbeddingSource::Local {
                path: PathBuf::from(path),
            }),
            (None, Some(model)) => Some(EmbeddingSource::Remote {
                // The embeddings endpoint defaults to the chat model's.
                base_url: match env.set(EMBEDDINGS_BASE_URL) {
                    Some(raw) => http_url(EMBEDDINGS_BASE_URL.name, raw)?,
                    None => http_url(
                        EMBEDDINGS_BASE_URL.name,
                        env.get(OPENAI_BASE_URL).unwrap_or_default(),
                    )?,
                },
                api_key: env.get(OPENAI_API_KEY).map(Secret::new),
                model: model.to_string(),
            }),
            (None, None) => None,
        };
        Ok(TutorSettings {
            llm,
            embeddings: source.map(|source| EmbeddingSettings { source, qdrant }),
        })
    }
}

impl LlmSettings {
    /// The client settings for this model.
    pub fn client_config(&self) -> crate::llm::LlmConfig {
        crate::llm::LlmConfig {
            base_url: self.base_url.clone(),
            api_key: self.api_key.as_ref().map(|k| k.expose().to_string()),
            model: self.model.clone(),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(self.timeout_secs),
            max_retries: self.max_retries,
            backoff: Duration::from_millis(250),
        }
    }
}
