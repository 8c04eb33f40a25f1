//! The query engines: the local lake and Athena, built by the core's configuration layer, and results as
//! Arrow (the PyCapsule stream interface: pyarrow and pandas import without copies).

use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::Arc;

use asklake::arrow::ffi_stream::FFI_ArrowArrayStream;
use asklake::arrow::record_batch::{RecordBatch, RecordBatchIterator};
use asklake::engine::{QueryEngine, QueryResult};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

use crate::error::{ConfigError, ResultExt, internal};
use crate::runtime::block_on;

/// A query result: Arrow batches exported through the Arrow PyCapsule stream interface (no copies).
#[pyclass(module = "asklake._native", frozen)]
pub struct ArrowResult {
    pub(crate) schema: asklake::arrow::datatypes::SchemaRef,
    pub(crate) batches: Vec<RecordBatch>,
    #[pyo3(get)]
    pub(crate) row_count: usize,
    #[pyo3(get)]
    pub(crate) truncated: bool,
    #[pyo3(get)]
    pub(crate) elapsed_ms: u64,
    #[pyo3(get)]
    pub(crate) bytes_scanned: Option<u64>,
    #[pyo3(get)]
    pub(crate) cost_usd: Option<f64>,
}

impl ArrowResult {
    pub(crate) fn new(r: &QueryResult) -> Self {
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
    pub(crate) fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
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

/// What every engine offers: its tables, their schemas, and guarded SQL. `LocalLake` and `Athena` extend it.
#[pyclass(module = "asklake._native", subclass, frozen)]
pub struct Engine {
    pub(crate) engine: Arc<dyn QueryEngine>,
}

#[pymethods]
impl Engine {
    /// `database.table` names.
    fn tables(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        engine_tables(py, self.engine.clone())
    }

    /// A table's nested columns as a dict (`{"database", "name", "columns": [...]}`).
    fn schema(&self, py: Python<'_>, table: &str) -> PyResult<Py<PyAny>> {
        engine_schema(py, self.engine.clone(), table)
    }

    /// Runs one read-only Athena SQL query through the guard; `timeout_s` defaults to the configuration's
    /// `engine.timeout_secs`.
    #[pyo3(signature = (sql, max_rows=1000, timeout_s=None))]
    fn sql(
        &self,
        py: Python<'_>,
        sql: &str,
        max_rows: u64,
        timeout_s: Option<f64>,
    ) -> PyResult<ArrowResult> {
        run_sql(py, self.engine.clone(), sql, max_rows, timeout_s)
    }

    /// The engine's name (`duckdb`, `athena`).
    #[getter]
    fn name(&self) -> String {
        self.engine.name().to_string()
    }
}

/// The embedded engine over a demo (or any asklake) lake folder.
#[pyclass(module = "asklake._native", extends = Engine, frozen)]
pub struct LocalLake {
    #[pyo3(get)]
    pub(crate) path: PathBuf,
}

/// `engine.*` and `pipeline.as_of` settings into an engine, through the configuration layer.
fn open(py: Python<'_>, settings: &Bound<'_, PyDict>) -> PyResult<(Arc<dyn QueryEngine>, PathBuf)> {
    let config = crate::config::explicit(Some(settings))?;
    let lake = config.engine.lake.clone();
    let engine = block_on(
        py,
        async move { asklake::config::build_engine(&config).await },
    )?;
    Ok((engine, lake))
}

impl LocalLake {
    fn init(
        py: Python<'_>,
        path: Option<PathBuf>,
        as_of: Option<&str>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let s = PyDict::new(py);
        s.set_item("engine.kind", "local")?;
        s.set_item("engine.lake", path.map(|p| p.display().to_string()))?;
        s.set_item("as_of", as_of)?;
        let (engine, path) = open(py, &s)?;
        Ok(PyClassInitializer::from(Engine { engine }).add_subclass(LocalLake { path }))
    }
}

#[pymethods]
impl LocalLake {
    /// Opens a lake folder (default: `ASKLAKE_LAKE`, else `./asklake-demo`).
    #[new]
    #[pyo3(signature = (path=None, as_of=None))]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        as_of: Option<&str>,
    ) -> PyResult<PyClassInitializer<Self>> {
        Self::init(py, path, as_of)
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
    ) -> PyResult<Py<Self>> {
        let config = asklake::demo::DemoConfig {
            dir: path.clone(),
            seed,
            scale,
            days,
            as_of: as_of.map(asklake::config::parse_time).transpose().py()?,
            ..Default::default()
        };
        py.detach(|| asklake::demo::generate(&config)).py()?;
        Py::new(py, Self::init(py, Some(path), None)?)
    }

    fn __repr__(&self) -> String {
        format!("LocalLake({:?})", self.path)
    }
}

/// Amazon Athena over a real Security Lake.
#[pyclass(module = "asklake._native", extends = Engine, frozen)]
pub struct Athena;

#[pymethods]
impl Athena {
    /// `settings`: the `[engine]` keys (`region`, `workgroup`, `output_location`, `database`, `endpoint_url`,
    /// `allow_full_scan`, `max_bytes_scanned`, `explain_check`, `timeout_secs`).
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(
        py: Python<'_>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let s = PyDict::new(py);
        if let Some(given) = settings {
            for (k, v) in given.iter() {
                let k: String = k.extract()?;
                s.set_item(format!("engine.{k}"), v)?;
            }
        }
        s.set_item("engine.kind", "athena")?;
        let (engine, _) = open(py, &s)?;
        Ok(PyClassInitializer::from(Engine { engine }).add_subclass(Athena))
    }
}

/// The engine of a `LocalLake` or `Athena` object.
pub fn engine_of(obj: &Bound<'_, PyAny>) -> PyResult<Arc<dyn QueryEngine>> {
    match obj.cast::<Engine>() {
        Ok(e) => Ok(e.get().engine.clone()),
        Err(_) => Err(ConfigError::new_err(
            "engine must be an asklake.LocalLake or asklake.Athena",
        )),
    }
}

fn engine_tables(py: Python<'_>, engine: Arc<dyn QueryEngine>) -> PyResult<Vec<String>> {
    block_on(py, async move { engine.list_tables().await })
}

fn engine_schema(py: Python<'_>, engine: Arc<dyn QueryEngine>, table: &str) -> PyResult<Py<PyAny>> {
    let t = table.to_string();
    let info = block_on(py, async move { engine.describe(&t).await })?;
    Ok(pythonize::pythonize(py, &info).map_err(internal)?.unbind())
}

fn run_sql(
    py: Python<'_>,
    engine: Arc<dyn QueryEngine>,
    sql: &str,
    max_rows: u64,
    timeout_s: Option<f64>,
) -> PyResult<ArrowResult> {
    // The same limits as every front end: through the configuration's checks.
    let s = PyDict::new(py);
    s.set_item("max_rows", max_rows)?;
    s.set_item("engine.timeout_secs", timeout_s)?;
    let options = asklake::config::query_options(&crate::config::explicit(Some(&s))?);
    let sql = sql.to_string();
    let (_, r) = block_on(py, async move {
        asklake::sql::run_guarded(engine.as_ref(), &sql, &options).await
    })?;
    Ok(ArrowResult::new(&r))
}
