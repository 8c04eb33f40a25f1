//! The SQL guard. LLM-written SQL is untrusted input: accept only a single read-only query over catalog
//! tables, CTEs and UNNEST aliases, and enforce a row limit. Every rejection says what to change, in words an
//! LLM can act on. The local engine is locked down as well (see `engine::duckdb`), so a guard bug alone
//! cannot read or write files.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, LimitClause, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Value,
    Visit, Visitor,
};

use crate::error::{Error, GuardCode, Result};
use crate::schema::Catalog;
use crate::sql::dialect;

/// The largest row limit any front end may ask for: results are held in memory and rendered.
pub const MAX_ROWS: u64 = 1_000_000;

/// Guard settings.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Row limit added to a query without one, and the cap for a larger one.
    pub max_rows: u64,
    /// Longest SQL text accepted, in bytes.
    pub max_sql_bytes: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            max_sql_bytes: 64 * 1024,
        }
    }
}

/// A query the guard accepted, with the row limit applied.
#[derive(Debug, Clone)]
pub struct GuardedSql {
    /// The SQL to run: the input re-rendered, with the row limit applied.
    pub sql: String,
    pub statement: Statement,
    /// The catalog tables the query reads, as written.
    pub tables: Vec<String>,
    /// The LIMIT now on the query.
    pub limit: u64,
    /// True when the guard added or lowered the LIMIT.
    pub limit_changed: bool,
}

/// Checks untrusted SQL against a catalog. Cheap to build; holds only lower-cased names.
#[derive(Debug, Clone)]
pub struct Guard {
    config: GuardConfig,
    /// `db.table` and bare `table`, lower-cased.
    qualified: HashSet<(String, String)>,
    bare: HashSet<String>,
    all_names: Vec<String>,
    /// Tables the engine cannot read (`Catalog::unavailable`), so a query naming one is told why.
    unavailable: Vec<crate::schema::Unavailable>,
}

/// Functions that read files, URLs, the environment or engine settings. Also refused by the locked-down engine;
/// refusing them here gives the LLM a clear reason.
const BLOCKED_FUNCTIONS: &[&str] = &[
    "glob",
    "query",
    "query_table",
    "getenv",
    "sniff_csv",
    "current_setting",
    "set_config",
    "load_extension",
    "which_secret",
    "http_get",
    "http_post",
    "system",
    "shell",
    "checkpoint",
    "force_checkpoint",
    "iceberg_metadata",
    "iceberg_snapshots",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "lo_import",
    "lo_export",
    "sqlite_attach",
    "postgres_attach",
    "mysql_attach",
    "export_database",
    "import_database",
    "enable_profiling",
    "test_all_types",
    "getvariable",
    // The engine's identity, settings and the running query text.
    "version",
    "current_query",
    "current_database",
    "current_schema",
    "current_schemas",
    "current_catalog",
    "txid_current",
];
const BLOCKED_PREFIXES: &[&str] = &[
    "read_",
    "parquet_",
    "duckdb_",
    "pragma_",
    "pg_",
    "sqlite_",
    "json_execute",
];
const BLOCKED_SUFFIXES: &[&str] = &["_scan", "_attach", "_metadata"];

fn blocked_function(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    BLOCKED_FUNCTIONS.contains(&n.as_str())
        || BLOCKED_PREFIXES.iter().any(|p| n.starts_with(p))
        || BLOCKED_SUFFIXES.iter().any(|s| n.ends_with(s))
}

impl Guard {
    pub fn new(catalog: &Catalog, config: GuardConfig) -> Self {
        let qualified = catalog
            .tables
            .iter()
            .map(|t| (t.database.to_ascii_lowercase(), t.name.to_ascii_lowercase()))
            .collect();
        let bare = catalog
            .tables
            .iter()
            .map(|t| t.name.to_ascii_lowercase())
            .collect();
        let all_names = catalog.tables.iter().map(|t| t.name.clone()).collect();
        Self {
            config,
            qualified,
            bare,
            all_names,
            unavailable: catalog.unavailable.clone(),
        }
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// Accepts one read-only query or says why not.
    pub fn check(&self, sql: &str) -> Result<GuardedSql> {
        if sql.len() > self.config.max_sql_bytes {
            return Err(Error::guard(
                GuardCode::TooLong,
                format!(
                    "the SQL is {} bytes; at most {} are accepted",
                    sql.len(),
                    self.config.max_sql_bytes
                ),
            ));
        }
        if let Some(c) = sql
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(Error::guard(
                GuardCode::ControlCharacter,
                format!(
                    "the SQL contains the control character U+{:04X}; remove it",
                    c as u32
                ),
            ));
        }
        if sql.trim().trim_matches(';').trim().is_empty() {
            return Err(Error::guard(
                GuardCode::Empty,
                "the SQL is empty; write one SELECT statement",
            ));
        }
        let mut statements = dialect::parse(sql).map_err(|e| {
            Error::guard(
                GuardCode::Parse,
                format!("the SQL does not parse as one Athena (Trino) query: {e}"),
            )
        })?;
        match statements.len() {
            0 => {
                return Err(Error::guard(
                    GuardCode::Empty,
                    "the SQL is empty; write one SELECT statement",
                ));
            }
            1 => {}
            n => {
                return Err(Error::guard(
                    GuardCode::MultipleStatements,
                    format!(
                        "found {n} statements; send exactly one SELECT statement, without anything after it"
                    ),
                ));
            }
        }
        let mut statement = statements.remove(0);
        let Statement::Query(query) = &mut statement else {
            return Err(Error::guard(
                statement_code(&statement),
                statement_reason(&statement),
            ));
        };

        let mut checker = Checker {
            guard: self,
            scopes: Vec::new(),
            tables: Vec::new(),
        };
        if let ControlFlow::Break(e) = query.visit(&mut checker) {
            return Err(e);
        }
        let tables = checker.tables;
        let (limit, limit_changed) = self.apply_limit(query)?;
        Ok(GuardedSql {
            sql: statement.to_string(),
            statement,
            tables,
            limit,
            limit_changed,
        })
    }

    /// Adds `LIMIT max_rows` when absent, lowers a larger one.
    fn apply_limit(&self, query: &mut Query) -> Result<(u64, bool)> {
        let max = self.config.max_rows.clamp(1, MAX_ROWS);
        if let Some(fetch) = query.fetch.take() {
            // FETCH FIRST n ROWS ONLY becomes a LIMIT, which both engines run.
            if fetch.percent || fetch.with_ties {
                return Err(Error::guard(
                    GuardCode::Limit,
                    "FETCH … PERCENT / WITH TIES is not supported; use LIMIT n",
                ));
            }
            if query.limit_clause.is_some() {
                return Err(Error::guard(
                    GuardCode::Limit,
                    "use either LIMIT or FETCH FIRST, not both",
                ));
            }
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: fetch.quantity,
                offset: None,
                limit_by: vec![],
            });
        }
        let current = match &query.limit_clause {
            None => None,
            Some(LimitClause::LimitOffset { limit: None, .. }) => None,
            Some(LimitClause::LimitOffset { limit: Some(e), .. }) => Some(limit_value(e)?),
            Some(LimitClause::OffsetCommaLimit { limit, .. }) => Some(limit_value(limit)?),
        };
        let new = current.map_or(max, |n| n.min(max));
        let changed = current != Some(new);
        let n = Expr::value(Value::Number(new.to_string(), false));
        query.limit_clause = Some(match query.limit_clause.take() {
            None => LimitClause::LimitOffset {
                limit: Some(n),
                offset: None,
                limit_by: vec![],
            },
            Some(LimitClause::LimitOffset {
                offset, limit_by, ..
            }) => LimitClause::LimitOffset {
                limit: Some(n),
                offset,
                limit_by,
            },
            Some(LimitClause::OffsetCommaLimit { offset, .. }) => LimitClause::LimitOffset {
                limit: Some(n),
                offset: Some(sqlparser::ast::Offset {
                    value: offset,
                    rows: sqlparser::ast::OffsetRows::None,
                }),
                limit_by: vec![],
            },
        });
        Ok((new, changed))
    }

    fn check_table(&self, name: &ObjectName, scopes: &[CteScope]) -> Result<String> {
        let mut parts = Vec::new();
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(id) => parts.push(id.value.to_ascii_lowercase()),
                ObjectNamePart::Function(_) => {
                    return Err(Error::guard(
                        GuardCode::Table,
                        format!("table name {name} is computed; name a table"),
                    ));
                }
            }
        }
        if let Some(last) = parts.last()
            && system_catalog_name(last)
        {
            return Err(Error::guard(
                GuardCode::Table,
                format!(
                    "{name} is the engine's system catalog, not part of the lake; query the lake's tables"
                ),
            ));
        }
        let known = match parts.as_slice() {
            [t] => cte_in_scope(scopes, t) || self.bare.contains(t),
            [db, t] => self.qualified.contains(&(db.clone(), t.clone())),
            [catalog, db, t] => {
                catalog == "awsdatacatalog" && self.qualified.contains(&(db.clone(), t.clone()))
            }
            _ => false,
        };
        if known {
            return Ok(name.to_string());
        }
        if let Some(u) = crate::schema::find_unavailable(&self.unavailable, &name.to_string()) {
            return Err(Error::guard(
                GuardCode::UnknownTable,
                format!("table {} is unavailable: {}", u.table, u.reason),
            ));
        }
        let names: Vec<&str> = self.all_names.iter().map(String::as_str).collect();
        let close = crate::schema::closest(parts.last().map_or("", String::as_str), &names, 3);
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", close.join(", "))
        };
        Err(Error::guard(
            GuardCode::UnknownTable,
            format!("{name} is not a table of this lake{hint}"),
        ))
    }
}

fn limit_value(e: &Expr) -> Result<u64> {
    if let Expr::Value(v) = e
        && let Value::Number(n, _) = &v.value
        && let Ok(n) = n.parse::<u64>()
    {
        return Ok(n);
    }
    Err(Error::guard(
        GuardCode::Limit,
        format!("LIMIT {e} is not a whole number; write LIMIT followed by a number"),
    ))
}

/// The engine's own catalog (DuckDB's and PostgreSQL-compatible system views, SQLite's, the information
/// schema): never a lake table, and no CTE may take such a name.
pub(crate) fn system_catalog_name(name: &str) -> bool {
    let n = name.trim_matches('"').to_ascii_lowercase();
    ["duckdb_", "pg_", "sqlite_", "pragma_", "information_schema"]
        .iter()
        .any(|p| n.starts_with(p))
        || n == "sqlite_master"
        || n == "sqlite_schema"
        || n == "temp"
        || n == "system"
}

/// The CTE names of one WITH clause and how many of them the query being visited can see: SQL scoping,
/// where a CTE is visible in its WITH's main query and in the later CTEs of the same WITH (a recursive one
/// also in itself), and nowhere outside that query.
struct CteScope {
    names: Vec<String>,
    /// The CTE definitions, by address: the visitor hands out references into the same tree, so a query
    /// being entered is recognized as the i-th CTE of this WITH.
    queries: Vec<*const Query>,
    recursive: bool,
    /// The owning query, to pop this scope when leaving it.
    owner: *const Query,
    /// Names `[..visible]` can be referenced now.
    visible: usize,
}

fn cte_in_scope(scopes: &[CteScope], name: &str) -> bool {
    scopes
        .iter()
        .any(|s| s.names[..s.visible].iter().any(|n| n == name))
}

struct Checker<'a> {
    guard: &'a Guard,
    /// WITH clauses enclosing the node being visited, innermost last.
    scopes: Vec<CteScope>,
    tables: Vec<String>,
}

impl Visitor for Checker<'_> {
    type Break = Error;

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<Error> {
        let ptr = q as *const Query;
        // Entering the i-th CTE of an enclosing WITH: it sees only the CTEs before it (and itself if
        // recursive).
        if let Some(scope) = self.scopes.last_mut()
            && let Some(i) = scope.queries.iter().position(|p| *p == ptr)
        {
            scope.visible = if scope.recursive { i + 1 } else { i };
        }
        if let Some(with) = &q.with {
            let names: Vec<String> = with
                .cte_tables
                .iter()
                .map(|c| c.alias.name.value.to_ascii_lowercase())
                .collect();
            if let Some(n) = names.iter().find(|n| system_catalog_name(n)) {
                return ControlFlow::Break(Error::guard(
                    GuardCode::Table,
                    format!(
                        "a CTE may not be named like the engine's system catalog ({n}); rename it"
                    ),
                ));
            }
            let count = names.len();
            self.scopes.push(CteScope {
                names,
                queries: with
                    .cte_tables
                    .iter()
                    .map(|c| &*c.query as *const Query)
                    .collect(),
                recursive: with.recursive,
                owner: ptr,
                visible: count,
            });
        }
        let bad = if !q.locks.is_empty() {
            Some("FOR UPDATE / FOR SHARE locks are not allowed in a read-only query")
        } else if q.for_clause.is_some() {
            Some("FOR XML / FOR JSON clauses are not supported")
        } else if q.settings.is_some() || q.format_clause.is_some() {
            Some("SETTINGS / FORMAT clauses are not allowed")
        } else if !q.pipe_operators.is_empty() {
            Some("pipe operators (|>) are not supported by Athena")
        } else {
            None
        };
        match bad {
            Some(reason) => ControlFlow::Break(Error::guard(GuardCode::Clause, reason)),
            None => check_set_expr(&q.body),
        }
    }

    fn pre_visit_select(&mut self, s: &sqlparser::ast::Select) -> ControlFlow<Error> {
        if s.into.is_some() {
            return ControlFlow::Break(Error::guard(
                GuardCode::Write,
                "SELECT … INTO creates a table; remove INTO, the query must only read",
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<Error> {
        let refuse = |code, reason: String| ControlFlow::Break(Error::guard(code, reason));
        match tf {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            } => refuse(
                GuardCode::TableFunction,
                format!("{name}(…) is a table function; query the lake's tables by name instead"),
            ),
            TableFactor::Table { name, .. } => match self.guard.check_table(name, &self.scopes) {
                Ok(t) => {
                    self.tables.push(t);
                    ControlFlow::Continue(())
                }
                Err(e) => ControlFlow::Break(e),
            },
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => ControlFlow::Continue(()),
            TableFactor::Function { name, .. } => refuse(
                GuardCode::TableFunction,
                format!("{name}(…) is a table function; query the lake's tables by name instead"),
            ),
            TableFactor::TableFunction { .. } => refuse(
                GuardCode::TableFunction,
                "TABLE(…) functions are not allowed; query the lake's tables".into(),
            ),
            other => refuse(
                GuardCode::Unsupported,
                format!(
                    "this FROM item is not supported by Athena: {}",
                    truncate(&other.to_string(), 80)
                ),
            ),
        }
    }

    fn post_visit_query(&mut self, q: &Query) -> ControlFlow<Error> {
        let ptr = q as *const Query;
        if self.scopes.last().is_some_and(|s| s.owner == ptr) {
            self.scopes.pop();
        }
        // Leaving a CTE's definition: the rest of its WITH's query sees every CTE again.
        if let Some(scope) = self.scopes.last_mut()
            && scope.queries.contains(&ptr)
        {
            scope.visible = scope.names.len();
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<Error> {
        if let Expr::Function(f) = e {
            let name = f.name.0.last().map(|p| p.to_string()).unwrap_or_default();
            let name = name.trim_matches('"');
            if blocked_function(name) {
                return ControlFlow::Break(Error::guard(
                    GuardCode::Function,
                    format!(
                        "the function {name}() reads files, settings or the environment and is not allowed"
                    ),
                ));
            }
            if f.name.0.len() > 1 {
                return ControlFlow::Break(Error::guard(
                    GuardCode::Function,
                    format!(
                        "qualified function name {} is not allowed; call {name}() directly",
                        f.name
                    ),
                ));
            }
        }
        ControlFlow::Continue(())
    }
}

fn check_set_expr(body: &SetExpr) -> ControlFlow<Error> {
    match body {
        SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => ControlFlow::Continue(()),
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)
        }
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
            ControlFlow::Break(Error::guard(
                GuardCode::Write,
                "the query contains a data-changing statement; only SELECT is allowed",
            ))
        }
        SetExpr::Table(_) => ControlFlow::Break(Error::guard(
            GuardCode::Unsupported,
            "TABLE t is not supported; write SELECT * FROM t",
        )),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn statement_code(s: &Statement) -> GuardCode {
    match s {
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_) => GuardCode::Write,
        Statement::Copy { .. } | Statement::Unload { .. } | Statement::CopyIntoSnowflake { .. } => {
            GuardCode::FileAccess
        }
        Statement::AttachDatabase { .. }
        | Statement::AttachDuckDBDatabase { .. }
        | Statement::DetachDuckDBDatabase { .. } => GuardCode::Attach,
        Statement::Install { .. } | Statement::Load { .. } => GuardCode::Extension,
        Statement::Set(_) | Statement::Pragma { .. } => GuardCode::Settings,
        _ => GuardCode::NotAQuery,
    }
}

fn statement_reason(s: &Statement) -> String {
    let what = match statement_code(s) {
        GuardCode::Write => "writes data",
        GuardCode::FileAccess => "reads or writes files",
        GuardCode::Attach => "attaches another database",
        GuardCode::Extension => "installs or loads extensions",
        GuardCode::Settings => "changes engine settings",
        _ => "is not a query",
    };
    let first = s.to_string();
    let keyword = first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "the statement `{keyword} …` {what}; only a single read-only SELECT (or WITH … SELECT) query is allowed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DataType, Field, TableInfo};

    fn guard(max_rows: u64) -> Guard {
        let t = TableInfo::new(
            "amazon_security_lake_glue_db_us_east_1",
            "amazon_security_lake_table_us_east_1_vpc_flow_2_0",
            vec![Field::new("time_dt", DataType::Timestamp)],
        );
        Guard::new(
            &Catalog::new(vec![t]),
            GuardConfig {
                max_rows,
                ..Default::default()
            },
        )
    }

    const T: &str =
        "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0";

    #[test]
    fn adds_and_caps_limits() {
        let g = guard(100);
        let q = g.check(&format!("SELECT * FROM {T}")).unwrap();
        assert!(q.sql.ends_with("LIMIT 100"), "{}", q.sql);
        assert!(q.limit_changed);
        let q = g.check(&format!("SELECT * FROM {T} LIMIT 5000")).unwrap();
        assert!(q.sql.ends_with("LIMIT 100"));
        let q = g.check(&format!("SELECT * FROM {T} LIMIT 7;")).unwrap();
        assert!(q.sql.ends_with("LIMIT 7"));
        assert!(!q.limit_changed);
        let q = g
            .check(&format!("SELECT * FROM {T} FETCH FIRST 5 ROWS ONLY"))
            .unwrap();
        assert!(q.sql.ends_with("LIMIT 5"), "{}", q.sql);
    }

    #[test]
    fn accepts_ctes_unnest_and_quoted_names() {
        let g = guard(10);
        for sql in [
            format!("WITH x AS (SELECT time_dt FROM {T}) SELECT * FROM x"),
            "SELECT * FROM \"amazon_security_lake_glue_db_us_east_1\".\"amazon_security_lake_table_us_east_1_vpc_flow_2_0\"".to_string(),
            "SELECT * FROM amazon_security_lake_table_us_east_1_vpc_flow_2_0".to_string(),
            format!("SELECT r FROM {T} CROSS JOIN UNNEST(ARRAY[1,2]) AS t(r)"),
            format!("SELECT 1 UNION ALL SELECT count(*) FROM {T}"),
        ] {
            g.check(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn rejects_with_reasons() {
        let g = guard(10);
        let cases = [
            ("DROP TABLE x", "not_a_query"),
            ("SELECT 1; SELECT 2", "multiple_statements"),
            ("SELECT * FROM read_csv('/etc/passwd')", "table_function"),
            ("SELECT * FROM other_table", "unknown_table"),
            ("COPY (SELECT 1) TO '/tmp/x'", "file_access"),
            ("", "empty"),
            ("SELECT getenv('HOME')", "function"),
        ];
        for (sql, code) in cases {
            match g.check(sql) {
                Err(Error::Guard { code: c, reason }) => {
                    assert_eq!(c.as_str(), code, "{sql}: {reason}")
                }
                other => panic!("{sql}: {other:?}"),
            }
        }
    }
}
