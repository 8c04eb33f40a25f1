//! The embedded engine: DuckDB over the lake's Parquet files, registered under the exact Security Lake
//! database and table names, speaking Athena SQL through [`super::trino_compat`], and locked down so that
//! queries cannot read or write anything else, load extensions or change settings.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use duckdb::Connection;

use super::{QueryEngine, QueryOptions, QueryResult, QueryStats, trino_compat};
use crate::arrow::datatypes::{DataType as ArrowType, Field as ArrowField, Schema};
use crate::arrow::record_batch::RecordBatch;
use crate::error::{Error, QueryErrorKind, Result};
use crate::lake::{LakeTable, Manifest};
use crate::schema::{Catalog, DataType, Field, TableInfo, Unavailable};

/// Options for opening a local lake.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Overrides the manifest's as-of time as the default clock.
    pub as_of: Option<DateTime<Utc>>,
    /// Evaluate `current_timestamp` at the real now instead of the manifest's as-of time.
    pub real_clock: bool,
    /// DuckDB's memory limit (`4GB`, `25%`): a query over it fails with an out-of-memory error instead of
    /// taking the machine.
    pub memory_limit: String,
    /// How much a query may spill to the engine's own temporary folder.
    pub max_temp_size: String,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            as_of: None,
            real_clock: false,
            memory_limit: "4GB".into(),
            max_temp_size: "8GB".into(),
        }
    }
}

/// DuckDB over a local lake folder.
pub struct LocalEngine {
    dir: PathBuf,
    /// The engine's spill folder, outside the working directory; removed with the engine.
    _temp: tempfile::TempDir,
    manifest: Manifest,
    conn: Mutex<Connection>,
    catalog: Catalog,
    as_of: Option<DateTime<Utc>>,
    /// Names of the lake's map columns (`unmapped`), for Trino's `cardinality`, which DuckDB splits into
    /// `cardinality` (maps) and `len` (arrays).
    map_columns: Vec<String>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine")
            .field("dir", &self.dir)
            .field("as_of", &self.as_of)
            .finish_non_exhaustive()
    }
}

pub(crate) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl LocalEngine {
    /// Opens a lake folder written by `asklake demo` (or any folder with a valid `manifest.json`).
    pub fn open(dir: impl AsRef<Path>, options: LocalOptions) -> Result<LocalEngine> {
        let dir = dir.as_ref();
        let dir = dir.canonicalize().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Lake(format!(
                    "lake folder {} does not exist; create one with `asklake demo --dir {}`",
                    dir.display(),
                    dir.display()
                ))
            } else {
                Error::io(dir, e)
            }
        })?;
        let manifest = Manifest::read(&dir)?;
        let conn = Connection::open_in_memory().map_err(engine_error)?;
        let temp = tempfile::Builder::new()
            .prefix("asklake-duckdb-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let mut setup = vec![
            format!(
                "SET GLOBAL memory_limit = {}",
                sql_string(&options.memory_limit)
            ),
            format!(
                "SET GLOBAL temp_directory = {}",
                sql_string(&temp.path().display().to_string())
            ),
            format!(
                "SET GLOBAL max_temp_directory_size = {}",
                sql_string(&options.max_temp_size)
            ),
            // GLOBAL: queries run on cloned connections, which start from the global settings.
            "SET GLOBAL TimeZone = 'UTC'".to_string(),
            "SET GLOBAL lambda_syntax = 'ENABLE_SINGLE_ARROW'".to_string(),
            "SET GLOBAL autoinstall_known_extensions = false".to_string(),
            "SET GLOBAL autoload_known_extensions = false".to_string(),
        ];
        for stmt in &setup {
            conn.execute_batch(stmt)
                .map_err(|e| Error::Lake(format!("setting up the lake ({stmt}): {e}")))?;
        }
        setup.clear();
        // One view per table. A table whose files cannot be read (corrupt, truncated, not Parquet) is left
        // out with the reason, naming the file; the other tables stay usable.
        let mut schemas = Vec::new();
        let mut readable = Vec::new();
        let mut unavailable = Vec::new();
        for t in &manifest.tables {
            let sl = t.security_lake(&manifest.rollup_region);
            let db = sl.database();
            if !schemas.contains(&db) {
                conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(&db)))
                    .map_err(|e| Error::Lake(format!("creating schema {db}: {e}")))?;
                schemas.push(db.clone());
            }
            let view = format!(
                "CREATE VIEW {}.{} AS {}",
                ident(&db),
                ident(&sl.table()),
                scan_sql(&dir, t)?
            );
            // Every file's footer is read once here (the view itself reads only the first file's schema),
            // so a corrupt file is found now, not in the middle of someone's question.
            let footers = format!(
                "SELECT count(*) FROM parquet_metadata({})",
                sql_string(&parquet_glob(&dir, t))
            );
            match conn
                .execute_batch(&view)
                .and_then(|()| conn.execute_batch(&footers))
            {
                Ok(()) => readable.push(t),
                Err(e) => {
                    let reason = unreadable_reason(&conn, &dir.join(&t.path), &e.to_string());
                    let table = format!("{db}.{}", sl.table());
                    tracing::warn!(%table, "table unavailable: {reason}");
                    unavailable.push(Unavailable { table, reason });
                }
            }
        }
        // search_path is per connection and queries run on clones, so bare table names resolve through
        // aliases in `main` instead.
        for t in &readable {
            let sl = t.security_lake(&manifest.rollup_region);
            setup.push(format!(
                "CREATE VIEW main.{} AS SELECT * FROM {}.{}",
                ident(&sl.table()),
                ident(&sl.database()),
                ident(&sl.table())
            ));
        }
        // Only the tables' data folders are readable (not the manifest, not the rest of the lake folder).
        let mut data_dirs: Vec<String> = manifest
            .tables
            .iter()
            .map(|t| format!("{}/", dir.join(&t.path).display()))
            .collect();
        data_dirs.sort();
        data_dirs.dedup();
        setup.push(format!(
            "SET allowed_directories = [{}]",
            data_dirs
                .iter()
                .map(|d| sql_string(d))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        // Trino's IP address functions, as macros (see ip_macros.sql).
        setup.extend(
            include_str!("ip_macros.sql")
                .lines()
                .filter(|l| l.starts_with("CREATE MACRO"))
                .map(|l| l.trim_end_matches(';').to_string()),
        );
        setup.push("SET enable_external_access = false".into());
        setup.push("SET lock_configuration = true".into());
        for stmt in &setup {
            conn.execute_batch(stmt)
                .map_err(|e| Error::Lake(format!("setting up the lake ({stmt}): {e}")))?;
        }

        let mut tables = Vec::new();
        for t in &readable {
            let sl = t.security_lake(&manifest.rollup_region);
            let sql = format!(
                "SELECT * FROM {}.{} LIMIT 0",
                ident(&sl.database()),
                ident(&sl.table())
            );
            let mut stmt = conn
                .prepare(&sql)
                .map_err(|e| Error::Lake(format!("reading {}: {e}", t.path)))?;
            let arrow = stmt
                .query_arrow([])
                .map_err(|e| Error::Lake(format!("reading {}: {e}", t.path)))?;
            let schema = arrow.get_schema();
            let columns = schema.fields().iter().map(|f| arrow_field(f)).collect();
            tables.push(TableInfo::new(sl.database(), sl.table(), columns));
        }
        let as_of = if options.real_clock {
            None
        } else {
            options.as_of.or(manifest.as_of)
        };
        let mut map_columns: Vec<String> = tables
            .iter()
            .flat_map(|t| t.column_paths())
            .filter(|(_, ty)| matches!(ty, crate::schema::DataType::Map { .. }))
            .filter_map(|(path, _)| path.rsplit('.').next().map(str::to_ascii_lowercase))
            .collect();
        map_columns.sort();
        map_columns.dedup();
        Ok(LocalEngine {
            dir,
            _temp: temp,
            manifest,
            conn: Mutex::new(conn),
            catalog: Catalog {
                tables,
                unavailable,
            },
            as_of,
            map_columns,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tables that could not be read when the lake was opened, with the reason (the rest are usable).
    pub fn unavailable(&self) -> &[Unavailable] {
        &self.catalog.unavailable
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn connection(&self) -> Result<Connection> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Internal("engine lock poisoned".into()))?;
        conn.try_clone().map_err(engine_error)
    }

    /// Runs SQL exactly as given (DuckDB dialect, no translation, no row cap). For the crate's own tests of
    /// the lockdown; the connection is as locked as for any query.
    #[doc(hidden)]
    pub fn execute_raw(&self, sql: &str) -> Result<usize> {
        let conn = self.connection()?;
        let mut stmt = conn.prepare(sql).map_err(engine_error)?;
        let arrow = stmt.query_arrow([]).map_err(engine_error)?;
        Ok(arrow.map(|b| b.num_rows()).sum())
    }
}

/// Why a table's files cannot be read: the first file DuckDB refuses, named, with its first line of error;
/// else DuckDB's message for the whole folder. Runs before the lockdown (it reads the files).
fn unreadable_reason(conn: &Connection, folder: &Path, error: &str) -> String {
    let first_line = |e: &str| e.lines().next().unwrap_or("").trim().to_string();
    let mut files: Vec<PathBuf> = walk_parquet(folder);
    files.sort();
    for f in files {
        let probe = format!(
            "SELECT count(*) FROM parquet_metadata({})",
            sql_string(&f.display().to_string())
        );
        if let Err(e) = conn.execute_batch(&probe) {
            return format!(
                "{} cannot be read: {}",
                f.display(),
                first_line(&e.to_string())
            );
        }
    }
    format!("{}: {}", folder.display(), first_line(error))
}

/// The `.parquet` files under a folder, at any depth (source version 1 tables are partitioned).
fn walk_parquet(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_parquet(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out
}

/// The glob of one table's files.
fn parquet_glob(dir: &Path, t: &LakeTable) -> String {
    let folder = dir.join(&t.path);
    match t.version {
        crate::schema::SourceVersion::V2 => format!("{}/*.parquet", folder.display()),
        crate::schema::SourceVersion::V1 => format!("{}/*/*/*/*.parquet", folder.display()),
    }
}

/// The `SELECT` that reads one table's files.
fn scan_sql(dir: &Path, t: &LakeTable) -> Result<String> {
    let folder = dir.join(&t.path);
    if !folder.is_dir() {
        return Err(Error::Lake(format!(
            "{} is listed in the manifest but missing",
            folder.display()
        )));
    }
    Ok(match t.version {
        crate::schema::SourceVersion::V2 => {
            format!(
                "SELECT * FROM read_parquet({}, hive_partitioning = false)",
                sql_string(&parquet_glob(dir, t))
            )
        }
        crate::schema::SourceVersion::V1 => format!(
            "SELECT * EXCLUDE (region, accountid, eventday), region, accountid, eventday FROM read_parquet({}, hive_partitioning = true, hive_types = {{'region': VARCHAR, 'accountid': VARCHAR, 'eventday': VARCHAR}})",
            sql_string(&parquet_glob(dir, t))
        ),
    })
}

/// Converts an Arrow field (as DuckDB reports it) to the catalog's type.
pub fn arrow_field(f: &ArrowField) -> Field {
    Field::new(f.name().clone(), arrow_type(f.data_type()))
}

fn arrow_type(t: &ArrowType) -> DataType {
    match t {
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => DataType::String,
        ArrowType::Boolean => DataType::Boolean,
        ArrowType::Int8 | ArrowType::UInt8 => DataType::TinyInt,
        ArrowType::Int16 | ArrowType::UInt16 => DataType::SmallInt,
        ArrowType::Int32 | ArrowType::UInt32 => DataType::Int,
        ArrowType::Int64 | ArrowType::UInt64 => DataType::BigInt,
        ArrowType::Float32 => DataType::Float,
        ArrowType::Float64 => DataType::Double,
        ArrowType::Decimal128(p, s) | ArrowType::Decimal256(p, s) => DataType::Decimal {
            precision: *p,
            scale: u8::try_from(*s).unwrap_or(0),
        },
        ArrowType::Date32 | ArrowType::Date64 => DataType::Date,
        ArrowType::Timestamp(_, _) => DataType::Timestamp,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => DataType::Binary,
        ArrowType::List(f) | ArrowType::LargeList(f) | ArrowType::FixedSizeList(f, _) => {
            DataType::Array {
                element: Box::new(arrow_type(f.data_type())),
            }
        }
        ArrowType::Struct(fields) => DataType::Struct {
            fields: fields.iter().map(|f| arrow_field(f)).collect(),
        },
        ArrowType::Map(entries, _) => match entries.data_type() {
            ArrowType::Struct(kv) if kv.len() == 2 => DataType::Map {
                key: Box::new(arrow_type(kv[0].data_type())),
                value: Box::new(arrow_type(kv[1].data_type())),
            },
            other => DataType::Other {
                name: other.to_string(),
            },
        },
        other => DataType::Other {
            name: other.to_string().to_ascii_lowercase(),
        },
    }
}

/// Refuses SQL that names the engine's system catalog (DuckDB's `duckdb_*()` functions and views, the
/// PostgreSQL-compatible `pg_*` views, `information_schema`, `sqlite_master`) or asks for its settings,
/// version or the running query. The guard refuses these first with a reason for the model; this check
/// holds even for a caller that skipped the guard.
fn refuse_system_catalog(sql: &str) -> Result<()> {
    use sqlparser::ast::{Expr, ObjectName, Visit, Visitor};
    use std::ops::ControlFlow;
    struct Find;
    fn system(name: &str) -> bool {
        let n = name.trim_matches('"').to_ascii_lowercase();
        crate::sql::guard::system_catalog_name(&n)
            || matches!(
                n.as_str(),
                "version"
                    | "current_setting"
                    | "current_query"
                    | "getenv"
                    | "which_secret"
                    | "temp"
                    | "system"
            )
    }
    impl Visitor for Find {
        type Break = String;
        fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<String> {
            match r.0.iter().map(|p| p.to_string()).find(|p| system(p)) {
                Some(p) => ControlFlow::Break(p),
                None => ControlFlow::Continue(()),
            }
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<String> {
            if let Expr::Function(f) = e
                && let Some(p) = f.name.0.iter().map(|p| p.to_string()).find(|p| system(p))
            {
                return ControlFlow::Break(p);
            }
            ControlFlow::Continue(())
        }
    }
    let statements = crate::sql::dialect::parse(sql).map_err(|e| Error::Query {
        engine: "duckdb".into(),
        kind: QueryErrorKind::Syntax,
        message: e.to_string(),
    })?;
    for st in &statements {
        if let ControlFlow::Break(name) = st.visit(&mut Find) {
            return Err(Error::guard(
                crate::error::GuardCode::Table,
                format!("{name} belongs to the engine's system catalog, which queries cannot read"),
            ));
        }
    }
    Ok(())
}

/// Maps a DuckDB error to the crate's error, keeping DuckDB's message (it has "did you mean" and a caret).
pub(crate) fn engine_error(e: duckdb::Error) -> Error {
    let mut message = e.to_string();
    // DuckDB's advice after an out-of-memory error names settings the locked engine refuses and a URL;
    // what is left says what happened, and the pipeline's repair prompt adds what to do.
    if let Some(cut) = message.find("\n\nPossible solutions") {
        message.truncate(cut);
        message.push_str(
            "\nThe query needs more memory than the engine's limit: aggregate or filter before joining, \
             avoid cross joins, and select fewer rows.",
        );
    }
    let kind = if message.starts_with("Parser Error") {
        QueryErrorKind::Syntax
    } else if message.starts_with("Binder Error") || message.starts_with("Catalog Error") {
        QueryErrorKind::Binder
    } else {
        QueryErrorKind::Execution
    };
    Error::Query {
        engine: "duckdb".into(),
        kind,
        message,
    }
}

fn run(
    conn: Connection,
    sql: &str,
    max_rows: usize,
) -> Result<(Arc<Schema>, Vec<RecordBatch>, usize, bool)> {
    let mut stmt = conn.prepare(sql).map_err(engine_error)?;
    let arrow = stmt.query_arrow([]).map_err(engine_error)?;
    let schema = arrow.get_schema();
    let mut batches = Vec::new();
    let mut rows = 0usize;
    let mut truncated = false;
    for batch in arrow {
        if rows + batch.num_rows() > max_rows {
            let keep = max_rows - rows;
            if keep > 0 {
                batches.push(batch.slice(0, keep));
            }
            rows = max_rows;
            truncated = true;
            break;
        }
        rows += batch.num_rows();
        batches.push(batch);
    }
    Ok((schema, batches, rows, truncated))
}

#[async_trait]
impl QueryEngine for LocalEngine {
    fn name(&self) -> &str {
        "duckdb"
    }

    async fn execute(&self, sql: &str, options: &QueryOptions) -> Result<QueryResult> {
        let start = Instant::now();
        let as_of = options.as_of.or(self.as_of);
        // Defense in depth, whatever the caller checked: the engine's own catalog is never queried.
        refuse_system_catalog(sql)?;
        let translated =
            trino_compat::to_duckdb_for(sql, as_of, Some(options.max_rows), &self.map_columns)?;
        let conn = self.connection()?;
        // Interrupts the query when this future ends early: on timeout, and when the caller drops it (an
        // MCP cancellation, a closed HTTP request), so no abandoned query keeps running.
        struct InterruptOnDrop(Option<Arc<duckdb::InterruptHandle>>);
        impl Drop for InterruptOnDrop {
            fn drop(&mut self) {
                if let Some(h) = self.0.take() {
                    h.interrupt();
                }
            }
        }
        let mut interrupt = InterruptOnDrop(Some(conn.interrupt_handle()));
        let max_rows = usize::try_from(options.max_rows).unwrap_or(usize::MAX);
        let sql_owned = translated.clone();
        let task = tokio::task::spawn_blocking(move || run(conn, &sql_owned, max_rows));
        let joined = match options.timeout {
            Some(limit) => match tokio::time::timeout(limit, task).await {
                Ok(j) => j,
                Err(_) => return Err(Error::Timeout(limit)),
            },
            None => task.await,
        };
        // Finished: nothing to interrupt.
        interrupt.0 = None;
        let (schema, batches, row_count, truncated) =
            joined.map_err(|e| Error::Internal(format!("query task failed: {e}")))??;
        let executed_sql = (translated != sql).then_some(translated);
        Ok(QueryResult {
            schema,
            batches,
            row_count,
            truncated,
            stats: QueryStats {
                elapsed: start.elapsed(),
                executed_sql,
                ..Default::default()
            },
        })
    }

    async fn catalog(&self) -> Result<Catalog> {
        Ok(self.catalog.clone())
    }

    fn known_rows(&self, table: &TableInfo) -> Option<u64> {
        let sl = table.security_lake.as_ref()?;
        self.manifest
            .tables
            .iter()
            .find(|t| t.source == sl.source && t.version == sl.version)
            .map(|t| t.rows)
    }

    fn default_as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }
}
