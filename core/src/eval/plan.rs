//! One way to set up an evaluation run, shared by `asklake eval` and Python's `asklake.evaluate`: the
//! questions, variants and languages, the completion cache, the retriever from the configuration, and the
//! reports.

use std::path::PathBuf;
use std::sync::Arc;

use super::cache::CachedLlm;
use super::runner::{self, BenchQuestion, CallEstimate, QuestionResult, Report, RunSetup, Variant};
use crate::config::Config;
use crate::engine::QueryEngine;
use crate::error::{Error, Result};
use crate::llm::LlmBackend;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A benchmark JSONL file; `None`: the shipped benchmark.
    pub dataset: Option<PathBuf>,
    pub variants: Vec<Variant>,
    pub langs: Vec<&'static str>,
    /// Only the first N questions.
    pub limit: Option<usize>,
    /// Questions in flight at once.
    pub concurrency: usize,
    /// Where report.json, report.md, accuracy_vs_cost.png and the completion cache go.
    pub out: Option<PathBuf>,
}

/// `en`, `ko` or `both`.
pub fn languages(s: &str) -> Result<Vec<&'static str>> {
    match s.trim() {
        "en" => Ok(vec!["en"]),
        "ko" => Ok(vec!["ko"]),
        "both" => Ok(vec!["en", "ko"]),
        other => Err(Error::Config(format!(
            "language {other:?}: use en, ko or both"
        ))),
    }
}

/// Comma-separated variant names (`zero-shot,rag+repair,self-consistency:5`).
pub fn variants<S: AsRef<str>>(names: &[S]) -> Result<Vec<Variant>> {
    names
        .iter()
        .flat_map(|n| n.as_ref().split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::parse)
        .collect()
}

impl Plan {
    /// The questions: the dataset or the shipped benchmark, cut to `limit`.
    pub fn questions(&self) -> Result<Vec<BenchQuestion>> {
        let mut q = match &self.dataset {
            Some(p) => runner::load_benchmark(p)?,
            None => runner::builtin_benchmark()?,
        };
        if let Some(n) = self.limit {
            q.truncate(n);
        }
        Ok(q)
    }

    /// The retriever of the retrieval variants, from `config.retrieval` (`None` when no variant retrieves),
    /// and a note when it fell back to lexical retrieval.
    async fn setup(&self, config: &Config) -> Result<(RunSetup, Option<String>)> {
        let (retriever, note) = if self.variants.iter().any(|v| v.retrieves()) {
            let lib = crate::fewshot::library::Library::builtin()?;
            let (r, n) = crate::config::build_retriever(&config.retrieval, &lib).await?;
            (Some(r), n)
        } else {
            (None, None)
        };
        Ok((
            RunSetup {
                concurrency: self.concurrency.max(1),
                retriever,
            },
            note,
        ))
    }

    /// The minimum tokens of the run (no model is called).
    pub async fn estimate(
        &self,
        config: &Config,
        engine: Arc<dyn QueryEngine>,
    ) -> Result<Vec<CallEstimate>> {
        let (setup, _) = self.setup(config).await?;
        let options = crate::config::pipeline_options(config);
        runner::estimate(
            engine,
            &self.variants,
            &self.questions()?,
            &self.langs,
            &options,
            &setup,
        )
        .await
    }

    /// Runs every question × language × model × variant. With `out`, completions are cached by prompt hash
    /// in `out/completions.jsonl` (a repeated or interrupted run does not pay twice) and the reports are
    /// written there. `progress(result, done, total)` is called as each question finishes.
    pub async fn run(
        &self,
        config: &Config,
        engine: Arc<dyn QueryEngine>,
        models: Vec<Arc<dyn LlmBackend>>,
        progress: &mut (dyn FnMut(&QuestionResult, usize, usize) + Send),
    ) -> Result<Outcome> {
        if models.is_empty() {
            return Err(Error::Config(
                "an evaluation needs at least one model".into(),
            ));
        }
        let mut cached = Vec::new();
        let models: Vec<Arc<dyn LlmBackend>> = match &self.out {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                for m in models {
                    cached.push(Arc::new(CachedLlm::open(
                        m,
                        &dir.join("completions.jsonl"),
                    )?));
                }
                cached
                    .iter()
                    .map(|c| c.clone() as Arc<dyn LlmBackend>)
                    .collect()
            }
            None => models,
        };
        let (setup, note) = self.setup(config).await?;
        let options = crate::config::pipeline_options(config);
        let report = runner::run_setup(
            engine,
            &models,
            &self.variants,
            &self.questions()?,
            &self.langs,
            &options,
            &setup,
            progress,
        )
        .await?;
        let written = match &self.out {
            Some(dir) => runner::write_reports(&report, dir)?,
            None => Vec::new(),
        };
        Ok(Outcome {
            report,
            cache_hits: cached.iter().map(|c| c.hits()).sum(),
            written,
            note,
        })
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    /// Completions served from the cache.
    pub cache_hits: u64,
    /// The report files written.
    pub written: Vec<PathBuf>,
    /// A retrieval fallback taken (lexical only).
    pub note: Option<String>,
}
