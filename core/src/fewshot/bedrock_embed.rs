//! Multilingual embeddings on Amazon Bedrock through InvokeModel (feature `bedrock`): Amazon Titan Text
//! Embeddings (`amazon.titan-embed-text-v2:0`, v1) and Cohere Embed (`cohere.embed-multilingual-v3`,
//! `cohere.embed-english-v3`). Unlike the default English MiniLM these read Korean, so hybrid retrieval gives
//! their dense channel full weight on Hangul questions. Vectors are cached on disk like any embedder's, so the
//! library is embedded (and paid for) once.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::embed::Embedder;
use crate::error::{Error, Result};
use crate::llm::retry::{RetryPolicy, retry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// One text per call: `{"inputText"}` → `{"embedding"}`.
    Titan,
    /// Up to 96 texts per call: `{"texts", "input_type"}` → `{"embeddings"}`.
    Cohere,
}

/// Texts per Cohere call (the API's limit).
const COHERE_BATCH: usize = 96;
/// Titan calls in flight at once.
const TITAN_CONCURRENCY: usize = 4;

/// A Bedrock embedding model.
#[derive(Debug, Clone)]
pub struct BedrockEmbedder {
    client: Client,
    model: String,
    family: Family,
    dim: usize,
    id: String,
    retry: RetryPolicy,
}

impl BedrockEmbedder {
    /// Credentials, region and endpoint from the standard AWS chain (as for the Bedrock LLM).
    pub async fn from_env(model: &str) -> Result<Self> {
        let settings = crate::aws::ClientSettings {
            call_timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let client = crate::llm::bedrock::client(&settings).await?;
        Self::with_client(client, model)
    }

    /// A caller-configured client (endpoint, credentials); retries are ours, so disable the SDK's.
    /// `model`: a Titan or Cohere embedding model id.
    pub fn with_client(client: Client, model: &str) -> Result<Self> {
        let model = model.trim().to_string();
        let (family, dim) = if model.starts_with("amazon.titan-embed-text-v2") {
            (Family::Titan, 1024)
        } else if model.starts_with("amazon.titan-embed-text-v1")
            || model.starts_with("amazon.titan-embed-g1-text")
        {
            (Family::Titan, 1536)
        } else if model.starts_with("cohere.embed-") {
            (Family::Cohere, 1024)
        } else {
            return Err(Error::Config(format!(
                "{model:?} is not a Bedrock text-embedding model asklake knows (amazon.titan-embed-text-v2:0, \
                 amazon.titan-embed-text-v1, cohere.embed-multilingual-v3, cohere.embed-english-v3)"
            )));
        };
        Ok(BedrockEmbedder {
            id: format!("bedrock:{model}:{dim}"),
            client,
            model,
            family,
            dim,
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn invoke(&self, body: Value) -> Result<Value> {
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::Internal(e.to_string()))?;
        let out = retry(&self.retry, || async {
            self.client
                .invoke_model()
                .model_id(&self.model)
                .content_type("application/json")
                .accept("application/json")
                .body(Blob::new(bytes.clone()))
                .send()
                .await
                .map_err(crate::llm::bedrock::sdk_error)
        })
        .await?;
        serde_json::from_slice(out.body().as_ref()).map_err(|e| {
            Error::Embedding(format!(
                "{}: unreadable InvokeModel response: {e}",
                self.model
            ))
        })
    }

    fn vector(&self, v: &Value) -> Result<Vec<f32>> {
        let arr = v.as_array().ok_or_else(|| {
            Error::Embedding(format!(
                "{}: the response has no embedding array",
                self.model
            ))
        })?;
        let mut out: Vec<f32> = arr
            .iter()
            .filter_map(|x| x.as_f64().map(|f| f as f32))
            .collect();
        if out.len() != self.dim {
            return Err(Error::Embedding(format!(
                "{}: expected {} dimensions, got {}",
                self.model,
                self.dim,
                out.len()
            )));
        }
        let n = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            out.iter_mut().for_each(|x| *x /= n);
        }
        Ok(out)
    }
}

#[async_trait]
impl Embedder for BedrockEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        match self.family {
            Family::Titan => {
                // Futures built up front (not by a closure the stream holds) keep the future Send-friendly.
                let calls: Vec<_> = texts
                    .iter()
                    .map(|t| {
                        let mut body = json!({"inputText": t});
                        if self.model.starts_with("amazon.titan-embed-text-v2") {
                            body["dimensions"] = json!(self.dim);
                            body["normalize"] = json!(true);
                        }
                        Box::pin(async move {
                            let r = self.invoke(body).await?;
                            self.vector(&r["embedding"])
                        })
                    })
                    .collect();
                futures_util::stream::iter(calls)
                    .buffered(TITAN_CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect()
            }
            Family::Cohere => {
                let mut out = Vec::with_capacity(texts.len());
                for chunk in texts.chunks(COHERE_BATCH) {
                    // The library holds questions and so does the query: embed both as queries.
                    let r = self
                        .invoke(json!({"texts": chunk, "input_type": "search_query", "truncate": "END"}))
                        .await?;
                    let vs = r["embeddings"].as_array().ok_or_else(|| {
                        Error::Embedding(format!("{}: the response has no embeddings", self.model))
                    })?;
                    if vs.len() != chunk.len() {
                        return Err(Error::Embedding(format!(
                            "{}: {} embeddings for {} texts",
                            self.model,
                            vs.len(),
                            chunk.len()
                        )));
                    }
                    for v in vs {
                        out.push(self.vector(v)?);
                    }
                }
                Ok(out)
            }
        }
    }
}
