//! A loopback fake of Amazon Athena for tests and benchmarks (feature `test-utils`): it speaks Athena's
//! JSON 1.1 protocol (`X-Amz-Target: AmazonAthena.*`) to the real AWS SDK and runs each query on an embedded
//! [`LocalEngine`] demo lake, returning real rows with Athena's type names, paginated at 1000 rows (header row
//! first). Faults are injectable: long QUEUED, FAILED with a Trino-style message, throttling, never finishing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::arrow::array::{Array, ArrayRef};
use crate::arrow::datatypes::DataType as ArrowType;
use crate::engine::format;
use crate::engine::{LocalEngine, QueryEngine, QueryOptions, QueryResult};
use crate::error::Error;

/// Faults to inject.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Polls that report QUEUED before RUNNING.
    pub queued_polls: u32,
    /// Fail every (non-EXPLAIN) query with this StateChangeReason.
    pub fail_with: Option<String>,
    /// Answer this many calls (any operation) with TooManyRequestsException first.
    pub throttle_first: u32,
    /// Queries stay RUNNING until stopped.
    pub never_finish: bool,
    /// Bytes reported as scanned per query (default: the size of the tables' files).
    pub bytes_scanned: Option<u64>,
}

enum Outcome {
    Pending,
    Done(QueryResult),
    Failed(String),
    Cancelled,
}

struct Execution {
    sql: String,
    polls: u32,
    outcome: Arc<Mutex<Outcome>>,
    bytes: u64,
}

struct State {
    engine: Arc<LocalEngine>,
    faults: Mutex<Faults>,
    executions: Mutex<HashMap<String, Execution>>,
    calls: Mutex<Vec<(String, Value)>>,
    next_id: Mutex<u64>,
}

/// The running fake. Requests are recorded as `(operation, body)`.
pub struct FakeAthena {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl FakeAthena {
    /// Serves on 127.0.0.1 (random port) until the runtime ends.
    pub async fn start(engine: LocalEngine, faults: Faults) -> std::io::Result<FakeAthena> {
        let state = Arc::new(State {
            engine: Arc::new(engine),
            faults: Mutex::new(faults),
            executions: Mutex::default(),
            calls: Mutex::default(),
            next_id: Mutex::new(0),
        });
        let st = state.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let st = st.clone();
            async move { handle(st, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeAthena { addr, state })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `(operation, request body)` of every call so far.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut f) = self.state.faults.lock() {
            *f = faults;
        }
    }
}

fn err(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", "fake-athena-req"),
        ],
        json!({"__type": kind, "Message": message}).to_string(),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", "fake-athena-req"),
        ],
        v.to_string(),
    )
        .into_response()
}

async fn handle(st: Arc<State>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Some(op) = target.strip_prefix("AmazonAthena.") else {
        return err(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "missing X-Amz-Target",
        );
    };
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut c) = st.calls.lock() {
        c.push((op.to_string(), req.clone()));
    }
    let throttle = st.faults.lock().map(|mut f| {
        if f.throttle_first > 0 {
            f.throttle_first -= 1;
            true
        } else {
            false
        }
    });
    if throttle.unwrap_or(false) {
        return err(
            StatusCode::BAD_REQUEST,
            "TooManyRequestsException",
            "Rate exceeded",
        );
    }
    match op {
        "StartQueryExecution" => start(&st, &req),
        "GetQueryExecution" => get_execution(&st, &req),
        "GetQueryResults" => get_results(&st, &req),
        "StopQueryExecution" => {
            let id = req["QueryExecutionId"].as_str().unwrap_or("");
            if let Ok(ex) = st.executions.lock()
                && let Some(e) = ex.get(id)
                && let Ok(mut o) = e.outcome.lock()
                && matches!(*o, Outcome::Pending)
            {
                *o = Outcome::Cancelled;
            }
            ok(json!({}))
        }
        "ListDatabases" => list_databases(&st).await,
        "ListTableMetadata" => list_tables(&st, &req).await,
        "GetTableMetadata" => get_table(&st, &req).await,
        other => err(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            &format!("{other} is not faked"),
        ),
    }
}

/// Athena-style message for an engine error (Trino's error names where they fit).
fn trino_message(e: &Error) -> String {
    match e {
        Error::Query { kind, message, .. } => {
            let name = match kind {
                crate::error::QueryErrorKind::Syntax => "SYNTAX_ERROR",
                crate::error::QueryErrorKind::Binder if message.contains("olumn") => {
                    "COLUMN_NOT_FOUND"
                }
                crate::error::QueryErrorKind::Binder if message.contains("able") => {
                    "TABLE_NOT_FOUND"
                }
                crate::error::QueryErrorKind::Binder => "TYPE_MISMATCH",
                crate::error::QueryErrorKind::Execution => "GENERIC_INTERNAL_ERROR",
            };
            format!("{name}: line 1:1: {message}")
        }
        other => format!("GENERIC_INTERNAL_ERROR: {other}"),
    }
}

fn table_bytes(engine: &LocalEngine, sql: &str) -> u64 {
    let lower = sql.to_ascii_lowercase();
    let mut total = 0;
    for t in &engine.manifest().tables {
        let name = t
            .security_lake(&engine.manifest().rollup_region)
            .table()
            .to_ascii_lowercase();
        if lower.contains(&name) {
            total += dir_size(&engine.dir().join(&t.path));
        }
    }
    total
}

fn dir_size(p: &std::path::Path) -> u64 {
    match std::fs::read_dir(p) {
        Ok(rd) => rd
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    dir_size(&path)
                } else {
                    e.metadata().map(|m| m.len()).unwrap_or(0)
                }
            })
            .sum(),
        Err(_) => 0,
    }
}

fn start(st: &Arc<State>, req: &Value) -> Response {
    let sql = req["QueryString"].as_str().unwrap_or("").to_string();
    let id = {
        let Ok(mut n) = st.next_id.lock() else {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "lock",
            );
        };
        *n += 1;
        format!("fake-{:08}-0000-4000-8000-000000000000", *n)
    };
    let faults = st.faults.lock().map(|f| f.clone()).unwrap_or_default();
    let outcome = Arc::new(Mutex::new(Outcome::Pending));
    let explain = sql
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("EXPLAIN ");
    let bytes = if explain {
        0
    } else {
        faults
            .bytes_scanned
            .unwrap_or_else(|| table_bytes(&st.engine, &sql))
    };
    if let (Some(msg), false) = (&faults.fail_with, explain) {
        if let Ok(mut o) = outcome.lock() {
            *o = Outcome::Failed(msg.clone());
        }
    } else if !faults.never_finish || explain {
        let engine = st.engine.clone();
        let out = outcome.clone();
        let run_sql = match sql.trim_start().get(..8) {
            Some(p) if p.eq_ignore_ascii_case("EXPLAIN ") => sql.trim_start()[8..].to_string(),
            _ => sql.clone(),
        };
        tokio::spawn(async move {
            let options = QueryOptions {
                max_rows: 10_000_000,
                timeout: Some(Duration::from_secs(300)),
                as_of: None,
            };
            let r = engine.execute(&run_sql, &options).await;
            if let Ok(mut o) = out.lock()
                && matches!(*o, Outcome::Pending)
            {
                *o = match r {
                    Ok(res) if explain => Outcome::Done(QueryResult {
                        row_count: 0,
                        batches: Vec::new(),
                        ..res
                    }),
                    Ok(res) => Outcome::Done(res),
                    Err(e) => Outcome::Failed(trino_message(&e)),
                };
            }
        });
    }
    if let Ok(mut ex) = st.executions.lock() {
        ex.insert(
            id.clone(),
            Execution {
                sql,
                polls: 0,
                outcome,
                bytes,
            },
        );
    }
    ok(json!({"QueryExecutionId": id}))
}

fn get_execution(st: &Arc<State>, req: &Value) -> Response {
    let id = req["QueryExecutionId"].as_str().unwrap_or("");
    let queued = st.faults.lock().map(|f| f.queued_polls).unwrap_or(0);
    let Ok(mut ex) = st.executions.lock() else {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "lock",
        );
    };
    let Some(e) = ex.get_mut(id) else {
        return err(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            &format!("QueryExecution {id} was not found"),
        );
    };
    e.polls += 1;
    let (state, reason, done) = match e.outcome.lock().as_deref() {
        Ok(_) if e.polls <= queued => ("QUEUED", None, false),
        Ok(Outcome::Pending) => ("RUNNING", None, false),
        Ok(Outcome::Done(_)) => ("SUCCEEDED", None, true),
        Ok(Outcome::Failed(m)) => ("FAILED", Some(m.clone()), true),
        Ok(Outcome::Cancelled) => (
            "CANCELLED",
            Some("Query cancelled by user".to_string()),
            true,
        ),
        Err(_) => ("FAILED", Some("lock".to_string()), true),
    };
    let mut status = json!({"State": state, "SubmissionDateTime": 1_764_288_000.0});
    if let Some(r) = reason {
        status["StateChangeReason"] = json!(r);
        if state == "FAILED" {
            status["AthenaError"] = json!({"ErrorCategory": 2, "ErrorType": 1006, "Retryable": false, "ErrorMessage": r});
        }
    }
    let scanned = if state == "QUEUED" {
        0
    } else if done {
        e.bytes
    } else {
        e.bytes / 2
    };
    ok(json!({"QueryExecution": {
        "QueryExecutionId": id,
        "Query": e.sql,
        "StatementType": "DML",
        "WorkGroup": "primary",
        "Status": status,
        "Statistics": {
            "EngineExecutionTimeInMillis": 42,
            "DataScannedInBytes": scanned,
            "TotalExecutionTimeInMillis": 50,
            "QueryQueueTimeInMillis": 8
        }
    }}))
}

/// Athena's type name for an Arrow type.
fn athena_type(t: &ArrowType) -> String {
    match t {
        ArrowType::Boolean => "boolean".into(),
        ArrowType::Int8 => "tinyint".into(),
        ArrowType::Int16 => "smallint".into(),
        ArrowType::Int32 => "integer".into(),
        ArrowType::Int64 | ArrowType::UInt32 | ArrowType::UInt64 => "bigint".into(),
        ArrowType::Float32 => "real".into(),
        ArrowType::Float64 => "double".into(),
        ArrowType::Date32 | ArrowType::Date64 => "date".into(),
        ArrowType::Timestamp(_, Some(_)) => "timestamp with time zone".into(),
        ArrowType::Timestamp(_, None) => "timestamp".into(),
        ArrowType::Decimal128(..) => "decimal".into(),
        ArrowType::List(_) | ArrowType::LargeList(_) => "array".into(),
        ArrowType::Struct(_) => "row".into(),
        ArrowType::Map(..) => "map".into(),
        _ => "varchar".into(),
    }
}

/// A cell as Athena's result text: timestamps `2026-11-27 10:00:00.000`, rows `{a=1, b=x}`, arrays
/// `[1, 2]`, maps `{k=v}`.
fn athena_cell(a: &ArrayRef, row: usize) -> Option<String> {
    if a.is_null(row) {
        return None;
    }
    fn trino(v: &Value) -> String {
        match v {
            Value::Null => "null".into(),
            Value::String(s) => s.clone(),
            Value::Array(items) => format!(
                "[{}]",
                items.iter().map(trino).collect::<Vec<_>>().join(", ")
            ),
            Value::Object(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{k}={}", trino(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_string(),
        }
    }
    Some(match a.data_type() {
        ArrowType::Struct(_)
        | ArrowType::List(_)
        | ArrowType::LargeList(_)
        | ArrowType::Map(..) => trino(&format::cell_json(a, row)),
        ArrowType::Timestamp(..) => {
            let s = format::cell_text(a, row).replace('T', " ");
            let s = s
                .trim_end_matches('Z')
                .trim_end_matches("+00:00")
                .to_string();
            match s.split_once('.') {
                Some((base, frac)) => format!("{base}.{:0<3}", &frac[..frac.len().min(3)]),
                None => format!("{s}.000"),
            }
        }
        _ => format::cell_text(a, row),
    })
}

fn get_results(st: &Arc<State>, req: &Value) -> Response {
    let id = req["QueryExecutionId"].as_str().unwrap_or("");
    let max = req["MaxResults"].as_u64().unwrap_or(1000).min(1000) as usize;
    let offset: usize = req["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let Ok(ex) = st.executions.lock() else {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "lock",
        );
    };
    let Some(e) = ex.get(id) else {
        return err(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "QueryExecution not found",
        );
    };
    let Ok(outcome) = e.outcome.lock() else {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "lock",
        );
    };
    let Outcome::Done(result) = &*outcome else {
        return err(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Query has not yet finished. Current state: RUNNING",
        );
    };
    let fields = result.schema.fields();
    let columns: Vec<Value> = fields
        .iter()
        .map(|f| {
            let (precision, scale) = match f.data_type() {
                ArrowType::Decimal128(p, s) => (i64::from(*p), i64::from(*s)),
                ArrowType::Utf8 | ArrowType::LargeUtf8 => (2_147_483_647, 0),
                _ => (0, 0),
            };
            json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": f.name(), "Label": f.name(),
                   "Type": athena_type(f.data_type()), "Precision": precision, "Scale": scale,
                   "Nullable": "UNKNOWN", "CaseSensitive": true})
        })
        .collect();
    // Row i of the logical result (the header row is row 0).
    let total = result.row_count + 1;
    let end = (offset + max).min(total);
    let mut rows = Vec::new();
    let mut global = 0usize;
    if offset == 0 {
        rows.push(json!({"Data": fields.iter().map(|f| json!({"VarCharValue": f.name()})).collect::<Vec<_>>()}));
    }
    'batches: for batch in &result.batches {
        for r in 0..batch.num_rows() {
            global += 1;
            if global < offset.max(1) {
                continue;
            }
            if global >= end {
                break 'batches;
            }
            let data: Vec<Value> = batch
                .columns()
                .iter()
                .map(|c| match athena_cell(c, r) {
                    Some(s) => json!({"VarCharValue": s}),
                    None => json!({}),
                })
                .collect();
            rows.push(json!({"Data": data}));
        }
    }
    let mut out = json!({"UpdateCount": 0, "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": columns}}});
    if end < total {
        out["NextToken"] = json!(end.to_string());
    }
    ok(out)
}

async fn list_databases(st: &Arc<State>) -> Response {
    match st.engine.catalog().await {
        Ok(c) => {
            let mut dbs: Vec<&str> = c.tables.iter().map(|t| t.database.as_str()).collect();
            dbs.sort_unstable();
            dbs.dedup();
            ok(json!({"DatabaseList": dbs.iter().map(|d| json!({"Name": d})).collect::<Vec<_>>()}))
        }
        Err(e) => err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            &e.to_string(),
        ),
    }
}

fn table_json(t: &crate::schema::TableInfo) -> Value {
    // Source version 1 tables are Hive-partitioned (Glue lists region/accountid/eventday as partition keys);
    // version 2 tables are Iceberg, whose partitioning Glue does not list as keys.
    let hive = t
        .security_lake
        .as_ref()
        .is_some_and(|sl| sl.version == crate::schema::security_lake::SourceVersion::V1);
    let is_partition = |n: &str| hive && matches!(n, "region" | "accountid" | "eventday");
    let col = |f: &crate::schema::Field| json!({"Name": f.name, "Type": f.data_type.hive_name()});
    json!({
        "Name": t.name,
        "TableType": "EXTERNAL_TABLE",
        "Columns": t.columns.iter().filter(|f| !is_partition(&f.name)).map(col).collect::<Vec<_>>(),
        "PartitionKeys": t.columns.iter().filter(|f| is_partition(&f.name)).map(col).collect::<Vec<_>>(),
    })
}

async fn list_tables(st: &Arc<State>, req: &Value) -> Response {
    let db = req["DatabaseName"].as_str().unwrap_or("");
    let offset: usize = req["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    match st.engine.catalog().await {
        Ok(c) => {
            let tables: Vec<Value> = c
                .tables
                .iter()
                .filter(|t| t.database == db)
                .map(table_json)
                .collect();
            // Pages of 4, so clients must follow NextToken.
            let page: Vec<Value> = tables.iter().skip(offset).take(4).cloned().collect();
            let mut out = json!({"TableMetadataList": page});
            if offset + 4 < tables.len() {
                out["NextToken"] = json!((offset + 4).to_string());
            }
            ok(out)
        }
        Err(e) => err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            &e.to_string(),
        ),
    }
}

async fn get_table(st: &Arc<State>, req: &Value) -> Response {
    let db = req["DatabaseName"].as_str().unwrap_or("");
    let name = req["TableName"].as_str().unwrap_or("");
    match st.engine.catalog().await {
        Ok(c) => match c.tables.iter().find(|t| t.database == db && t.name == name) {
            Some(t) => ok(json!({"TableMetadata": table_json(t)})),
            None => err(
                StatusCode::BAD_REQUEST,
                "MetadataException",
                &format!("Table {name} not found"),
            ),
        },
        Err(e) => err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            &e.to_string(),
        ),
    }
}
