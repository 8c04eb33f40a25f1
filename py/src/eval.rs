//! The evaluation benchmark from Python: the core's evaluation plan, as `asklake eval` runs it.

use std::path::PathBuf;
use std::sync::Arc;

use asklake::eval::plan::{self, Plan};
use asklake::llm::LlmBackend;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::engine::engine_of;
use crate::error::{ConfigError, ResultExt};
use crate::llm::Llm;
use crate::pipeline::to_py_obj;
use crate::runtime::block_on;

/// Runs the evaluation benchmark: every question × model × variant, scored by execution accuracy. Returns
/// the report (`{"retriever", "summary": [...], "results": [...]}`); with `out`, also writes report.json,
/// report.md and accuracy_vs_cost.png there and caches completions in out/completions.jsonl (a repeated or
/// interrupted run does not pay twice). `settings`: configuration keys (`as_of`, `retriever`, …).
#[pyfunction]
#[pyo3(signature = (engine, llms, variants, dataset=None, lang="en", limit=None, concurrency=4, out=None, **settings))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    py: Python<'_>,
    engine: &Bound<'_, PyAny>,
    llms: Vec<PyRef<'_, Llm>>,
    variants: Vec<String>,
    dataset: Option<PathBuf>,
    lang: &str,
    limit: Option<usize>,
    concurrency: usize,
    out: Option<PathBuf>,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let engine = engine_of(engine)?;
    let config = crate::config::explicit(settings)?;
    let plan = Plan {
        dataset,
        variants: plan::variants(&variants).py()?,
        langs: plan::languages(lang).py()?,
        limit,
        concurrency,
        out,
    };
    let models: Vec<Arc<dyn LlmBackend>> = llms
        .iter()
        .map(|l| {
            l.inner
                .clone()
                .ok_or_else(|| ConfigError::new_err("evaluate needs real models, not NoLLM()"))
        })
        .collect::<PyResult<_>>()?;
    fn no_progress(_: &asklake::eval::runner::QuestionResult, _: usize, _: usize) {}
    let outcome = block_on(py, async move {
        let mut progress = no_progress;
        plan.run(&config, engine, models, &mut progress).await
    })?;
    to_py_obj(py, &outcome.report)
}

/// The evaluation benchmark's questions (the shipped one, or a JSONL file): a list of dicts with id,
/// question, question_ko, sql, tables, difficulty, order_matters.
#[pyfunction]
#[pyo3(signature = (dataset=None))]
pub fn benchmark(py: Python<'_>, dataset: Option<PathBuf>) -> PyResult<Py<PyAny>> {
    let plan = Plan {
        dataset,
        variants: Vec::new(),
        langs: Vec::new(),
        limit: None,
        concurrency: 1,
        out: None,
    };
    to_py_obj(py, &plan.questions().py()?)
}
