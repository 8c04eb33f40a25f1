//! The `asklake._native` Python module: type conversion, error mapping and the runtime. No prompt text,
//! retry policy or SQL logic lives here; everything is the Rust core's.

use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asklake::arrow::ffi_stream::FFI_ArrowArrayStream;
use asklake::arrow::record_batch::{RecordBatch, RecordBatchIterator};
use asklake::engine::athena::{AthenaConfig, AthenaEngine};
use asklake::engine::duckdb::LocalOptions;
use asklake::engine::{LocalEngine, QueryEngine, QueryOptions, QueryResult};
use asklake::llm::LlmBackend;
use asklake::pipeline::{EmptyResultPolicy, Options, Text2Sql as CoreText2Sql};
use chrono::{DateTime, Utc};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

create_exception!(
    _native,
    AsklakeError,
    PyException,
    "Base of every asklake error."
);
create_exception!(
    _native,
    ConfigError,
    AsklakeError,
    "Bad options, a missing LLM, an empty question."
);
create_exception!(
    _native,
    GuardError,
    AsklakeError,
    "The SQL guard refused the query; `code` and `reason` say why."
);
create_exception!(
    _native,
    ValidationError,
    AsklakeError,
    "A table or column the query names does not exist."
);
create_exception!(
    _native,
    QueryError,
    AsklakeError,
    "The engine could not run the query; `kind` and the engine's message."
);
create_exception!(
    _native,
    QueryTimeoutError,
    AsklakeError,
    "The query ran longer than allowed and was cancelled."
);
create_exception!(
    _native,
    LlmError,
    AsklakeError,
    "The LLM call failed; `status`, `code`, `request_id` as the provider sent them."
);
create_exception!(
    _native,
    ServiceError,
    AsklakeError,
    "A cloud service call (Athena's API) failed."
);
create_exception!(
    _native,
    UnresolvedError,
    AsklakeError,
    "No working query within the attempts; `attempts` and the last error."
);
create_exception!(
    _native,
    LakeError,
    AsklakeError,
    "The lake folder is missing, malformed or not a lake."
);

/// The Rust error as the matching Python exception, with its details as attributes.
fn to_py(e: asklake::Error) -> PyErr {
    use asklake::Error as E;
    let msg = e.to_string();
    let err = match &e {
        E::Guard { .. } => GuardError::new_err(msg),
        E::Validation(_) => ValidationError::new_err(msg),
        E::Query { .. } => QueryError::new_err(msg),
        E::Timeout(_) => QueryTimeoutError::new_err(msg),
        E::Llm(_) => LlmError::new_err(msg),
        E::Service(_) => ServiceError::new_err(msg),
        E::Unresolved { .. } => UnresolvedError::new_err(msg),
        E::Config(_) => ConfigError::new_err(msg),
        E::Lake(_) | E::Schema(_) | E::Io { .. } => LakeError::new_err(msg),
        _ => AsklakeError::new_err(msg),
    };
    Python::attach(|py| {
        let v = err.value(py);
        let set = |k: &str, val: serde_json::Value| {
            if let Ok(obj) = json_to_py(py, &val) {
                let _ = v.setattr(k, obj);
            }
        };
        use serde_json::json;
        match &e {
            E::Guard { code, reason } => {
                set("code", json!(code));
                set("reason", json!(reason));
            }
            E::Query {
                engine,
                kind,
                message,
            } => {
                set("engine", json!(engine));
                set("kind", json!(kind));
                set("message", json!(message));
            }
            E::Llm(s) | E::Service(s) => {
                set("service", json!(s.service));
                set("status", json!(s.status));
                set("code", json!(s.code));
                set("request_id", json!(s.request_id));
                set("retryable", json!(s.retryable));
            }
            E::Unresolved { attempts, last } => {
                set("attempts", json!(attempts));
                set("last_error", json!(last));
            }
            _ => {}
        }
    });
    err
}

/// One tokio runtime per process, recreated in a forked child (a runtime's threads do not survive fork).
fn runtime() -> PyResult<Arc<tokio::runtime::Runtime>> {
    static RT: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut guard = RT
        .lock()
        .map_err(|_| AsklakeError::new_err("runtime lock poisoned"))?;
    if let Some((p, rt)) = guard.as_ref()
        && *p == pid
    {
        return Ok(rt.clone());
    }
    if let Some((_, old)) = guard.take() {
        // The parent's runtime threads are gone in the child; dropping it would wait on them.
        std::mem::forget(old);
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("asklake")
            .build()
            .map_err(|e| AsklakeError::new_err(format!("tokio runtime: {e}")))?,
    );
    *guard = Some((pid, rt.clone()));
    Ok(rt)
}

/// Runs a future with the GIL released; Ctrl-C (a pending Python signal) raises KeyboardInterrupt.
fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl std::future::Future<Output = asklake::Result<T>> + Send,
) -> PyResult<T> {
    let rt = runtime()?;
    let out: Result<asklake::Result<T>, PyErr> = py.detach(|| {
        rt.block_on(async {
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => return Ok(r),
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    });
    match out {
        Ok(r) => r.map_err(to_py),
        Err(e) => Err(e),
    }
}

fn parse_time(s: Option<&str>) -> PyResult<Option<DateTime<Utc>>> {
    s.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .map_err(|_| {
                ConfigError::new_err(format!("{s:?} is not an RFC 3339 time or YYYY-MM-DD date"))
            })
    })
    .transpose()
}

fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
    let json = py.import("json")?;
    Ok(json.call_method1("loads", (v.to_string(),))?.unbind())
}

/// A query result: Arrow batches exported through the Arrow PyCapsule stream interface (no copies).
#[pyclass(module = "asklake._native", frozen)]
pub struct ArrowResult {
    schema: asklake::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
    #[pyo3(get)]
    row_count: usize,
    #[pyo3(get)]
    truncated: bool,
    #[pyo3(get)]
    elapsed_ms: u64,
    #[pyo3(get)]
    bytes_scanned: Option<u64>,
    #[pyo3(get)]
    cost_usd: Option<f64>,
}

impl ArrowResult {
    fn new(r: &QueryResult) -> Self {
        ArrowResult {
            schema: r.schema.clone(),
            batches: r.batches.clone(),
            row_count: r.row_count,
            truncated: r.truncated,
            elapsed_ms: u64::try_from(r.stats.elapsed.as_millis()).unwrap_or(u64::MAX),
            bytes_scanned: r.stats.bytes_scanned,
            cost_usd: r.stats.cost_usd,
        }
    }
}

const STREAM: &CStr = c"arrow_array_stream";

#[pymethods]
impl ArrowResult {
    /// Column names.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The Arrow PyCapsule stream protocol: `pyarrow.table(result)` imports without copying.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new(
            self.batches.clone().into_iter().map(Ok),
            self.schema.clone(),
        );
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new_with_value(py, stream, STREAM)
    }

    /// A `pyarrow.Table`, imported through the stream capsule (no copies).
    fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("pyarrow")?
            .getattr("RecordBatchReader")?
            .call_method1("from_stream", (slf,))?
            .call_method0("read_all")
    }

    /// A pandas DataFrame (nested columns become dicts and lists).
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::to_arrow(slf)?.call_method0("to_pandas")
    }

    fn __len__(&self) -> usize {
        self.row_count
    }

    fn __repr__(&self) -> String {
        format!(
            "<ArrowResult {} rows × {} columns>",
            self.row_count,
            self.schema.fields().len()
        )
    }
}

/// The embedded engine over a demo (or any asklake) lake folder.
#[pyclass(module = "asklake._native", frozen)]
pub struct LocalLake {
    engine: Arc<LocalEngine>,
    #[pyo3(get)]
    path: PathBuf,
}

#[pymethods]
impl LocalLake {
    /// Opens a lake folder (default: `ASKLAKE_LAKE`, else `./asklake-demo`).
    #[new]
    #[pyo3(signature = (path=None, as_of=None))]
    fn new(path: Option<PathBuf>, as_of: Option<&str>) -> PyResult<Self> {
        let path = path.unwrap_or_else(asklake::lake::default_dir);
        let engine = LocalEngine::open(
            &path,
            LocalOptions {
                as_of: parse_time(as_of)?,
                ..Default::default()
            },
        )
        .map_err(to_py)?;
        Ok(LocalLake {
            engine: Arc::new(engine),
            path,
        })
    }

    /// Writes a demo lake (deterministic for a seed and as-of time) and opens it.
    #[staticmethod]
    #[pyo3(signature = (path, seed=42, scale=1.0, days=30, as_of=None))]
    fn demo(
        py: Python<'_>,
        path: PathBuf,
        seed: u64,
        scale: f64,
        days: u32,
        as_of: Option<&str>,
    ) -> PyResult<Self> {
        let config = asklake::demo::DemoConfig {
            dir: path.clone(),
            seed,
            scale,
            days,
            as_of: parse_time(as_of)?,
            ..Default::default()
        };
        py.detach(|| asklake::demo::generate(&config))
            .map_err(to_py)?;
        LocalLake::new(Some(path), None)
    }

    /// `database.table` names.
    fn tables(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        engine_tables(py, self.engine.clone())
    }

    /// A table's nested columns as a dict (`{"database", "name", "columns": [...]}`).
    fn schema(&self, py: Python<'_>, table: &str) -> PyResult<Py<PyAny>> {
        engine_schema(py, self.engine.clone(), table)
    }

    /// Runs one read-only Athena SQL query through the guard.
    #[pyo3(signature = (sql, max_rows=1000, timeout_s=120.0))]
    fn sql(
        &self,
        py: Python<'_>,
        sql: &str,
        max_rows: u64,
        timeout_s: f64,
    ) -> PyResult<ArrowResult> {
        run_sql(py, self.engine.clone(), sql, max_rows, timeout_s)
    }

    fn __repr__(&self) -> String {
        format!("LocalLake({:?})", self.path)
    }
}

fn engine_tables(py: Python<'_>, engine: Arc<dyn QueryEngine>) -> PyResult<Vec<String>> {
    block_on(py, async move { engine.list_tables().await })
}

/// A table's nested columns as a dict (`{"database", "name", "columns": [...]}`).
fn engine_schema(py: Python<'_>, engine: Arc<dyn QueryEngine>, table: &str) -> PyResult<Py<PyAny>> {
    let t = table.to_string();
    let info = block_on(py, async move { engine.describe(&t).await })?;
    json_to_py(
        py,
        &serde_json::to_value(&info).map_err(|e| AsklakeError::new_err(e.to_string()))?,
    )
}

fn run_sql(
    py: Python<'_>,
    engine: Arc<dyn QueryEngine>,
    sql: &str,
    max_rows: u64,
    timeout_s: f64,
) -> PyResult<ArrowResult> {
    let sql = sql.to_string();
    let options = QueryOptions {
        max_rows,
        timeout: Some(Duration::from_secs_f64(timeout_s.max(0.001))),
        as_of: None,
    };
    let (_, r) = block_on(py, async move {
        asklake::sql::run_guarded(engine.as_ref(), &sql, &options).await
    })?;
    Ok(ArrowResult::new(&r))
}

/// Amazon Athena over a real Security Lake.
#[pyclass(module = "asklake._native", frozen)]
pub struct Athena {
    engine: Arc<AthenaEngine>,
}

#[pymethods]
impl Athena {
    #[new]
    #[pyo3(signature = (region=None, workgroup="primary", output_location=None, database=None, endpoint_url=None, allow_full_scan=false, max_bytes_scanned=None, explain_check=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        region: Option<String>,
        workgroup: &str,
        output_location: Option<String>,
        database: Option<String>,
        endpoint_url: Option<String>,
        allow_full_scan: bool,
        max_bytes_scanned: Option<u64>,
        explain_check: bool,
    ) -> PyResult<Self> {
        let config = AthenaConfig {
            workgroup: workgroup.to_string(),
            output_location,
            database,
            allow_full_scan,
            max_bytes_scanned,
            explain_check,
            ..Default::default()
        };
        let engine = block_on(py, async move {
            match endpoint_url {
                None => AthenaEngine::from_env(region, config).await,
                Some(url) => {
                    let shared = aws_config_load(region).await;
                    let conf = aws_sdk_athena::config::Builder::from(&shared)
                        .endpoint_url(url)
                        .retry_config(aws_sdk_athena::config::retry::RetryConfig::disabled())
                        .build();
                    Ok(AthenaEngine::with_client(
                        aws_sdk_athena::Client::from_conf(conf),
                        config,
                    ))
                }
            }
        })?;
        Ok(Athena {
            engine: Arc::new(engine),
        })
    }

    fn tables(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        engine_tables(py, self.engine.clone())
    }

    fn schema(&self, py: Python<'_>, table: &str) -> PyResult<Py<PyAny>> {
        engine_schema(py, self.engine.clone(), table)
    }

    #[pyo3(signature = (sql, max_rows=1000, timeout_s=300.0))]
    fn sql(
        &self,
        py: Python<'_>,
        sql: &str,
        max_rows: u64,
        timeout_s: f64,
    ) -> PyResult<ArrowResult> {
        run_sql(py, self.engine.clone(), sql, max_rows, timeout_s)
    }
}

/// The AWS config chain with an optional region, for constructors that override the endpoint.
async fn aws_config_load(region: Option<String>) -> aws_config::SdkConfig {
    let mut l = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        l = l.region(aws_config::Region::new(r));
    }
    l.load().await
}

/// An LLM backend handle (Bedrock, OpenAI-compatible, scripted).
#[pyclass(module = "asklake._native", frozen)]
#[derive(Clone)]
pub struct Llm {
    inner: Option<Arc<dyn LlmBackend>>,
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

/// Amazon Bedrock (Converse): an alias (`haiku`, `sonnet`, `opus`, `sonnet-4`, `nova-pro`, …) or a model id.
#[pyfunction]
#[pyo3(signature = (model="sonnet", region=None, endpoint_url=None))]
fn bedrock(
    py: Python<'_>,
    model: &str,
    region: Option<String>,
    endpoint_url: Option<String>,
) -> PyResult<Llm> {
    let model = model.to_string();
    let b = block_on(py, async move {
        match endpoint_url {
            None if region.is_none() => asklake::llm::bedrock::Bedrock::from_env(&model).await,
            _ => {
                let shared = aws_config_load(region).await;
                let mut conf = aws_sdk_bedrockruntime::config::Builder::from(&shared)
                    .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
                    .timeout_config(asklake::llm::bedrock::default_timeouts(
                        Duration::from_secs(120),
                    ));
                if let Some(url) = endpoint_url {
                    conf = conf.endpoint_url(url);
                }
                asklake::llm::bedrock::Bedrock::with_client(
                    aws_sdk_bedrockruntime::Client::from_conf(conf.build()),
                    &model,
                )
            }
        }
    })?;
    Ok(Llm {
        inner: Some(Arc::new(b)),
    })
}

/// Any OpenAI-compatible chat-completions server; the key defaults to OPENAI_API_KEY.
#[pyfunction]
#[pyo3(signature = (base_url, model, api_key=None, timeout_s=120.0))]
fn openai_compatible(
    base_url: &str,
    model: &str,
    api_key: Option<String>,
    timeout_s: f64,
) -> PyResult<Llm> {
    let mut o = asklake::llm::openai::OpenAiCompatible::new(base_url, model)
        .map_err(to_py)?
        .with_timeout(Duration::from_secs_f64(timeout_s.max(0.001)));
    if let Some(k) = api_key {
        o = o.with_api_key(k);
    }
    Ok(Llm {
        inner: Some(Arc::new(o)),
    })
}

/// No LLM: `ask` says how to configure one.
/// The library retriever (`auto`: hybrid when the embedding model loads, else lexical with a warning).
fn library_retriever(
    py: Python<'_>,
    kind: &str,
    embed_model: Option<PathBuf>,
    library: Option<PathBuf>,
) -> PyResult<Arc<dyn asklake::fewshot::FewShotRetriever>> {
    let cfg = asklake::fewshot::RetrieverConfig {
        kind: kind.parse().map_err(to_py)?,
        model: embed_model,
        ..Default::default()
    };
    let (r, note) = block_on(py, async move {
        let lib = asklake::fewshot::library::Library::builtin_with(library.as_deref())?;
        asklake::fewshot::build_retriever(&lib, &cfg).await
    })?;
    if let Some(n) = note {
        let warnings = py.import("warnings")?;
        warnings.call_method1("warn", (format!("asklake: {n}"),))?;
    }
    Ok(r)
}

/// The library examples closest to a question: a list of {"id", "question", "sql", "score"}, best first.
#[pyfunction]
#[pyo3(signature = (question, k=5, retriever="auto", embed_model=None, library=None))]
fn search_library(
    py: Python<'_>,
    question: &str,
    k: usize,
    retriever: &str,
    embed_model: Option<PathBuf>,
    library: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let r = library_retriever(py, retriever, embed_model, library)?;
    let q = question.to_string();
    let hits = block_on(py, async move { r.retrieve(&q, k).await })?;
    let v: Vec<serde_json::Value> = hits
        .iter()
        .map(|h| {
            serde_json::json!({"id": h.example.id, "question": h.example.question,
                               "sql": h.example.sql, "score": h.score})
        })
        .collect();
    json_to_py(py, &serde_json::Value::Array(v))
}

/// Runs the evaluation benchmark: every question × model × variant, scored by execution accuracy. Returns
/// the report (`{"retriever", "summary": [...], "results": [...]}`); with `out`, also writes report.json,
/// report.md and accuracy_vs_cost.png there and caches completions in out/completions.jsonl (a repeated or
/// interrupted run does not pay twice).
#[pyfunction]
#[pyo3(signature = (engine, llms, variants, dataset=None, lang="en", limit=None, concurrency=4, as_of=None, retriever="auto", out=None))]
#[allow(clippy::too_many_arguments)]
fn evaluate(
    py: Python<'_>,
    engine: &Bound<'_, PyAny>,
    llms: Vec<PyRef<'_, Llm>>,
    variants: Vec<String>,
    dataset: Option<PathBuf>,
    lang: &str,
    limit: Option<usize>,
    concurrency: usize,
    as_of: Option<&str>,
    retriever: &str,
    out: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    use asklake::eval::runner;
    let engine = engine_of(engine)?;
    let mut questions = match &dataset {
        Some(p) => runner::load_benchmark(p),
        None => runner::builtin_benchmark(),
    }
    .map_err(to_py)?;
    if let Some(n) = limit {
        questions.truncate(n);
    }
    let variants: Vec<runner::Variant> = variants
        .iter()
        .map(|v| v.parse())
        .collect::<asklake::Result<_>>()
        .map_err(to_py)?;
    let langs: Vec<&'static str> = match lang {
        "en" => vec!["en"],
        "ko" => vec!["ko"],
        "both" => vec!["en", "ko"],
        other => {
            return Err(ConfigError::new_err(format!(
                "lang {other:?}: use en, ko or both"
            )));
        }
    };
    let mut models: Vec<Arc<dyn LlmBackend>> = Vec::new();
    for l in &llms {
        let m = l
            .inner
            .clone()
            .ok_or_else(|| ConfigError::new_err("evaluate needs real models, not NoLLM()"))?;
        models.push(match &out {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| to_py(asklake::Error::io(dir, e)))?;
                Arc::new(
                    asklake::eval::cache::CachedLlm::open(m, &dir.join("completions.jsonl"))
                        .map_err(to_py)?,
                )
            }
            None => m,
        });
    }
    let retriever = if variants.iter().any(|v| v.retrieves()) {
        Some(library_retriever(py, retriever, None, None)?)
    } else {
        None
    };
    let options = asklake::pipeline::Options {
        as_of: parse_time(as_of)?,
        ..Default::default()
    };
    let setup = runner::RunSetup {
        concurrency,
        retriever,
    };
    fn no_progress(_: &runner::QuestionResult, _: usize, _: usize) {}
    let report = block_on(py, async move {
        let mut progress = no_progress;
        runner::run_setup(
            engine,
            &models,
            &variants,
            &questions,
            &langs,
            &options,
            &setup,
            &mut progress,
        )
        .await
    })?;
    if let Some(dir) = &out {
        runner::write_reports(&report, dir).map_err(to_py)?;
    }
    json_to_py(
        py,
        &serde_json::to_value(&report).map_err(|e| AsklakeError::new_err(e.to_string()))?,
    )
}

/// The evaluation benchmark's questions (the shipped one, or a JSONL file): a list of dicts with id,
/// question, question_ko, sql, tables, difficulty, order_matters.
#[pyfunction]
#[pyo3(signature = (dataset=None))]
fn benchmark(py: Python<'_>, dataset: Option<PathBuf>) -> PyResult<Py<PyAny>> {
    let qs = match &dataset {
        Some(p) => asklake::eval::runner::load_benchmark(p),
        None => asklake::eval::runner::builtin_benchmark(),
    }
    .map_err(to_py)?;
    json_to_py(
        py,
        &serde_json::to_value(&qs).map_err(|e| AsklakeError::new_err(e.to_string()))?,
    )
}

#[pyfunction]
fn no_llm() -> Llm {
    Llm { inner: None }
}

/// A scripted LLM replaying `responses` in order (tests, notebooks in CI).
#[pyfunction]
fn scripted(responses: Vec<String>) -> Llm {
    Llm {
        inner: Some(Arc::new(asklake::llm::scripted::Scripted::new(responses))),
    }
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
    fn new(a: asklake::pipeline::Answer) -> Self {
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
        json_to_py(py, &self.json["attempts"])
    }
    /// {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"}.
    #[getter]
    fn usage(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &self.json["usage"])
    }
    /// {"llm", "engine", "total"} in milliseconds.
    #[getter]
    fn timings(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &self.json["timings_ms"])
    }
    #[getter]
    fn tables(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &self.json["tables"])
    }
    /// Every step: prompts, responses, SQL, guard and validation verdicts, engine errors, rows, latency.
    #[getter]
    fn trace(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &self.trace)
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
        json_to_py(py, &self.json)
    }
    fn _repr_html_(&self) -> String {
        html(&self.json)
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Question, SQL, the first rows, the explanation, attempts and cost.
fn html(j: &serde_json::Value) -> String {
    let mut h = String::from("<div class=\"asklake-answer\">");
    h.push_str(&format!(
        "<p><b>Q:</b> {}</p>",
        esc(j["question"].as_str().unwrap_or(""))
    ));
    if let Some(r) = j["refusal"].as_str() {
        h.push_str(&format!("<p><i>Declined:</i> {}</p>", esc(r)));
    }
    if let Some(sql) = j["sql"].as_str() {
        h.push_str(&format!("<pre style=\"background:#f6f8fa;padding:6px\"><code class=\"language-sql\">{}</code></pre>", esc(sql)));
    }
    if let (Some(cols), Some(rows)) = (j["columns"].as_array(), j["rows"].as_array()) {
        h.push_str("<table><thead><tr>");
        for c in cols {
            h.push_str(&format!(
                "<th>{}</th>",
                esc(c["name"].as_str().unwrap_or(""))
            ));
        }
        h.push_str("</tr></thead><tbody>");
        for row in rows.iter().take(10) {
            h.push_str("<tr>");
            for v in row.as_array().into_iter().flatten() {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                h.push_str(&format!("<td>{}</td>", esc(&s)));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        h.push_str(&format!("<p>{} row(s)</p>", j["row_count"]));
    }
    if let Some(e) = j["explanation"].as_str() {
        h.push_str(&format!("<p>{}</p>", esc(e).replace('\n', "<br>")));
    }
    let attempts = j["attempts"].as_array().map_or(0, Vec::len);
    let cost = j["usage"]["cost_usd"]
        .as_f64()
        .map(|c| format!(", ${c:.4}"))
        .unwrap_or_default();
    h.push_str(&format!(
        "<p style=\"color:#666\">{} · {} attempt(s) · {} in / {} out tokens{} · {} ms</p></div>",
        esc(j["model"].as_str().unwrap_or("")),
        attempts,
        j["usage"]["input_tokens"],
        j["usage"]["output_tokens"],
        cost,
        j["timings_ms"]["total"]
    ));
    h
}

/// The question → SQL → answer pipeline.
#[pyclass(module = "asklake._native", frozen)]
pub struct Text2Sql {
    inner: CoreText2Sql,
}

fn engine_of(obj: &Bound<'_, PyAny>) -> PyResult<Arc<dyn QueryEngine>> {
    if let Ok(l) = obj.cast::<LocalLake>() {
        return Ok(l.get().engine.clone());
    }
    if let Ok(a) = obj.cast::<Athena>() {
        return Ok(a.get().engine.clone());
    }
    Err(ConfigError::new_err(
        "engine must be an asklake.LocalLake or asklake.Athena",
    ))
}

#[pymethods]
impl Text2Sql {
    #[new]
    #[pyo3(signature = (engine, llm=None, max_attempts=3, empty_result="retry_once", explain=true, as_of=None, max_rows=1000, audit_log=None, examples=None, retriever="auto", embed_model=None, rerank=false, self_consistency=0, library=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        engine: &Bound<'_, PyAny>,
        llm: Option<PyRef<'_, Llm>>,
        max_attempts: usize,
        empty_result: &str,
        explain: bool,
        as_of: Option<&str>,
        max_rows: u64,
        audit_log: Option<PathBuf>,
        examples: Option<Vec<(String, String)>>,
        retriever: &str,
        embed_model: Option<PathBuf>,
        rerank: bool,
        self_consistency: usize,
        library: Option<PathBuf>,
    ) -> PyResult<Self> {
        let engine = engine_of(engine)?;
        let options = Options {
            max_attempts: max_attempts.max(1),
            empty_result: empty_result.parse::<EmptyResultPolicy>().map_err(to_py)?,
            explain,
            as_of: parse_time(as_of)?,
            max_rows,
            audit_log,
            rerank,
            self_consistency,
            ..Options::default()
        };
        let mut b = CoreText2Sql::builder(engine).options(options);
        if let Some(l) = llm.and_then(|l| l.inner.clone()) {
            b = b.llm(l);
        }
        // By default the verified library supplies few-shot examples (and answers when there is no LLM).
        if examples.is_none() {
            b = b.retriever(library_retriever(py, retriever, embed_model, library)?);
        }
        if let Some(ex) = examples {
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
            b = b.retriever(Arc::new(asklake::fewshot::FixedExamples::new(ex)));
        }
        Ok(Text2Sql { inner: b.build() })
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
        json_to_py(
            py,
            &serde_json::to_value(&r).map_err(|e| AsklakeError::new_err(e.to_string()))?,
        )
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
            self.inner.explanation_request(core).map_err(to_py)?
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
    #[pyo3(signature = (answer, library, question_ko=None, id=None, tags=None))]
    fn promote(
        &self,
        py: Python<'_>,
        answer: PyRef<'_, Answer>,
        library: PathBuf,
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
            asklake::fewshot::library::add_verified(engine.as_ref(), &library, new).await
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

/// The backend the CLI would use: `kind` bedrock / openai / none (default: `ASKLAKE_LLM`), `model` (default:
/// `ASKLAKE_MODEL`), `base_url` (default: `OPENAI_BASE_URL`).
#[pyfunction]
#[pyo3(signature = (kind=None, model=None, base_url=None))]
fn llm_from_env(
    py: Python<'_>,
    kind: Option<String>,
    model: Option<String>,
    base_url: Option<String>,
) -> PyResult<Llm> {
    let kind = kind
        .or_else(|| std::env::var("ASKLAKE_LLM").ok())
        .unwrap_or_else(|| "none".into());
    let model = model.or_else(|| std::env::var("ASKLAKE_MODEL").ok());
    let inner = block_on(py, async move {
        asklake::llm::from_config(&kind, model.as_deref(), base_url.as_deref()).await
    })?;
    Ok(Llm { inner })
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
        json_to_py(
            py,
            &serde_json::to_value(&s.history).map_err(|e| AsklakeError::new_err(e.to_string()))?,
        )
    }
}

/// Loopback fakes of the AWS services, for notebooks in CI and tests (127.0.0.1 only).
#[pyclass(module = "asklake._native", frozen)]
pub struct FakeAthena {
    _server: asklake::engine::athena_fake::FakeAthena,
    #[pyo3(get)]
    url: String,
}

#[pymethods]
impl FakeAthena {
    /// Serves Athena's API over a local lake; queries run on it.
    #[new]
    #[pyo3(signature = (lake, queued_polls=0, fail_with=None))]
    fn new(
        py: Python<'_>,
        lake: &LocalLake,
        queued_polls: u32,
        fail_with: Option<String>,
    ) -> PyResult<Self> {
        let engine = LocalEngine::open(&lake.path, LocalOptions::default()).map_err(to_py)?;
        let faults = asklake::engine::athena_fake::Faults {
            queued_polls,
            fail_with,
            ..Default::default()
        };
        let server = block_on(py, async move {
            asklake::engine::athena_fake::FakeAthena::start(engine, faults)
                .await
                .map_err(|e| asklake::Error::Internal(e.to_string()))
        })?;
        Ok(FakeAthena {
            url: server.url(),
            _server: server,
        })
    }
}

/// A fake Bedrock Runtime / OpenAI server replaying `responses` (Converse, ConverseStream, chat completions).
#[pyclass(module = "asklake._native", frozen)]
pub struct FakeLlmServer {
    server: asklake::llm::fake_server::FakeLlm,
    #[pyo3(get)]
    url: String,
}

#[pymethods]
impl FakeLlmServer {
    #[new]
    fn new(py: Python<'_>, responses: Vec<String>) -> PyResult<Self> {
        let replies = responses
            .into_iter()
            .map(asklake::llm::fake_server::Reply::Text);
        let server = block_on(py, async move {
            Ok(asklake::llm::fake_server::FakeLlm::start(replies).await)
        })?;
        Ok(FakeLlmServer {
            url: server.url(),
            server,
        })
    }

    /// Request paths received so far.
    fn paths(&self) -> Vec<String> {
        self.server.seen().into_iter().map(|s| s.path).collect()
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    for (name, ty) in [
        ("AsklakeError", py.get_type::<AsklakeError>()),
        ("ConfigError", py.get_type::<ConfigError>()),
        ("GuardError", py.get_type::<GuardError>()),
        ("ValidationError", py.get_type::<ValidationError>()),
        ("QueryError", py.get_type::<QueryError>()),
        ("QueryTimeoutError", py.get_type::<QueryTimeoutError>()),
        ("LlmError", py.get_type::<LlmError>()),
        ("ServiceError", py.get_type::<ServiceError>()),
        ("UnresolvedError", py.get_type::<UnresolvedError>()),
        ("LakeError", py.get_type::<LakeError>()),
    ] {
        // Picklable: pickle finds the class by its module path.
        ty.setattr("__module__", "asklake._native")?;
        m.add(name, ty)?;
    }
    m.add_class::<ArrowResult>()?;
    m.add_class::<LocalLake>()?;
    m.add_class::<Athena>()?;
    m.add_class::<Llm>()?;
    m.add_class::<Answer>()?;
    m.add_class::<Text2Sql>()?;
    m.add_class::<Session>()?;
    m.add_class::<ExplainStream>()?;
    m.add_function(wrap_pyfunction!(llm_from_env, m)?)?;
    m.add_class::<FakeAthena>()?;
    m.add_class::<FakeLlmServer>()?;
    m.add_function(wrap_pyfunction!(bedrock, m)?)?;
    m.add_function(wrap_pyfunction!(openai_compatible, m)?)?;
    m.add_function(wrap_pyfunction!(no_llm, m)?)?;
    m.add_function(wrap_pyfunction!(search_library, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(benchmark, m)?)?;
    m.add_function(wrap_pyfunction!(scripted, m)?)?;
    Ok(())
}
