//! Amazon Athena as the query engine, with Security Lake discovery. StartQueryExecution → poll
//! GetQueryExecution with backoff → paginated GetQueryResults into Arrow; a wall-clock timeout cancels with
//! StopQueryExecution; FAILED states become repairable errors carrying Athena's message verbatim.
//! Credentials and region come from the standard AWS chain; `AWS_ENDPOINT_URL_ATHENA` overrides the endpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_athena::Client;
use aws_sdk_athena::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_athena::types::{
    ColumnInfo, QueryExecutionContext, QueryExecutionState, ResultConfiguration, TableMetadata,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlparser::ast::{Expr, Statement, Visit, Visitor};

use super::{QueryEngine, QueryOptions, QueryResult, QueryStats};
use crate::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use crate::arrow::datatypes::{DataType as ArrowType, Field as ArrowField, Schema, TimeUnit};
use crate::arrow::record_batch::RecordBatch;
use crate::error::{Error, GuardCode, QueryErrorKind, Result, ServiceError, ServiceErrorKind};
use crate::llm::retry::{RetryPolicy, retry};
use crate::schema::security_lake::{SecurityLakeTable, SourceVersion};
use crate::schema::{Catalog, DataType, Field, TableInfo};
use crate::sql::dialect;

const NAME: &str = "athena";

/// Where and how queries run on Athena.
#[derive(Debug, Clone)]
pub struct AthenaConfig {
    /// Default: `primary`.
    pub workgroup: String,
    /// `s3://bucket/prefix/` for results; `None` uses the workgroup's setting.
    pub output_location: Option<String>,
    /// Default: `AwsDataCatalog`.
    pub catalog: String,
    /// The database queries run in; `None`: every Security Lake database is discovered
    /// (`amazon_security_lake_glue_db_*`) and queries name their database.
    pub database: Option<String>,
    /// USD per TB scanned (Athena's on-demand price is $5; Athena bills at least 10 MB per query).
    pub price_per_tb: f64,
    /// Run `EXPLAIN` first: syntax and semantic errors come back without scanning data.
    pub explain_check: bool,
    /// Allow queries over Security Lake tables without a time predicate (full scans).
    pub allow_full_scan: bool,
    /// Stop a query once it has scanned more than this many bytes (checked while polling). Athena's
    /// workgroup setting `BytesScannedCutoffPerQuery` enforces the same server-side and is the hard limit.
    pub max_bytes_scanned: Option<u64>,
    /// First poll interval; grows ×1.5 up to `max_poll`.
    pub first_poll: Duration,
    pub max_poll: Duration,
    pub retry: RetryPolicy,
}

impl Default for AthenaConfig {
    fn default() -> Self {
        AthenaConfig {
            workgroup: "primary".into(),
            output_location: None,
            catalog: "AwsDataCatalog".into(),
            database: None,
            price_per_tb: 5.0,
            explain_check: true,
            allow_full_scan: false,
            max_bytes_scanned: None,
            first_poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(2),
            retry: RetryPolicy::default(),
        }
    }
}

/// The Athena engine.
#[derive(Debug, Clone)]
pub struct AthenaEngine {
    client: Client,
    config: AthenaConfig,
    catalog: Arc<tokio::sync::OnceCell<Catalog>>,
}

impl AthenaEngine {
    /// Loads credentials, region and endpoint from the standard AWS chain; `region` overrides it.
    pub async fn from_env(region: Option<String>, config: AthenaConfig) -> Result<Self> {
        let settings = crate::aws::ClientSettings {
            region,
            ..Default::default()
        };
        Self::connect(&settings, config).await
    }

    /// Like [`AthenaEngine::from_env`], with a region, endpoint or timeouts of the caller's.
    pub async fn connect(
        settings: &crate::aws::ClientSettings,
        config: AthenaConfig,
    ) -> Result<Self> {
        let shared = crate::aws::sdk_config("Athena", settings).await?;
        let conf = aws_sdk_athena::config::Builder::from(&shared)
            .retry_config(aws_sdk_athena::config::retry::RetryConfig::disabled())
            .build();
        Ok(Self::with_client(Client::from_conf(conf), config))
    }

    /// Uses a client configured by the caller (disable the SDK's retries: ours apply).
    pub fn with_client(client: Client, config: AthenaConfig) -> Self {
        AthenaEngine {
            client,
            config,
            catalog: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    pub fn config(&self) -> &AthenaConfig {
        &self.config
    }

    async fn start(&self, sql: &str) -> Result<String> {
        let mut ctx = QueryExecutionContext::builder().catalog(&self.config.catalog);
        if let Some(db) = &self.config.database {
            ctx = ctx.database(db);
        }
        let ctx = ctx.build();
        let result_conf = self
            .config
            .output_location
            .as_ref()
            .map(|o| ResultConfiguration::builder().output_location(o).build());
        let out = retry(&self.config.retry, || async {
            self.client
                .start_query_execution()
                .query_string(sql)
                .work_group(&self.config.workgroup)
                .query_execution_context(ctx.clone())
                .set_result_configuration(result_conf.clone())
                .send()
                .await
                .map_err(sdk_error)
        })
        .await?;
        out.query_execution_id()
            .map(String::from)
            .ok_or_else(|| protocol("StartQueryExecution returned no QueryExecutionId"))
    }

    async fn stop(&self, id: &str) {
        // Best effort: the caller reports the timeout either way.
        let _ = self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await;
    }

    /// Polls until the query finishes; returns its statistics.
    async fn wait(&self, id: &str, deadline: Option<Instant>) -> Result<QueryStats> {
        let mut delay = self.config.first_poll;
        loop {
            let out = retry(&self.config.retry, || async {
                self.client
                    .get_query_execution()
                    .query_execution_id(id)
                    .send()
                    .await
                    .map_err(sdk_error)
            })
            .await?;
            let qe = out
                .query_execution()
                .ok_or_else(|| protocol("GetQueryExecution returned no QueryExecution"))?;
            let status = qe.status();
            let state = status.and_then(|s| s.state()).cloned();
            let stats = qe.statistics();
            let ms = |v: Option<i64>| {
                v.and_then(|m| u64::try_from(m).ok())
                    .map(Duration::from_millis)
            };
            let bytes = stats
                .and_then(|s| s.data_scanned_in_bytes())
                .and_then(|b| u64::try_from(b).ok());
            let query_stats = QueryStats {
                elapsed: Duration::ZERO,
                engine_time: ms(stats.and_then(|s| s.engine_execution_time_in_millis())),
                queue_time: ms(stats.and_then(|s| s.query_queue_time_in_millis())),
                bytes_scanned: bytes,
                cost_usd: bytes.map(|b| self.cost(b)),
                executed_sql: None,
            };
            match state {
                Some(QueryExecutionState::Succeeded) => return Ok(query_stats),
                Some(QueryExecutionState::Failed) => {
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("the query failed without a reason")
                        .to_string();
                    return Err(Error::Query {
                        engine: NAME.into(),
                        kind: error_kind(&reason),
                        message: reason,
                    });
                }
                Some(QueryExecutionState::Cancelled) => {
                    return Err(Error::Query {
                        engine: NAME.into(),
                        kind: QueryErrorKind::Execution,
                        message: status
                            .and_then(|s| s.state_change_reason())
                            .unwrap_or("the query was cancelled")
                            .to_string(),
                    });
                }
                _ => {}
            }
            if let (Some(max), Some(b)) = (self.config.max_bytes_scanned, bytes)
                && b > max
            {
                self.stop(id).await;
                return Err(Error::guard(
                    GuardCode::Cost,
                    format!(
                        "the query scanned more than {max} bytes and was stopped; narrow the time window \
                         (time_dt / eventday) or select fewer columns"
                    ),
                ));
            }
            if let Some(d) = deadline
                && Instant::now() + delay > d
            {
                self.stop(id).await;
                return Err(Error::Timeout(
                    d.saturating_duration_since(Instant::now()) + delay,
                ));
            }
            tokio::time::sleep(delay).await;
            delay = delay.mul_f64(1.5).min(self.config.max_poll);
        }
    }

    fn cost(&self, bytes: u64) -> f64 {
        // Rounded up to the megabyte, at least 10 MB per query.
        let mb = bytes.div_ceil(1_000_000).max(10);
        mb as f64 / 1_000_000.0 * self.config.price_per_tb
    }

    /// Reads the results page by page into Arrow, keeping at most `max_rows` (+1 to detect truncation).
    async fn results(
        &self,
        id: &str,
        max_rows: u64,
    ) -> Result<(Arc<Schema>, Vec<RecordBatch>, usize, bool)> {
        let mut token: Option<String> = None;
        let mut columns: Vec<ColumnInfo> = Vec::new();
        let mut rows: Vec<Vec<Option<String>>> = Vec::new();
        let mut first = true;
        let mut truncated = false;
        loop {
            let out = retry(&self.config.retry, || async {
                self.client
                    .get_query_results()
                    .query_execution_id(id)
                    .max_results(1000)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(sdk_error)
            })
            .await?;
            let Some(rs) = out.result_set() else { break };
            if first {
                columns = rs
                    .result_set_metadata()
                    .map(|m| m.column_info().to_vec())
                    .unwrap_or_default();
            }
            let mut page: Vec<Vec<Option<String>>> = rs
                .rows()
                .iter()
                .map(|r| {
                    r.data()
                        .iter()
                        .map(|d| d.var_char_value().map(String::from))
                        .collect()
                })
                .collect();
            // The first page starts with a header row of column labels.
            if first
                && page.first().is_some_and(|h| {
                    h.len() == columns.len()
                        && h.iter()
                            .zip(&columns)
                            .all(|(v, c)| v.as_deref() == Some(c.label().unwrap_or(c.name())))
                })
            {
                page.remove(0);
            }
            first = false;
            rows.extend(page);
            if rows.len() as u64 > max_rows {
                truncated = true;
                rows.truncate(usize::try_from(max_rows).unwrap_or(usize::MAX));
                break;
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        let (schema, batch) = to_arrow(&columns, &rows)?;
        let n = rows.len();
        Ok((schema, vec![batch], n, truncated))
    }

    async fn discover(&self) -> Result<Catalog> {
        let databases: Vec<String> = match &self.config.database {
            Some(db) => vec![db.clone()],
            None => {
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = retry(&self.config.retry, || async {
                        self.client
                            .list_databases()
                            .catalog_name(&self.config.catalog)
                            .set_next_token(token.clone())
                            .send()
                            .await
                            .map_err(sdk_error)
                    })
                    .await?;
                    out.extend(
                        page.database_list()
                            .iter()
                            .map(|d| d.name().to_string())
                            .filter(|n| n.starts_with("amazon_security_lake_glue_db_")),
                    );
                    match page.next_token() {
                        Some(t) => token = Some(t.to_string()),
                        None => break,
                    }
                }
                out
            }
        };
        let mut tables = Vec::new();
        for db in databases {
            let mut token: Option<String> = None;
            loop {
                let page = retry(&self.config.retry, || async {
                    self.client
                        .list_table_metadata()
                        .catalog_name(&self.config.catalog)
                        .database_name(&db)
                        .set_next_token(token.clone())
                        .send()
                        .await
                        .map_err(sdk_error)
                })
                .await?;
                for t in page.table_metadata_list() {
                    tables.push(table_info(&db, t)?);
                }
                match page.next_token() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
        }
        Ok(Catalog::new(tables))
    }
}

/// A Glue table as the catalog type; Security Lake source, version and region from its name.
pub fn table_info(database: &str, t: &TableMetadata) -> Result<TableInfo> {
    let mut columns = Vec::new();
    for c in t.columns().iter().chain(t.partition_keys()) {
        let ty = c.r#type().unwrap_or("string");
        let data_type = DataType::parse_hive(ty)
            .map_err(|e| Error::Schema(format!("{database}.{}.{}: {e}", t.name(), c.name())))?;
        columns.push(Field::new(c.name(), data_type));
    }
    let mut info = TableInfo::new(database, t.name(), columns);
    info.security_lake = SecurityLakeTable::parse(t.name());
    Ok(info)
}

/// Athena's error names map to the kinds the repair loop reports.
fn error_kind(reason: &str) -> QueryErrorKind {
    let head = reason.split(':').next().unwrap_or("").trim();
    match head {
        "SYNTAX_ERROR" | "PARSE_ERROR" | "INVALID_SYNTAX" => QueryErrorKind::Syntax,
        "COLUMN_NOT_FOUND"
        | "TABLE_NOT_FOUND"
        | "SCHEMA_NOT_FOUND"
        | "FUNCTION_NOT_FOUND"
        | "TYPE_MISMATCH"
        | "MISSING_ATTRIBUTE"
        | "INVALID_FUNCTION_ARGUMENT"
        | "AMBIGUOUS_NAME"
        | "NOT_SUPPORTED"
        | "MISSING_GROUP_BY"
        | "EXPRESSION_NOT_AGGREGATE" => QueryErrorKind::Binder,
        _ if reason.contains("line ") && reason.contains("mismatched input") => {
            QueryErrorKind::Syntax
        }
        _ => QueryErrorKind::Execution,
    }
}

fn protocol(msg: &str) -> Error {
    Error::Service(ServiceError::new(NAME, ServiceErrorKind::Protocol, msg))
}

fn sdk_error<E>(e: SdkError<E, aws_sdk_athena::config::http::HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Error::Service(crate::aws::service_error(NAME, e))
}

/// Arrow type for an Athena result type name; nested and unusual types stay text.
fn arrow_type(c: &ColumnInfo) -> ArrowType {
    let t = c.r#type().to_ascii_lowercase();
    match t.as_str() {
        "boolean" => ArrowType::Boolean,
        "tinyint" => ArrowType::Int8,
        "smallint" => ArrowType::Int16,
        "integer" | "int" => ArrowType::Int32,
        "bigint" => ArrowType::Int64,
        "real" | "float" => ArrowType::Float32,
        "double" => ArrowType::Float64,
        "date" => ArrowType::Date32,
        "timestamp" => ArrowType::Timestamp(TimeUnit::Microsecond, None),
        "timestamp with time zone" => {
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        "decimal" => {
            let p = u8::try_from(c.precision()).unwrap_or(38).clamp(1, 38);
            let s = i8::try_from(c.scale()).unwrap_or(0);
            ArrowType::Decimal128(p, s)
        }
        _ => ArrowType::Utf8,
    }
}

fn parse_ts(s: &str) -> Option<i64> {
    let s = s.trim();
    let (base, zone) = match s.rsplit_once(' ') {
        Some((b, z))
            if z.chars().any(|c| c.is_ascii_alphabetic())
                || z.starts_with('+')
                || z.starts_with('-') =>
        {
            (b, Some(z))
        }
        _ => (s, None),
    };
    let naive = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(base, f).ok())?;
    let utc: DateTime<Utc> = match zone {
        None | Some("UTC") | Some("Z") => naive.and_utc(),
        Some(z) => {
            let tz = chrono::FixedOffset::from_str_offset(z)?;
            naive.and_local_timezone(tz).single()?.with_timezone(&Utc)
        }
    };
    Some(utc.timestamp_micros())
}

trait FromStrOffset: Sized {
    fn from_str_offset(z: &str) -> Option<Self>;
}

impl FromStrOffset for chrono::FixedOffset {
    fn from_str_offset(z: &str) -> Option<Self> {
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let digits: String = z.chars().filter(|c| c.is_ascii_digit()).collect();
        let (h, m) = match digits.len() {
            2 => (digits.parse::<i32>().ok()?, 0),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
    }
}

fn parse_decimal(s: &str, scale: i8) -> Option<i128> {
    let s = s.trim();
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let scale = usize::try_from(scale).ok()?;
    let mut frac: String = frac.chars().take(scale).collect();
    while frac.len() < scale {
        frac.push('0');
    }
    let v: i128 = format!("{int}{frac}").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Athena's string cells as typed Arrow columns. A value that does not parse as its declared type is an
/// error, never silently NULL.
pub fn to_arrow(
    columns: &[ColumnInfo],
    rows: &[Vec<Option<String>>],
) -> Result<(Arc<Schema>, RecordBatch)> {
    let bad = |c: &ColumnInfo, v: &str| {
        protocol(&format!(
            "column {} ({}): cannot read {v:?}",
            c.name(),
            c.r#type()
        ))
    };
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let ty = arrow_type(c);
        let cells = rows.iter().map(|r| r.get(i).and_then(|v| v.as_deref()));
        macro_rules! build {
            ($builder:expr, $parse:expr) => {{
                let mut b = $builder;
                for v in cells {
                    match v {
                        None => b.append_null(),
                        Some(s) => b.append_value(($parse)(s).ok_or_else(|| bad(c, s))?),
                    }
                }
                Arc::new(b.finish()) as ArrayRef
            }};
        }
        let array = match &ty {
            ArrowType::Boolean => build!(BooleanBuilder::new(), |s: &str| s.parse::<bool>().ok()),
            ArrowType::Int8 => build!(Int8Builder::new(), |s: &str| s.parse::<i8>().ok()),
            ArrowType::Int16 => build!(Int16Builder::new(), |s: &str| s.parse::<i16>().ok()),
            ArrowType::Int32 => build!(Int32Builder::new(), |s: &str| s.parse::<i32>().ok()),
            ArrowType::Int64 => build!(Int64Builder::new(), |s: &str| s.parse::<i64>().ok()),
            ArrowType::Float32 => build!(Float32Builder::new(), |s: &str| parse_float(s)
                .map(|f| f as f32)),
            ArrowType::Float64 => build!(Float64Builder::new(), parse_float),
            ArrowType::Date32 => build!(Date32Builder::new(), |s: &str| {
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .ok()
                    .map(|d| {
                        (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days()
                            as i32
                    })
            }),
            ArrowType::Timestamp(_, tz) => {
                let b = TimestampMicrosecondBuilder::new();
                let b = match tz {
                    Some(z) => b.with_timezone(z.clone()),
                    None => b,
                };
                build!(b, parse_ts)
            }
            ArrowType::Decimal128(p, s) => {
                let (p, s) = (*p, *s);
                let b = Decimal128Builder::new()
                    .with_precision_and_scale(p, s)
                    .map_err(|e| protocol(&e.to_string()))?;
                build!(b, |v: &str| parse_decimal(v, s))
            }
            _ => {
                let mut b = StringBuilder::new();
                for v in cells {
                    b.append_option(v);
                }
                Arc::new(b.finish()) as ArrayRef
            }
        };
        fields.push(ArrowField::new(c.name(), ty, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = if arrays.is_empty() {
        RecordBatch::new_empty(schema.clone())
    } else {
        RecordBatch::try_new(schema.clone(), arrays).map_err(|e| protocol(&e.to_string()))?
    };
    Ok((schema, batch))
}

fn parse_float(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// Refuses a query that reads a Security Lake table without filtering its time column (`time_dt` or `time`
/// for source version 2, `eventday` for version 1): on Athena that scans the whole table.
pub fn check_time_filter(statement: &Statement, catalog: &Catalog) -> Result<()> {
    let tables = crate::sql::validate::referenced_tables(statement, catalog);
    let needed: Vec<(&TableInfo, SourceVersion)> = tables
        .iter()
        .filter_map(|t| t.security_lake.as_ref().map(|sl| (*t, sl.version)))
        .collect();
    if needed.is_empty() {
        return Ok(());
    }
    struct Filters {
        names: Vec<String>,
        in_where: bool,
    }
    impl Visitor for Filters {
        type Break = ();
        fn pre_visit_query(&mut self, q: &sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
            let mut stack = vec![q.body.as_ref()];
            while let Some(body) = stack.pop() {
                match body {
                    sqlparser::ast::SetExpr::Select(s) => {
                        for e in s.selection.iter().chain(s.having.iter()) {
                            self.in_where = true;
                            let _ = e.visit(self);
                            self.in_where = false;
                        }
                        for j in s.from.iter().flat_map(|f| &f.joins) {
                            if let sqlparser::ast::JoinOperator::Inner(
                                sqlparser::ast::JoinConstraint::On(e),
                            )
                            | sqlparser::ast::JoinOperator::Join(
                                sqlparser::ast::JoinConstraint::On(e),
                            ) = &j.join_operator
                            {
                                self.in_where = true;
                                let _ = e.visit(self);
                                self.in_where = false;
                            }
                        }
                    }
                    sqlparser::ast::SetExpr::SetOperation { left, right, .. } => {
                        stack.push(left);
                        stack.push(right);
                    }
                    _ => {}
                }
            }
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if self.in_where {
                match e {
                    Expr::Identifier(i) => self.names.push(i.value.to_ascii_lowercase()),
                    Expr::CompoundIdentifier(ids) => {
                        if let Some(last) = ids.last() {
                            self.names.push(last.value.to_ascii_lowercase());
                        }
                    }
                    _ => {}
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut f = Filters {
        names: Vec::new(),
        in_where: false,
    };
    let _ = statement.visit(&mut f);
    for (t, version) in needed {
        let ok = match version {
            SourceVersion::V2 => f.names.iter().any(|n| n == "time_dt" || n == "time"),
            SourceVersion::V1 => f.names.iter().any(|n| n == "eventday" || n == "time"),
        };
        if !ok {
            let col = version.time_column();
            return Err(Error::guard(
                GuardCode::Cost,
                format!(
                    "the query reads {} without a time filter, which scans the whole table on Athena; add a \
                     condition on {col}, e.g. WHERE {}",
                    t.name,
                    match version {
                        SourceVersion::V2 => "time_dt >= current_timestamp - INTERVAL '7' DAY",
                        SourceVersion::V1 =>
                            "eventday >= date_format(current_date - INTERVAL '7' DAY, '%Y%m%d')",
                    }
                ),
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl QueryEngine for AthenaEngine {
    fn name(&self) -> &str {
        NAME
    }

    async fn execute(&self, sql: &str, options: &QueryOptions) -> Result<QueryResult> {
        let started = Instant::now();
        let deadline = options.timeout.map(|t| started + t);
        if !self.config.allow_full_scan
            && let Ok(stmts) = dialect::parse(sql)
            && let Some(stmt) = stmts.first()
        {
            let catalog = self.catalog().await?;
            check_time_filter(stmt, &catalog)?;
        }
        // Athena's clock cannot be pinned: an as-of time other than now is applied by the caller's SQL.
        if self.config.explain_check {
            let id = self.start(&format!("EXPLAIN {sql}")).await?;
            self.wait(&id, deadline).await?;
        }
        let id = self.start(sql).await?;
        let mut stats = self.wait(&id, deadline).await?;
        let (schema, batches, row_count, truncated) = self.results(&id, options.max_rows).await?;
        stats.elapsed = started.elapsed();
        Ok(QueryResult {
            schema,
            batches,
            row_count,
            truncated,
            stats,
        })
    }

    async fn catalog(&self) -> Result<Catalog> {
        self.catalog
            .get_or_try_init(|| self.discover())
            .await
            .cloned()
    }

    /// Fresh metadata from GetTableMetadata (`db.table`, or a table of the discovered catalog).
    async fn describe(&self, table: &str) -> Result<TableInfo> {
        let parts = crate::schema::split_qualified(table);
        let (db, name) = match parts.as_slice() {
            [.., db, name] => (db.clone(), name.clone()),
            _ => {
                let t = self.catalog().await?.get(table)?.clone();
                (t.database, t.name)
            }
        };
        let out = retry(&self.config.retry, || async {
            self.client
                .get_table_metadata()
                .catalog_name(&self.config.catalog)
                .database_name(&db)
                .table_name(&name)
                .send()
                .await
                .map_err(sdk_error)
        })
        .await?;
        let meta = out
            .table_metadata()
            .ok_or_else(|| protocol("GetTableMetadata returned no TableMetadata"))?;
        table_info(&db, meta)
    }

    /// Recent rows only: a Security Lake table is read within its last day, never scanned whole.
    async fn sample_rows(&self, table: &str, n: u64) -> Result<QueryResult> {
        let info = self.describe(table).await?;
        let filter = match info.security_lake.as_ref().map(|sl| sl.version) {
            Some(SourceVersion::V2) => " WHERE time_dt >= current_timestamp - INTERVAL '1' DAY",
            Some(SourceVersion::V1) => {
                " WHERE eventday >= date_format(current_date - INTERVAL '1' DAY, '%Y%m%d')"
            }
            None => "",
        };
        let options = QueryOptions {
            max_rows: n,
            ..Default::default()
        };
        self.execute(
            &format!("SELECT * FROM {}{filter} LIMIT {n}", info.qualified_name()),
            &options,
        )
        .await
    }
}
