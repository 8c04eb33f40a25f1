//! Query engines: where SQL runs. [`QueryEngine`] is chosen at run time (local lake or Athena), so it is an
//! object-safe async trait used as `Arc<dyn QueryEngine>`.

#[cfg(feature = "athena")]
pub mod athena;
pub mod compare;
pub mod duckdb;
pub mod format;
pub mod trino_compat;

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::arrow::datatypes::SchemaRef;
use crate::arrow::record_batch::RecordBatch;
use crate::error::Result;
use crate::schema::{Catalog, TableInfo};

pub use self::duckdb::LocalEngine;

/// Limits and clock for one query.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Rows returned at most; more rows mark the result `truncated`.
    pub max_rows: u64,
    /// Wall-clock limit; the query is cancelled when it passes.
    pub timeout: Option<Duration>,
    /// The instant `current_timestamp`, `now()` and `current_date` evaluate to. `None`: the engine's default
    /// (a demo lake's recorded as-of time, else the real now).
    pub as_of: Option<DateTime<Utc>>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            timeout: Some(Duration::from_secs(120)),
            as_of: None,
        }
    }
}

/// What running a query cost.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct QueryStats {
    pub elapsed: Duration,
    /// Time the engine spent executing, where it reports it separately.
    pub engine_time: Option<Duration>,
    /// Time spent queued before running (Athena).
    pub queue_time: Option<Duration>,
    /// Bytes the engine read (Athena's DataScannedInBytes).
    pub bytes_scanned: Option<u64>,
    /// Dollar cost of the scan, where the engine bills by data scanned.
    pub cost_usd: Option<f64>,
    /// The SQL as the engine ran it, when it differs from the input (dialect translation).
    pub executed_sql: Option<String>,
}

/// A query's result: Arrow batches plus statistics.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub row_count: usize,
    /// True when the query had more rows than `max_rows`.
    pub truncated: bool,
    pub stats: QueryStats,
}

/// Runs SQL and describes tables. SQL is in Athena's dialect (Trino); engines translate as needed.
///
/// Engines do not guard SQL: callers pass it through [`crate::sql::Guard`] first (the CLI and the pipeline
/// do). Engines should still refuse to touch anything outside their data.
#[async_trait]
pub trait QueryEngine: Debug + Send + Sync {
    /// A short name for messages and audit logs (`duckdb`, `athena`).
    fn name(&self) -> &str;

    /// The SQL dialect queries are written in. Both engines accept Athena's (Trino).
    fn dialect(&self) -> &str {
        "athena"
    }

    /// Runs one query with limits.
    async fn execute(&self, sql: &str, options: &QueryOptions) -> Result<QueryResult>;

    /// Every table with its nested columns.
    async fn catalog(&self) -> Result<Catalog>;

    /// A table's row count when the engine knows it without a query (the local lake's manifest); `None`
    /// where counting would cost a scan (Athena).
    fn known_rows(&self, table: &crate::schema::TableInfo) -> Option<u64> {
        let _ = table;
        None
    }

    /// Table names, `database.table`.
    async fn list_tables(&self) -> Result<Vec<String>> {
        Ok(self
            .catalog()
            .await?
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.database, t.name))
            .collect())
    }

    /// One table's column tree.
    async fn describe(&self, table: &str) -> Result<TableInfo> {
        self.catalog().await?.get(table).cloned()
    }

    /// Up to `n` rows of a table, for prompts and previews.
    async fn sample_rows(&self, table: &str, n: u64) -> Result<QueryResult> {
        let info = self.describe(table).await?;
        let options = QueryOptions {
            max_rows: n,
            ..Default::default()
        };
        self.execute(
            &format!("SELECT * FROM {} LIMIT {n}", info.qualified_name()),
            &options,
        )
        .await
    }

    /// The instant the engine's clock is pinned to by default, if any.
    fn default_as_of(&self) -> Option<DateTime<Utc>> {
        None
    }
}
