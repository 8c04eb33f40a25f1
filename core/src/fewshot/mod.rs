//! Few-shot examples: verified question → SQL pairs put in the prompt as prior turns.
//!
//! [`FewShotRetriever`] ranks examples for a question: [`FixedExamples`] (the same list for every question),
//! [`library::LexicalRetriever`] (BM25), [`dense::DenseRetriever`] (sentence embeddings in a
//! [`index::VectorIndex`]) and [`dense::HybridRetriever`] (both, by reciprocal rank fusion).

#[cfg(feature = "bedrock")]
pub mod bedrock_embed;
pub mod dense;
pub mod embed;
pub mod index;
pub mod library;
#[cfg(feature = "openai")]
pub mod openai_embed;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A verified question with its SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub id: String,
    pub question: String,
    /// The Korean question, when the library has one.
    #[serde(default)]
    pub question_ko: Option<String>,
    pub sql: String,
    /// Tables the SQL reads, as written in it.
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// An example with its similarity to the question (higher is closer; scale depends on the retriever).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredExample {
    pub example: Example,
    pub score: f32,
}

impl ScoredExample {
    /// `{"id", "question", "sql", "score"}`: a search hit as every front end shows it.
    pub fn hit(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.example.id,
            "question": self.example.question,
            "sql": self.example.sql,
            "score": self.score,
        })
    }
}

/// The first `k` of a ranking of `examples` (by index, best first) as scored examples.
pub(crate) fn top_k(
    examples: &[Example],
    ranking: Vec<(usize, f32)>,
    k: usize,
) -> Vec<ScoredExample> {
    ranking
        .into_iter()
        .take(k)
        .map(|(i, score)| ScoredExample {
            example: examples[i].clone(),
            score,
        })
        .collect()
}

/// Ranks examples for a question.
#[async_trait]
pub trait FewShotRetriever: std::fmt::Debug + Send + Sync {
    /// A short name for traces and reports (`fixed`, `embedding`, `hybrid`).
    fn name(&self) -> &str;

    /// Up to `k` examples, best first.
    async fn retrieve(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>>;

    /// Candidates for answering a question from the library without an LLM, scored as the lexical
    /// retriever's coverage in [0, 1] (the score `library_threshold` was measured on). Retrievers with other
    /// score scales override this with their lexical channel.
    async fn library_candidates(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        self.retrieve(question, k).await
    }
}

/// The same examples for every question, in order (score 1.0): the original system's static few-shot.
#[derive(Debug, Clone, Default)]
pub struct FixedExamples {
    examples: Vec<Example>,
}

impl FixedExamples {
    pub fn new(examples: Vec<Example>) -> Self {
        FixedExamples { examples }
    }
}

#[async_trait]
impl FewShotRetriever for FixedExamples {
    fn name(&self) -> &str {
        "fixed"
    }

    async fn retrieve(&self, _question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        Ok(self
            .examples
            .iter()
            .take(k)
            .map(|e| ScoredExample {
                example: e.clone(),
                score: 1.0,
            })
            .collect())
    }
}

/// Which retriever ranks library examples for the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum RetrieverKind {
    /// Hybrid when the embedding model and ONNX Runtime load, else lexical (with a note saying why).
    #[default]
    Auto,
    Lexical,
    Dense,
    Hybrid,
}

impl std::fmt::Display for RetrieverKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Lexical => "lexical",
            Self::Dense => "dense",
            Self::Hybrid => "hybrid",
        })
    }
}

impl std::str::FromStr for RetrieverKind {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Self::Auto,
            "lexical" | "bm25" => Self::Lexical,
            "dense" | "embedding" => Self::Dense,
            "hybrid" => Self::Hybrid,
            other => {
                return Err(crate::error::Error::Config(format!(
                    "unknown retriever {other:?} (auto, lexical, dense, hybrid)"
                )));
            }
        })
    }
}

/// How to build a retriever over the library.
#[derive(Debug, Clone, Default)]
pub struct RetrieverConfig {
    pub kind: RetrieverKind,
    /// Embedding model: a sentence-transformers ONNX directory (default: [`embed::default_model_dir`]),
    /// `bedrock:<model id>` or `openai:<model>`.
    pub model: Option<std::path::PathBuf>,
    /// The server of an `openai:` model (default [`openai_embed::OpenAiEmbedder::default_base_url`]).
    pub base_url: Option<String>,
    /// Instruction prefixes of an `openai:` model.
    pub prefix: embed::EmbedPrefix,
    /// Vector index: `flat` (default) or, with feature `faiss`, `faiss` / `faiss:<factory string>`.
    pub index: String,
    /// Embedding cache folder (default: [`embed::EmbeddingCache::default_dir`]); `no_cache` turns it off.
    pub cache_dir: Option<std::path::PathBuf>,
    pub no_cache: bool,
}

/// Loads the embedding model `cfg.model` names: `bedrock:<model id>` (Titan Text Embeddings or Cohere Embed
/// on Bedrock, feature `bedrock`), `openai:<model>` (an OpenAI-compatible `/v1/embeddings` server at
/// `cfg.base_url`, feature `openai`), a sentence-transformers ONNX directory, or by default
/// [`embed::default_model_dir`].
pub async fn load_embedder(cfg: &RetrieverConfig) -> Result<std::sync::Arc<dyn embed::Embedder>> {
    let model = cfg.model.as_deref();
    if let Some(name) = model
        .and_then(|m| m.to_str())
        .and_then(|m| m.strip_prefix("openai:"))
    {
        #[cfg(feature = "openai")]
        {
            let base = cfg
                .base_url
                .clone()
                .unwrap_or_else(openai_embed::OpenAiEmbedder::default_base_url);
            return Ok(std::sync::Arc::new(
                openai_embed::OpenAiEmbedder::new(&base, name, cfg.prefix)?
                    .connect()
                    .await?,
            ));
        }
        #[cfg(not(feature = "openai"))]
        {
            return Err(crate::error::Error::Config(format!(
                "embedding model openai:{name} needs asklake built with the `openai` feature"
            )));
        }
    }
    if let Some(id) = model
        .and_then(|m| m.to_str())
        .and_then(|m| m.strip_prefix("bedrock:"))
    {
        #[cfg(feature = "bedrock")]
        {
            return Ok(std::sync::Arc::new(
                bedrock_embed::BedrockEmbedder::from_env(id).await?,
            ));
        }
        #[cfg(not(feature = "bedrock"))]
        {
            return Err(crate::error::Error::Config(format!(
                "embedding model bedrock:{id} needs asklake built with the `bedrock` feature"
            )));
        }
    }
    let dir = model
        .map(std::path::Path::to_path_buf)
        .or_else(embed::default_model_dir)
        .ok_or_else(|| {
            crate::error::Error::Config(
                "no embedding model directory (set ASKLAKE_EMBED_MODEL)".into(),
            )
        })?;
    #[cfg(feature = "onnx")]
    {
        // One loaded model per directory and process: every pipeline, search and evaluation shares its ONNX
        // session instead of loading the weights again.
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex, OnceLock};
        static LOADED: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<embed::OnnxEmbedder>>>> =
            OnceLock::new();
        let key = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let loaded = LOADED.get_or_init(Default::default);
        if let Some(e) = loaded.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(e);
        }
        let e = Arc::new(embed::OnnxEmbedder::load(&dir)?);
        if let Ok(mut m) = loaded.lock() {
            m.insert(key, e.clone());
        }
        Ok(e)
    }
    #[cfg(not(feature = "onnx"))]
    {
        Err(crate::error::Error::Config(format!(
            "embedding model {} needs asklake built with the `onnx` feature",
            dir.display()
        )))
    }
}

/// A retriever over `lib` as configured, and a note when `Auto` fell back to lexical retrieval.
pub async fn build_retriever(
    lib: &library::Library,
    cfg: &RetrieverConfig,
) -> Result<(std::sync::Arc<dyn FewShotRetriever>, Option<String>)> {
    use std::sync::Arc;
    let lexical = library::LexicalRetriever::from_library(lib);
    if cfg.kind == RetrieverKind::Lexical {
        return Ok((Arc::new(lexical), None));
    }
    let cache = if cfg.no_cache {
        None
    } else {
        cfg.cache_dir
            .clone()
            .or_else(embed::EmbeddingCache::default_dir)
    };
    let dense = async {
        let embedder = load_embedder(cfg).await?;
        dense::DenseRetriever::from_library(lib, embedder, &cfg.index, cache.as_deref()).await
    };
    match (cfg.kind, dense.await) {
        (RetrieverKind::Dense, d) => Ok((Arc::new(d?), None)),
        (_, Ok(d)) => Ok((Arc::new(dense::HybridRetriever::new(lexical, d)?), None)),
        (RetrieverKind::Auto, Err(e)) => Ok((
            Arc::new(lexical),
            Some(format!("lexical retrieval only ({e})")),
        )),
        (_, Err(e)) => Err(e),
    }
}
