//! Static validation before running: every table and nested column path a query names must exist in the
//! catalog. Unknown names give a precise, repairable message with the closest valid names, without an engine
//! round trip. Lenient by design: a name that could come from an alias, a CTE, a derived table, an UNNEST or
//! a lambda is left to the engine, so a valid query is never rejected here.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, Query, SelectItem, Statement, TableFactor, Visit, Visitor};

use crate::error::{Error, Result, UnknownName};
use crate::schema::{Catalog, Field, TableInfo, closest, split_qualified};

/// Checks the column references of a guarded statement against `catalog`.
pub fn validate(statement: &Statement, catalog: &Catalog) -> Result<()> {
    let mut scope = Scope::default();
    let _ = statement.visit(&mut Collector {
        catalog,
        scope: &mut scope,
    });
    if scope.tables.is_empty() {
        return Ok(());
    }
    let mut checker = Checker {
        scope: &scope,
        error: None,
    };
    let _ = statement.visit(&mut checker);
    match checker.error {
        Some(e) => Err(Error::Validation(e)),
        None => Ok(()),
    }
}

#[derive(Default)]
struct Scope<'c> {
    /// Catalog tables in the query, by lower-cased alias and by name.
    qualifiers: HashMap<String, &'c TableInfo>,
    tables: Vec<&'c TableInfo>,
    /// Names whose columns we do not know: CTEs, derived tables, UNNEST aliases, lambda parameters,
    /// select-item aliases, CTE and UNNEST column aliases.
    opaque: HashSet<String>,
}

struct Collector<'a, 'c> {
    catalog: &'c Catalog,
    scope: &'a mut Scope<'c>,
}

fn lc(i: &Ident) -> String {
    i.value.to_ascii_lowercase()
}

impl Visitor for Collector<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.scope.opaque.insert(lc(&cte.alias.name));
                for c in &cte.alias.columns {
                    self.scope.opaque.insert(lc(&c.name));
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        let alias = match tf {
            TableFactor::Table { name, alias, .. } => {
                let written = name.to_string();
                match self.catalog.find(&written) {
                    Some(t) if !self.scope.opaque.contains(&written.to_ascii_lowercase()) => {
                        self.scope.tables.push(t);
                        self.scope.qualifiers.insert(t.name.to_ascii_lowercase(), t);
                        if let Some(a) = alias {
                            self.scope.qualifiers.insert(lc(&a.name), t);
                        }
                        None
                    }
                    _ => alias.as_ref(),
                }
            }
            TableFactor::Derived { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::NestedJoin { alias, .. } => alias.as_ref(),
            _ => None,
        };
        if let Some(a) = alias {
            self.scope.opaque.insert(lc(&a.name));
            for c in &a.columns {
                self.scope.opaque.insert(lc(&c.name));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &sqlparser::ast::Select) -> ControlFlow<()> {
        for item in &s.projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => {
                    self.scope.opaque.insert(lc(alias));
                }
                // Unaliased `src_endpoint.ip` is a column named `ip` to an outer query.
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                    if let Some(last) = parts.last() {
                        self.scope.opaque.insert(lc(last));
                    }
                }
                _ => {}
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Lambda(l) = e {
            for p in l.params.iter() {
                self.scope.opaque.insert(lc(&p.name));
            }
        }
        ControlFlow::Continue(())
    }
}

struct Checker<'a, 'c> {
    scope: &'a Scope<'c>,
    error: Option<UnknownName>,
}

/// Words Athena accepts where an identifier could stand.
const KEYWORDS: [&str; 8] = [
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "true",
    "false",
    "null",
];

impl Visitor for Checker<'_, '_> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        let parts: Vec<String> = match e {
            Expr::Identifier(i) => vec![i.value.clone()],
            Expr::CompoundIdentifier(ids) => ids.iter().map(|i| i.value.clone()).collect(),
            _ => return ControlFlow::Continue(()),
        };
        match self.check(&parts) {
            Ok(()) => ControlFlow::Continue(()),
            Err(msg) => {
                self.error = Some(msg);
                ControlFlow::Break(())
            }
        }
    }
}

impl Checker<'_, '_> {
    fn check(&self, parts: &[String]) -> std::result::Result<(), UnknownName> {
        let first = parts[0].to_ascii_lowercase();
        if self.scope.opaque.contains(&first) || KEYWORDS.contains(&first.as_str()) {
            return Ok(());
        }
        // `t.col…` / `table.col…` / `db.table.col…`
        if parts.len() > 1 {
            if let Some(t) = self.scope.qualifiers.get(&first) {
                return check_path(t, &parts[1..]);
            }
            if parts.len() > 2
                && self
                    .scope
                    .qualifiers
                    .contains_key(&parts[1].to_ascii_lowercase())
            {
                let t = self.scope.qualifiers[&parts[1].to_ascii_lowercase()];
                if t.database.eq_ignore_ascii_case(&first) {
                    return check_path(t, &parts[2..]);
                }
            }
        }
        let with_root: Vec<&TableInfo> = self
            .scope
            .tables
            .iter()
            .copied()
            .filter(|t| {
                t.columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&first))
            })
            .collect();
        if with_root.is_empty() {
            let mut names: Vec<&str> = self
                .scope
                .tables
                .iter()
                .flat_map(|t| t.columns.iter().map(|c| c.name.as_str()))
                .collect();
            names.sort_unstable();
            names.dedup();
            let candidates = closest(&first, &names, 3)
                .into_iter()
                .map(String::from)
                .collect();
            return Err(UnknownName {
                name: parts.join("."),
                tables: self.scope.tables.iter().map(|t| t.name.clone()).collect(),
                candidates,
                parent: None,
            });
        }
        let mut first_err = None;
        for t in with_root {
            match check_path(t, parts) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| UnknownName {
            name: parts.join("."),
            tables: Vec::new(),
            candidates: Vec::new(),
            parent: None,
        }))
    }
}

/// Walks `path` through `table`'s nested fields; at the first missing step, names the valid children.
fn check_path(table: &TableInfo, path: &[String]) -> std::result::Result<(), UnknownName> {
    let mut fields: &[Field] = &table.columns;
    for (i, part) in path.iter().enumerate() {
        match fields.iter().find(|f| f.name.eq_ignore_ascii_case(part)) {
            Some(f) => match f.data_type.child_fields() {
                Some(children) => fields = children,
                // Past a scalar (or a map/array of scalars) the rest is subscripting the engine checks.
                None => return Ok(()),
            },
            None => {
                let prefix = path[..i].join(".");
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                let candidates = closest(part, &names, 3)
                    .into_iter()
                    .map(|c| {
                        if prefix.is_empty() {
                            c.to_string()
                        } else {
                            format!("{prefix}.{c}")
                        }
                    })
                    .collect();
                let parent = (!prefix.is_empty()).then(|| {
                    let fields = names.iter().take(40).map(|n| n.to_string()).collect();
                    (prefix.clone(), fields)
                });
                return Err(UnknownName {
                    name: path.join("."),
                    tables: vec![table.name.clone()],
                    candidates,
                    parent,
                });
            }
        }
    }
    Ok(())
}

/// The catalog tables a statement reads (for prompts and audit), by qualified name.
pub fn referenced_tables<'c>(statement: &Statement, catalog: &'c Catalog) -> Vec<&'c TableInfo> {
    let mut scope = Scope::default();
    let _ = statement.visit(&mut Collector {
        catalog,
        scope: &mut scope,
    });
    let mut out: Vec<&TableInfo> = Vec::new();
    for t in scope.tables {
        if !out.iter().any(|o| std::ptr::eq(*o, t)) {
            out.push(t);
        }
    }
    out
}

#[allow(dead_code)]
fn unquoted(name: &str) -> String {
    split_qualified(name).join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::security_lake::{SecurityLakeTable, Source, SourceVersion};
    use crate::schema::{TableInfo, security_lake_columns};
    use crate::sql::dialect;

    fn catalog() -> Catalog {
        let mut tables = Vec::new();
        for s in [Source::CloudTrailMgmt, Source::VpcFlow] {
            let sl = SecurityLakeTable::new(s, SourceVersion::V2, "us-east-1");
            let cols = security_lake_columns(s, SourceVersion::V2).unwrap();
            let mut t = TableInfo::new(sl.database(), sl.table(), cols);
            t.security_lake = Some(sl);
            tables.push(t);
        }
        Catalog::new(tables)
    }

    fn check(sql: &str) -> Result<()> {
        let stmts = dialect::parse(sql).unwrap();
        validate(&stmts[0], &catalog())
    }

    const CT: &str = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0";
    const FLOW: &str =
        "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0";

    #[test]
    fn valid_queries_pass() {
        let ok = [
            format!(
                "SELECT actor.user.name, count(*) AS n FROM {CT} WHERE api.operation = 'ConsoleLogin' GROUP BY 1 ORDER BY n DESC"
            ),
            format!(
                "SELECT c.src_endpoint.ip FROM {CT} c WHERE c.time_dt > current_timestamp - INTERVAL '1' DAY"
            ),
            format!("SELECT ip FROM (SELECT src_endpoint.ip FROM {FLOW}) GROUP BY ip"),
            format!("WITH x AS (SELECT src_endpoint.ip AS addr FROM {FLOW}) SELECT addr FROM x"),
            format!("SELECT r.uid FROM {CT} CROSS JOIN UNNEST(resources) AS t(r)"),
            format!(
                "SELECT * FROM {CT} WHERE any_match(resources, e -> e.type = 'AWS::S3::Bucket')"
            ),
            format!(
                "SELECT f.dst_endpoint.port FROM {FLOW} f JOIN {CT} c ON f.src_endpoint.ip = c.src_endpoint.ip"
            ),
            format!("SELECT time_dt FROM {CT} WHERE unmapped['x'] = 'y'"),
            format!("SELECT {CT}.time_dt FROM {CT}"),
            "SELECT 1".to_string(),
        ];
        for sql in ok {
            check(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn unknown_names_are_precise() {
        let e = check(&format!("SELECT actor.user.nme FROM {CT}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"actor.user.nme\""), "{e}");
        assert!(e.contains("did you mean actor.user.name"), "{e}");
        assert!(e.contains("Fields of actor.user:"), "{e}");

        let e = check(&format!("SELECT sourceipaddress FROM {CT}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"sourceipaddress\" does not exist"), "{e}");

        let e = check(&format!("SELECT c.src_endpoint.addr FROM {CT} c"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Fields of src_endpoint: ") && e.contains(" ip,"),
            "{e}"
        );

        let e = check(&format!("SELECT eventday FROM {CT}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"eventday\" does not exist"), "{e}");

        let e = check(&format!("SELECT traffic.byte FROM {FLOW}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("traffic.bytes"), "{e}");
    }
}
