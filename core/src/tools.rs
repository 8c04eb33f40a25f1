//! What asklake offers remote callers (the MCP server's tools, the web API): list and describe tables,
//! search the verified library, validate and run guarded SQL, ask. One configured pipeline behind it; the
//! front ends translate requests and render results, the behaviour is here, once.
//!
//! Values from the lake are attacker-controlled. Results meant for a model ([`Lake::run_sql`] with
//! `for_model`) have every string cut and cleaned as prompts have ([`crate::untrusted::clean`]); the table
//! context is the prompts' own, with its data fenced.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Config;
use crate::engine::{QueryEngine, QueryOptions, QueryResult, format};
use crate::error::{Error, Result};
use crate::fewshot::ScoredExample;
use crate::pipeline::{Answer, Text2Sql};
use crate::schema::context::Glossary;
use crate::schema::ocsf;
use crate::sql::{Guard, GuardConfig};

/// The longest string a model-facing result carries per cell.
pub const MAX_CELL_CHARS: usize = 500;

/// One configured lake and pipeline, shared by every request of a server.
#[derive(Debug, Clone)]
pub struct Lake {
    /// Swapped for one with a fresh retriever when a promotion grows the library.
    t2s: Arc<std::sync::RwLock<Text2Sql>>,
    retrieval: crate::config::RetrievalConfig,
    query: QueryOptions,
    audit_log: Option<PathBuf>,
    library_dir: PathBuf,
    llm_provider: String,
}

/// A table as `list_tables` and `GET /api/tables` show it.
#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    /// `database.table`.
    pub name: String,
    /// Security Lake source (`cloud_trail_mgmt`, `vpc_flow`, …), when the name says so.
    pub source: Option<String>,
    /// Security Lake source version (1 or 2).
    pub version: Option<u8>,
    pub description: Option<String>,
    /// Rows, where the engine knows them without a scan.
    pub rows: Option<u64>,
    /// The column to filter time on.
    pub time_column: Option<String>,
}

/// One column of a table's nested tree.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    /// Dotted path (`actor.user.name`).
    pub path: String,
    #[serde(rename = "type")]
    pub data_type: String,
    /// The OCSF attribute's meaning, where known.
    pub description: Option<String>,
}

/// A table's columns and the context asklake's prompts carry for it.
#[derive(Debug, Clone, Serialize)]
pub struct TableDescription {
    pub table: TableSummary,
    /// Every column path, depth first.
    pub columns: Vec<ColumnInfo>,
    /// The nested column tree (structs' fields, arrays' elements), as the catalog holds it.
    pub tree: Vec<crate::schema::Field>,
    /// The prompt section: columns with meanings, frequent values and sample rows (data fenced).
    pub context: String,
    /// With a question: the tables the pipeline would put in its prompt for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables_for_question: Option<Vec<String>>,
}

/// The verdict of `validate_sql`: the guard, then static validation against the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub valid: bool,
    /// The query as it would run (row limit applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

impl Lake {
    /// The lake and pipeline `config` describes (what `asklake serve` and `asklake mcp` run), with the
    /// setup's notes (a retriever fallback, …).
    pub async fn from_config(config: &Config) -> Result<(Lake, Vec<String>)> {
        let setup = crate::config::build_text2sql(config).await?;
        Ok((Lake::new(setup.text2sql, config), setup.notes))
    }

    /// Wraps a pipeline built elsewhere; `config` gives the query limits and the audit log.
    pub fn new(t2s: Text2Sql, config: &Config) -> Lake {
        Lake {
            t2s: Arc::new(std::sync::RwLock::new(t2s)),
            retrieval: config.retrieval.clone(),
            query: crate::config::query_options(config),
            audit_log: config.pipeline.audit_log.clone(),
            library_dir: config.retrieval.library_dir(),
            llm_provider: config.llm.provider.to_string(),
        }
    }

    /// The pipeline (a cheap clone of the current one).
    pub fn text2sql(&self) -> Text2Sql {
        match self.t2s.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn engine(&self) -> Arc<dyn QueryEngine> {
        self.text2sql().engine().clone()
    }

    /// Options for one query outside the pipeline (the configured row cap, timeout and clock).
    pub fn query_options(&self) -> &QueryOptions {
        &self.query
    }

    /// `{"status","engine","llm","model"}`.
    pub fn health(&self) -> Value {
        json!({
            "status": "ok",
            "engine": self.engine().name(),
            "llm": self.text2sql().llm().map_or("none", |_| self.llm_provider.as_str()),
            "model": self.text2sql().llm().map(|l| l.model().to_string()),
        })
    }

    fn summary(&self, t: &crate::schema::TableInfo) -> TableSummary {
        let sl = t.security_lake.as_ref();
        TableSummary {
            name: format!("{}.{}", t.database, t.name),
            source: sl.map(|s| s.source.as_str().to_string()),
            version: sl.map(|s| s.version.number()),
            description: t.description.clone(),
            rows: self.engine().known_rows(t),
            time_column: sl.map(|s| s.version.time_column().to_string()),
        }
    }

    /// Every table with its source, version, description, row count and time column.
    pub async fn tables(&self) -> Result<Vec<TableSummary>> {
        let catalog = self.text2sql().catalog().await?;
        Ok(catalog.tables.iter().map(|t| self.summary(t)).collect())
    }

    /// A table's nested columns with OCSF meanings and the prompts' context for it; with a question, the
    /// tables the pipeline would choose for it.
    pub async fn describe(&self, table: &str, question: Option<&str>) -> Result<TableDescription> {
        let catalog = self.text2sql().catalog().await?;
        let info = catalog.get(table)?.clone();
        let source = info.security_lake.as_ref().map(|s| s.source);
        let columns = info
            .column_paths()
            .into_iter()
            .map(|(path, ty)| ColumnInfo {
                description: ocsf::describe(source, &path).map(String::from),
                data_type: ty.hive_name(),
                path,
            })
            .collect();
        let tables_for_question = match question.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => Some(
                self.text2sql()
                    .tables_for(q)
                    .await?
                    .iter()
                    .map(|n| match catalog.find(n) {
                        Some(t) => format!("{}.{}", t.database, t.name),
                        None => n.clone(),
                    })
                    .collect(),
            ),
            None => None,
        };
        Ok(TableDescription {
            table: self.summary(&info),
            columns,
            tree: info.columns.clone(),
            context: self.text2sql().table_context(&info).await,
            tables_for_question,
        })
    }

    /// Up to `k` verified question → SQL examples for `question` (the configured retriever).
    pub async fn search_examples(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        let q = question.trim();
        if q.is_empty() {
            return Err(Error::Config("the question is empty".into()));
        }
        let t2s = self.text2sql();
        if q.chars().count() > t2s.options().max_question_chars {
            return Err(Error::Config(format!(
                "the question is longer than {} characters",
                t2s.options().max_question_chars
            )));
        }
        let Some(r) = t2s.retriever() else {
            return Err(Error::Config(
                "no example library is configured (retrieval.examples = 0)".into(),
            ));
        };
        r.retrieve(q, k.clamp(1, 20)).await
    }

    fn guard(&self, catalog: &crate::schema::Catalog, max_rows: u64) -> Guard {
        Guard::new(
            catalog,
            GuardConfig {
                max_rows,
                ..Default::default()
            },
        )
    }

    /// The guard and static validation, without running: the SQL as it would run, or the error naming
    /// the fix (the closest columns and tables).
    pub async fn validate(&self, sql: &str) -> Result<Validation> {
        let catalog = self.text2sql().catalog().await?;
        let checked = self
            .guard(&catalog, self.query.max_rows)
            .check(sql)
            .and_then(|g| crate::sql::validate::validate(&g.statement, &catalog).map(|()| g));
        Ok(match checked {
            Ok(g) => Validation {
                valid: true,
                sql: Some(g.sql),
                tables: g.tables,
                error: None,
            },
            Err(e) => Validation {
                valid: false,
                sql: None,
                tables: Vec::new(),
                error: Some(e.to_json()),
            },
        })
    }

    /// Runs `sql` through the guard, static validation and the locked-down engine, with at most
    /// `max_rows` rows (never more than the configured cap).
    pub async fn run_sql(&self, sql: &str, max_rows: Option<u64>) -> Result<QueryResult> {
        let cap = self.query.max_rows;
        let rows = match max_rows {
            None => cap,
            Some(0) => return Err(Error::Config("max_rows must be at least 1".into())),
            Some(n) => n.min(cap),
        };
        let catalog = self.text2sql().catalog().await?;
        let guarded = self.guard(&catalog, rows).check(sql)?;
        crate::sql::validate::validate(&guarded.statement, &catalog)?;
        let options = QueryOptions {
            max_rows: rows,
            ..self.query.clone()
        };
        self.engine().execute(&guarded.sql, &options).await
    }

    /// The whole pipeline (or a library answer when no LLM is configured).
    pub async fn ask(&self, question: &str) -> Result<Answer> {
        self.text2sql().run(question, &[]).await
    }

    /// The feedback loop: checks `sql` (guard, then a run on the engine) and adds the question and SQL to
    /// the library's `custom.jsonl`, where every retriever finds it next time. Returns the stored entry
    /// and the rows the SQL returned.
    pub async fn promote(
        &self,
        question: &str,
        sql: &str,
        id: Option<String>,
    ) -> Result<(crate::fewshot::library::LibraryEntry, usize)> {
        let added = crate::fewshot::library::add_verified(
            self.engine().as_ref(),
            &self.library_dir,
            crate::fewshot::library::NewExample {
                question: question.to_string(),
                sql: sql.to_string(),
                id,
                origin: "ask".into(),
                ..Default::default()
            },
        )
        .await?;
        // The next question (and search) sees the new example: the retriever is rebuilt over the grown
        // library (embeddings of the old entries come from the cache).
        if self.retrieval.examples > 0 {
            let lib = crate::config::library(&self.retrieval)?;
            let (r, _) = crate::config::build_retriever(&self.retrieval, &lib).await?;
            let next = self.text2sql().with_retriever(r).await;
            match self.t2s.write() {
                Ok(mut g) => *g = next,
                Err(p) => *p.into_inner() = next,
            }
        }
        Ok(added)
    }

    /// The `n` most recent questions in the audit log, newest first (`time`, `question`, `sql`, `rows`,
    /// `source`, `error`, `caller`). Empty without an audit log.
    pub fn history(&self, n: usize) -> Result<Vec<Value>> {
        let Some(path) = &self.audit_log else {
            return Ok(Vec::new());
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(path, e)),
        };
        Ok(text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("question").is_some_and(Value::is_string))
            .take(n)
            .map(|v| {
                json!({
                    "time": v["time"], "question": v["question"], "sql": v["sql"], "rows": v["rows"],
                    "source": v["source"], "error": v["error"], "caller": v["caller"],
                })
            })
            .collect())
    }

    /// Appends one line about a remote call to the audit log (when configured): the operation, its
    /// arguments, rows returned, time, the caller and any error. Never secrets: arguments are the
    /// caller's own request (questions, SQL, table names).
    pub fn audit(&self, entry: AuditEntry<'_>) -> Result<()> {
        let Some(path) = &self.audit_log else {
            return Ok(());
        };
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339(),
            "front_end": entry.front_end,
            "operation": entry.operation,
            "arguments": entry.arguments,
            "rows": entry.rows,
            "caller": entry.caller,
            "error": entry.error.map(Error::to_json),
            "engine": self.engine().name(),
            "total_ms": u64::try_from(entry.elapsed.as_millis()).unwrap_or(u64::MAX),
        });
        crate::io::append_json_line(path, &line)
    }
}

/// One remote call, for [`Lake::audit`].
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// `mcp`, `web`.
    pub front_end: &'a str,
    /// The tool or endpoint (`run_sql`, `/api/sql`).
    pub operation: &'a str,
    pub arguments: Value,
    pub rows: Option<usize>,
    /// Who called (a remote address; `stdio` for a local MCP client).
    pub caller: Option<&'a str>,
    pub error: Option<&'a Error>,
    pub elapsed: Duration,
}

/// A query result as JSON (`{"columns","rows","row_count","truncated","elapsed_ms","bytes_scanned",
/// "cost_usd"}`). `for_model`: every string cut to [`MAX_CELL_CHARS`] and cleaned as prompts are.
pub fn result_json(result: &QueryResult, for_model: bool) -> Value {
    let mut v = format::to_json(result);
    if for_model {
        clean_for_model(&mut v["rows"]);
    }
    v["bytes_scanned"] = json!(result.stats.bytes_scanned);
    v["cost_usd"] = json!(result.stats.cost_usd);
    v
}

/// Every string inside `v` cut to [`MAX_CELL_CHARS`] and cleaned as prompts are (result rows sent to a
/// model).
pub fn clean_for_model(v: &mut Value) {
    match v {
        Value::String(s) => *s = crate::untrusted::clean(s, MAX_CELL_CHARS),
        Value::Array(a) => a.iter_mut().for_each(clean_for_model),
        Value::Object(o) => o.values_mut().for_each(clean_for_model),
        _ => {}
    }
}

/// The glossary as text: what words in questions mean here (time terms, "login", "rejected", …).
pub fn glossary_text() -> String {
    let g = Glossary::shared();
    let mut s = String::from("# asklake glossary\n\n");
    for t in &g.terms {
        s.push_str(&format!("- \"{}\": {}\n", t.term, t.meaning));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_results_are_cleaned() {
        let mut v = json!([["ok", "a\u{200B}b<script>", {"k": "x".repeat(900)}], [1, null]]);
        clean_for_model(&mut v);
        assert_eq!(v[0][0], "ok");
        assert_eq!(v[0][1], "ab‹script›");
        assert_eq!(
            v[0][2]["k"].as_str().unwrap().chars().count(),
            MAX_CELL_CHARS + 1
        );
        assert_eq!(v[1], json!([1, null]));
    }
}
