//! A [`Config`] into the pieces of a pipeline: the engine, the LLM backend, the retriever and the
//! [`Text2Sql`] orchestrator. Every front end builds through here.

use std::sync::Arc;
use std::time::Duration;

use super::{Config, EngineKind, LlmConfig, LlmProvider, RetrievalConfig};
use crate::engine::duckdb::LocalOptions;
use crate::engine::{LocalEngine, QueryEngine, QueryOptions};
use crate::error::{Error, Result};
use crate::fewshot::library::Library;
use crate::fewshot::{FewShotRetriever, RetrieverConfig};
use crate::llm::LlmBackend;
use crate::pipeline::{Options, Text2Sql};

/// A built pipeline, and notes for the user (a fallback taken, e.g. lexical retrieval when the embedding
/// model did not load). Front ends show the notes as warnings.
#[derive(Debug, Clone)]
pub struct Setup {
    pub text2sql: Text2Sql,
    pub notes: Vec<String>,
}

/// The query engine `config.engine` describes.
pub async fn build_engine(config: &Config) -> Result<Arc<dyn QueryEngine>> {
    let e = &config.engine;
    match e.kind {
        EngineKind::Local => {
            let engine = LocalEngine::open(
                &e.lake,
                LocalOptions {
                    as_of: config.pipeline.as_of,
                    memory_limit: e.memory_limit.clone(),
                    max_temp_size: e.max_temp_size.clone(),
                    ..Default::default()
                },
            )?;
            Ok(Arc::new(engine))
        }
        #[cfg(feature = "athena")]
        EngineKind::Athena => {
            use crate::engine::athena::{AthenaConfig, AthenaEngine};
            let athena = AthenaConfig {
                workgroup: e.workgroup.clone(),
                output_location: e.output_location.clone(),
                database: e.database.clone(),
                allow_full_scan: e.allow_full_scan,
                max_bytes_scanned: e.max_bytes_scanned,
                explain_check: e.explain_check,
                ..Default::default()
            };
            let settings = crate::aws::ClientSettings {
                region: e.region.clone(),
                endpoint_url: e.endpoint_url.clone(),
                ..Default::default()
            };
            Ok(Arc::new(AthenaEngine::connect(&settings, athena).await?))
        }
        #[cfg(not(feature = "athena"))]
        EngineKind::Athena => Err(Error::Config(
            "engine.kind = athena needs asklake built with the `athena` feature".into(),
        )),
    }
}

/// The LLM backend `config` describes, or `None` for provider `none`.
pub async fn build_llm(config: &LlmConfig) -> Result<Option<Arc<dyn LlmBackend>>> {
    build_llm_with_key(config, None).await
}

/// [`build_llm`] with an API key for an OpenAI-compatible server given by the caller (secrets are never
/// part of a [`Config`]; the default key is `OPENAI_API_KEY`).
pub async fn build_llm_with_key(
    config: &LlmConfig,
    api_key: Option<String>,
) -> Result<Option<Arc<dyn LlmBackend>>> {
    let _ = &api_key;
    let timeout = Duration::from_secs_f64(config.timeout_secs);
    match config.provider {
        LlmProvider::None => Ok(None),
        #[cfg(feature = "bedrock")]
        LlmProvider::Bedrock => {
            let settings = crate::aws::ClientSettings {
                region: config.region.clone(),
                endpoint_url: config.endpoint_url.clone(),
                call_timeout: Some(timeout),
                ..Default::default()
            };
            let model = config.model.as_deref().unwrap_or("sonnet");
            Ok(Some(Arc::new(
                crate::llm::bedrock::Bedrock::connect(model, &settings).await?,
            )))
        }
        #[cfg(feature = "openai")]
        LlmProvider::Openai => {
            use crate::llm::openai::OpenAiCompatible;
            let model = config.model.as_deref().ok_or_else(|| {
                Error::Config(
                    "llm.provider = openai needs llm.model (the server's model name; --model, ASKLAKE_MODEL)"
                        .into(),
                )
            })?;
            let base = config
                .base_url
                .clone()
                .unwrap_or_else(OpenAiCompatible::default_base_url);
            let mut o = OpenAiCompatible::new(base, model)?.with_timeout(timeout);
            if let Some(k) = api_key {
                o = o.with_api_key(k);
            }
            Ok(Some(Arc::new(o)))
        }
        #[allow(unreachable_patterns)]
        other => Err(Error::Config(format!(
            "llm.provider = {other} needs asklake built with the `{other}` feature"
        ))),
    }
}

/// The verified library: the shipped examples plus those in [`RetrievalConfig::library_dir`].
pub fn library(config: &RetrievalConfig) -> Result<Library> {
    Library::builtin_with(Some(&config.library_dir()))
}

/// How the fewshot module should build a retriever for `config`.
pub fn retriever_config(config: &RetrievalConfig) -> RetrieverConfig {
    RetrieverConfig {
        kind: config.retriever,
        model: config.embed_model.as_ref().map(std::path::PathBuf::from),
        base_url: config.embed_base_url.clone(),
        prefix: config.embed_prefix,
        index: config.index.clone(),
        cache_dir: None,
        no_cache: !config.embedding_cache,
    }
}

/// The retriever over `lib` that `config` describes, and a note when `auto` fell back to lexical retrieval.
pub async fn build_retriever(
    config: &RetrievalConfig,
    lib: &Library,
) -> Result<(Arc<dyn FewShotRetriever>, Option<String>)> {
    crate::fewshot::build_retriever(lib, &retriever_config(config)).await
}

/// The orchestrator's options from `[pipeline]`, `[retrieval]` and `[engine]`.
pub fn pipeline_options(config: &Config) -> Options {
    let p = &config.pipeline;
    Options {
        max_attempts: p.max_attempts,
        empty_result: p.empty_result,
        max_rows: p.max_rows,
        explain: p.explain,
        as_of: p.as_of,
        query_timeout: Duration::from_secs_f64(config.engine.timeout_secs),
        examples: config.retrieval.examples,
        audit_log: p.audit_log.clone(),
        rerank: p.rerank,
        self_consistency: p.self_consistency,
        ..Options::default()
    }
}

/// Options for one query run outside the pipeline (`asklake sql`, `/api/sql`, the MCP `run_sql` tool).
pub fn query_options(config: &Config) -> QueryOptions {
    QueryOptions {
        max_rows: config.pipeline.max_rows,
        timeout: Some(Duration::from_secs_f64(config.engine.timeout_secs)),
        as_of: config.pipeline.as_of,
    }
}

/// The whole pipeline `config` describes.
pub async fn build_text2sql(config: &Config) -> Result<Setup> {
    let engine = build_engine(config).await?;
    let llm = build_llm(&config.llm).await?;
    build_text2sql_with(config, engine, llm, None).await
}

/// The pipeline `config` describes, on an engine and LLM the caller built (or was handed, as Python's
/// `Text2Sql(lake, llm, …)` is); `retriever` replaces the configured one (fixed examples).
pub async fn build_text2sql_with(
    config: &Config,
    engine: Arc<dyn QueryEngine>,
    llm: Option<Arc<dyn LlmBackend>>,
    retriever: Option<Arc<dyn FewShotRetriever>>,
) -> Result<Setup> {
    let mut notes = Vec::new();
    // An audit log that cannot be written is found now, before any question is asked and lost.
    if let Some(path) = &config.pipeline.audit_log {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                Error::Config(format!(
                    "pipeline.audit_log {} cannot be written: {e}",
                    path.display()
                ))
            })?;
    }
    let mut builder = Text2Sql::builder(engine).options(pipeline_options(config));
    if let Some(l) = llm {
        builder = builder.llm(l);
    }
    // The verified library: few-shot examples in the prompt, and the answer itself when no LLM is configured.
    if let Some(r) = retriever {
        builder = builder.retriever(r);
    } else if config.retrieval.examples > 0 {
        let lib = library(&config.retrieval)?;
        let (r, note) = build_retriever(&config.retrieval, &lib).await?;
        notes.extend(note);
        builder = builder.retriever(r);
    }
    Ok(Setup {
        text2sql: builder.build(),
        notes,
    })
}
