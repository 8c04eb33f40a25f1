//! LLM backend handles, built by the core's configuration layer.

use std::sync::Arc;

use asklake::llm::LlmBackend;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::runtime::block_on;

/// An LLM backend handle (Bedrock, OpenAI-compatible, scripted).
#[pyclass(module = "asklake._native", frozen)]
#[derive(Clone)]
pub struct Llm {
    pub(crate) inner: Option<Arc<dyn LlmBackend>>,
}

#[pymethods]
impl Llm {
    /// The model id, or None for NoLLM.
    #[getter]
    fn model(&self) -> Option<String> {
        self.inner.as_ref().map(|l| l.model().to_string())
    }
    #[getter]
    fn backend(&self) -> String {
        self.inner
            .as_ref()
            .map_or("none".into(), |l| l.name().to_string())
    }
    fn __repr__(&self) -> String {
        format!(
            "<Llm {} {}>",
            self.backend(),
            self.model().unwrap_or_default()
        )
    }
}

/// The `[llm]` settings (`provider`, `model`, `base_url`, `region`, `endpoint_url`, `timeout_secs`) into a
/// backend; `api_key` for an OpenAI-compatible server (default `OPENAI_API_KEY`).
fn build(
    py: Python<'_>,
    settings: &Bound<'_, PyDict>,
    api_key: Option<String>,
    discover: bool,
) -> PyResult<Llm> {
    let config = if discover {
        crate::config::discovered(None, None, Some(settings))?.config
    } else {
        crate::config::explicit(Some(settings))?
    };
    let inner = block_on(py, async move {
        asklake::config::build_llm_with_key(&config.llm, api_key).await
    })?;
    Ok(Llm { inner })
}

/// Amazon Bedrock (Converse): an alias (`haiku`, `sonnet`, `opus`, `sonnet-4`, `nova-pro`, …) or a model id.
#[pyfunction]
#[pyo3(signature = (model="sonnet", region=None, endpoint_url=None))]
pub fn bedrock(
    py: Python<'_>,
    model: &str,
    region: Option<String>,
    endpoint_url: Option<String>,
) -> PyResult<Llm> {
    let s = PyDict::new(py);
    s.set_item("llm.provider", "bedrock")?;
    s.set_item("llm.model", model)?;
    s.set_item("llm.region", region)?;
    s.set_item("llm.endpoint_url", endpoint_url)?;
    build(py, &s, None, false)
}

/// Any OpenAI-compatible chat-completions server; the key defaults to OPENAI_API_KEY.
#[pyfunction]
#[pyo3(signature = (base_url, model, api_key=None, timeout_s=120.0))]
pub fn openai_compatible(
    py: Python<'_>,
    base_url: &str,
    model: &str,
    api_key: Option<String>,
    timeout_s: f64,
) -> PyResult<Llm> {
    let s = PyDict::new(py);
    s.set_item("llm.provider", "openai")?;
    s.set_item("llm.model", model)?;
    s.set_item("llm.base_url", base_url)?;
    s.set_item("llm.timeout_secs", timeout_s)?;
    build(py, &s, api_key, false)
}

/// The backend the CLI would use: the config file, `ASKLAKE_LLM`, `ASKLAKE_MODEL`, `OPENAI_BASE_URL`, with
/// `kind`, `model` and `base_url` overriding them.
#[pyfunction]
#[pyo3(signature = (kind=None, model=None, base_url=None))]
pub fn llm_from_env(
    py: Python<'_>,
    kind: Option<String>,
    model: Option<String>,
    base_url: Option<String>,
) -> PyResult<Llm> {
    let s = PyDict::new(py);
    s.set_item("llm.provider", kind)?;
    s.set_item("llm.model", model)?;
    s.set_item("llm.base_url", base_url)?;
    build(py, &s, None, true)
}

/// No LLM: `ask` says how to configure one.
#[pyfunction]
pub fn no_llm() -> Llm {
    Llm { inner: None }
}
