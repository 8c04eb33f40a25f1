//! The question → SQL → answer pipeline, its answers, sessions and streamed explanations, and library search.
//! Everything is built by the core's configuration layer from the same setting names as the config file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use asklake::pipeline::Text2Sql as CoreText2Sql;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::engine::{ArrowResult, engine_of};
use crate::error::{AsklakeError, ConfigError, QueryError, ResultExt, internal};
use crate::llm::Llm;
use crate::runtime::{block_on, runtime};

/// Any serializable value as the matching Python object (dicts, lists, numbers, strings, None).
pub(crate) fn to_py_obj<T: serde::Serialize + ?Sized>(
    py: Python<'_>,
    v: &T,
) -> PyResult<Py<PyAny>> {
    Ok(pythonize::pythonize(py, v).map_err(internal)?.unbind())
}

/// Shows the configuration layer's notes (fallbacks taken) as Python warnings.
fn warn(py: Python<'_>, notes: &[String]) -> PyResult<()> {
    for n in notes {
        py.import("warnings")?
            .call_method1("warn", (format!("asklake: {n}"),))?;
    }
    Ok(())
}

/// The answer to a question.
#[pyclass(module = "asklake._native", frozen)]
pub struct Answer {
    json: serde_json::Value,
    result: Option<ArrowResult>,
    trace: serde_json::Value,
    inner_sql: Option<String>,
    question: String,
    explanation: Option<String>,
    core: Mutex<Option<asklake::pipeline::Answer>>,
}

impl Answer {
    pub(crate) fn new(a: asklake::pipeline::Answer) -> Self {
        Answer {
            json: a.to_json(),
            result: a.result.as_ref().map(ArrowResult::new),
            trace: serde_json::to_value(&a.trace).unwrap_or_default(),
            inner_sql: a.sql.clone(),
            question: a.question.clone(),
            explanation: a.explanation.clone(),
            core: Mutex::new(Some(a)),
        }
    }
}

#[pymethods]
impl Answer {
    #[getter]
    fn question(&self) -> String {
        self.question.clone()
    }
    #[getter]
    fn sql(&self) -> Option<String> {
        self.inner_sql.clone()
    }
    #[getter]
    fn explanation(&self) -> Option<String> {
        self.explanation.clone()
    }
    #[getter]
    fn refusal(&self) -> Option<String> {
        self.json["refusal"].as_str().map(String::from)
    }
    #[getter]
    fn model(&self) -> String {
        self.json["model"].as_str().unwrap_or_default().to_string()
    }
    #[getter]
    fn source(&self) -> String {
        self.json["source"].as_str().unwrap_or_default().to_string()
    }
    #[getter]
    fn row_count(&self) -> u64 {
        self.json["row_count"].as_u64().unwrap_or(0)
    }
    #[getter]
    fn cost_usd(&self) -> Option<f64> {
        self.json["usage"]["cost_usd"].as_f64()
    }
    /// [{"sql": …, "error": …}] per LLM attempt.
    #[getter]
    fn attempts(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_obj(py, &self.json["attempts"])
    }
    /// {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"}.
    #[getter]
    fn usage(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_obj(py, &self.json["usage"])
    }
    /// {"llm", "engine", "total"} in milliseconds.
    #[getter]
    fn timings(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_obj(py, &self.json["timings_ms"])
    }
    #[getter]
    fn tables(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_obj(py, &self.json["tables"])
    }
    /// Every step: prompts, responses, SQL, guard and validation verdicts, engine errors, rows, latency.
    #[getter]
    fn trace(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_obj(py, &self.trace)
    }
    /// The result rows (None when no query ran), as an Arrow stream source.
    #[getter]
    fn result(&self) -> Option<ArrowResult> {
        self.result.as_ref().map(|r| ArrowResult {
            schema: r.schema.clone(),
            batches: r.batches.clone(),
            row_count: r.row_count,
            truncated: r.truncated,
            elapsed_ms: r.elapsed_ms,
            bytes_scanned: r.bytes_scanned,
            cost_usd: r.cost_usd,
        })
    }
    /// The result as a `pyarrow.Table`; QueryError when no query ran.
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = self
            .result()
            .ok_or_else(|| QueryError::new_err("this answer has no result rows"))?;
        ArrowResult::to_arrow(&Bound::new(py, r)?)
    }

    /// The result as a pandas DataFrame.
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_arrow(py)?.call_method0("to_pandas")
    }

    /// The CLI's `--json` object.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_obj(py, &self.json)
    }
    /// Jupyter's rich display, rendered by the package's Python code (`asklake._html`), as text only.
    fn _repr_html_(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let d = self.to_dict(py)?;
        Ok(py
            .import("asklake._html")?
            .call_method1("answer_html", (d,))?
            .unbind())
    }
    fn __repr__(&self) -> String {
        format!(
            "<Answer {:?}: {} rows, {} attempt(s)>",
            self.question,
            self.row_count(),
            self.json["attempts"].as_array().map_or(0, Vec::len)
        )
    }
}

/// The question → SQL → answer pipeline.
#[pyclass(module = "asklake._native", frozen)]
pub struct Text2Sql {
    inner: CoreText2Sql,
}

#[pymethods]
impl Text2Sql {
    /// `settings`: any configuration key (`max_attempts`, `empty_result`, `explain`, `as_of`, `max_rows`,
    /// `audit_log`, `retriever`, `embed_model`, `index`, `library`, `rerank`, `self_consistency`, …), as in
    /// the config file. `examples`: fixed (question, SQL) pairs instead of the library.
    #[new]
    #[pyo3(signature = (engine, llm=None, examples=None, **settings))]
    fn new(
        py: Python<'_>,
        engine: &Bound<'_, PyAny>,
        llm: Option<PyRef<'_, Llm>>,
        examples: Option<Vec<(String, String)>>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let engine = engine_of(engine)?;
        let config = crate::config::explicit(settings)?;
        let llm = llm.and_then(|l| l.inner.clone());
        let fixed: Option<Arc<dyn asklake::fewshot::FewShotRetriever>> = examples.map(|ex| {
            let ex = ex
                .into_iter()
                .enumerate()
                .map(|(i, (q, sql))| asklake::fewshot::Example {
                    id: format!("user-{i}"),
                    question: q,
                    question_ko: None,
                    sql,
                    tables: Vec::new(),
                    tags: Vec::new(),
                })
                .collect();
            Arc::new(asklake::fewshot::FixedExamples::new(ex)) as _
        });
        let setup = block_on(py, async move {
            asklake::config::build_text2sql_with(&config, engine, llm, fixed).await
        })?;
        warn(py, &setup.notes)?;
        Ok(Text2Sql {
            inner: setup.text2sql,
        })
    }

    /// The pipeline the configuration describes: `path` or the discovered config file, `profile`, the
    /// environment, then `overrides` (engine, model, retrieval and pipeline settings).
    #[staticmethod]
    #[pyo3(signature = (path=None, profile=None, **overrides))]
    fn from_config(
        py: Python<'_>,
        path: Option<PathBuf>,
        profile: Option<String>,
        overrides: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config = crate::config::discovered(path, profile, overrides)?.config;
        let setup = block_on(
            py,
            async move { asklake::config::build_text2sql(&config).await },
        )?;
        warn(py, &setup.notes)?;
        Ok(Text2Sql {
            inner: setup.text2sql,
        })
    }

    /// Answers a question; raises on failure (UnresolvedError, LlmError, …).
    fn ask(&self, py: Python<'_>, question: &str) -> PyResult<Answer> {
        let t = self.inner.clone();
        let q = question.to_string();
        let a = block_on(py, async move { t.ask(&q).await })?;
        Ok(Answer::new(a))
    }

    /// Like `ask`, but a failed question comes back as an answer whose `to_dict()["error"]` says why.
    fn run(&self, py: Python<'_>, question: &str) -> PyResult<Answer> {
        let t = self.inner.clone();
        let q = question.to_string();
        let a = block_on(py, async move { t.run(&q, &[]).await })?;
        Ok(Answer::new(a))
    }

    /// The prompt the model would get for `question`: {"system", "messages": [{"role", "content"}]}.
    fn prompt(&self, py: Python<'_>, question: &str) -> PyResult<Py<PyAny>> {
        let t = self.inner.clone();
        let q = question.to_string();
        let r = block_on(py, async move { t.render_prompt(&q).await })?;
        to_py_obj(py, &r)
    }

    /// The explanation of an answer, streamed: an iterator of text chunks as the model writes them.
    fn explain_stream(&self, answer: &Answer) -> PyResult<ExplainStream> {
        let req = {
            let core = answer
                .core
                .lock()
                .map_err(|_| AsklakeError::new_err("answer lock poisoned"))?;
            let core = core
                .as_ref()
                .ok_or_else(|| AsklakeError::new_err("answer unavailable"))?;
            self.inner.explanation_request(core).py()?
        };
        let llm = self
            .inner
            .llm()
            .cloned()
            .ok_or_else(|| ConfigError::new_err("no LLM configured to explain with"))?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        runtime()?.spawn(async move {
            use futures_util::StreamExt;
            match llm.chat_stream(&req).await {
                Ok(mut stream) => {
                    while let Some(ev) = stream.next().await {
                        let item = match ev {
                            Ok(asklake::llm::StreamEvent::Delta(t)) => Ok(t),
                            Ok(asklake::llm::StreamEvent::Done { .. }) => break,
                            Err(e) => Err(e),
                        };
                        let stop = item.is_err();
                        if tx.send(item).is_err() || stop {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        Ok(ExplainStream {
            rx: tokio::sync::Mutex::new(rx),
        })
    }

    /// A conversation whose follow-ups see the previous questions.
    fn session(&self) -> Session {
        Session {
            inner: tokio::sync::Mutex::new(self.inner.session()),
        }
    }

    /// Adds a checked answer's question and SQL to the library folder (verified again by the guard and the
    /// engine); returns the stored entry's id.
    #[pyo3(signature = (answer, library=None, question_ko=None, id=None, tags=None))]
    fn promote(
        &self,
        py: Python<'_>,
        answer: PyRef<'_, Answer>,
        library: Option<PathBuf>,
        question_ko: Option<String>,
        id: Option<String>,
        tags: Option<Vec<String>>,
    ) -> PyResult<String> {
        let sql = answer
            .inner_sql
            .clone()
            .ok_or_else(|| ConfigError::new_err("this answer has no SQL to promote"))?;
        if answer.json["source"] == "library" {
            return Err(ConfigError::new_err(
                "this answer already comes from the library",
            ));
        }
        let s = PyDict::new(py);
        s.set_item("library", library.map(|p| p.display().to_string()))?;
        let dir = crate::config::explicit(Some(&s))?.retrieval.library_dir();
        let new = asklake::fewshot::library::NewExample {
            question: answer.question.clone(),
            question_ko,
            sql,
            id,
            tags: tags.unwrap_or_default(),
            origin: "ask".into(),
        };
        let engine = self.inner.engine().clone();
        let (entry, _) = block_on(py, async move {
            asklake::fewshot::library::add_verified(engine.as_ref(), &dir, new).await
        })?;
        Ok(entry.example.id)
    }
}

/// Text chunks of a streamed explanation.
#[pyclass(module = "asklake._native", frozen)]
pub struct ExplainStream {
    rx: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<asklake::Result<String>>>,
}

#[pymethods]
impl ExplainStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(slf: Py<Self>, py: Python<'_>) -> PyResult<Option<String>> {
        block_on(py, async move {
            let me = slf.get();
            let mut rx = me.rx.lock().await;
            rx.recv().await.transpose()
        })
    }
}

/// A conversation.
#[pyclass(module = "asklake._native", frozen)]
pub struct Session {
    inner: tokio::sync::Mutex<asklake::pipeline::Session>,
}

#[pymethods]
impl Session {
    fn ask(slf: Py<Self>, py: Python<'_>, question: &str) -> PyResult<Answer> {
        let q = question.to_string();
        let a = block_on(py, async move {
            let me = slf.get();
            let mut s = me.inner.lock().await;
            s.ask(&q).await
        })?;
        Ok(Answer::new(a))
    }

    /// Prior questions and their SQL.
    #[getter]
    fn history(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let s = self.inner.blocking_lock();
        to_py_obj(py, &s.history)
    }
}

/// The library examples closest to a question: a list of {"id", "question", "sql", "score"}, best first.
/// `settings`: `retriever`, `embed_model`, `index`, `library` (as in the config file).
#[pyfunction]
#[pyo3(signature = (question, k=5, **settings))]
pub fn search_library(
    py: Python<'_>,
    question: &str,
    k: usize,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let config = crate::config::explicit(settings)?;
    let q = question.to_string();
    let (hits, note) = block_on(py, async move {
        let lib = asklake::config::library(&config.retrieval)?;
        let (r, note) = asklake::config::build_retriever(&config.retrieval, &lib).await?;
        Ok((r.retrieve(&q, k).await?, note))
    })?;
    warn(py, &note.into_iter().collect::<Vec<_>>())?;
    let v: Vec<serde_json::Value> = hits.iter().map(|h| h.hit()).collect();
    to_py_obj(py, &v)
}
