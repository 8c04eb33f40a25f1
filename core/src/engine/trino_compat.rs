//! Runs Athena (Trino) SQL on DuckDB: an AST rewrite of the functions and forms where the two differ, plus
//! the pinned clock (`current_timestamp`, `now()`, `current_date` become the as-of instant) and the engine-side
//! row cap. Every rewrite is checked against Trino's documented result in `core/tests/trino_compat.rs`.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, LimitClause, Query, Statement,
    TableFactor, Value, VisitMut, VisitorMut,
};

use crate::error::{Error, GuardCode, Result};
use crate::sql::dialect;

/// Rewrites one Athena statement into DuckDB SQL.
///
/// `as_of` pins the clock; `max_rows` caps the outermost LIMIT at `max_rows + 1` so the caller can tell a
/// truncated result from a complete one.
pub fn to_duckdb(sql: &str, as_of: Option<DateTime<Utc>>, max_rows: Option<u64>) -> Result<String> {
    to_duckdb_for(sql, as_of, max_rows, &[])
}

/// [`to_duckdb`] for a lake whose map columns are named `map_columns` (lower case; the last part of each
/// path): Trino's `cardinality` counts arrays and maps alike, DuckDB has `len` for one and `cardinality`
/// for the other.
pub fn to_duckdb_for(
    sql: &str,
    as_of: Option<DateTime<Utc>>,
    max_rows: Option<u64>,
    map_columns: &[String],
) -> Result<String> {
    let mut statements = dialect::parse(sql).map_err(|e| Error::Query {
        engine: "duckdb".into(),
        kind: crate::error::QueryErrorKind::Syntax,
        message: format!("Parser Error: {e}"),
    })?;
    if statements.len() != 1 {
        return Err(Error::guard(
            GuardCode::MultipleStatements,
            "exactly one statement is run at a time",
        ));
    }
    let mut stmt = statements.remove(0);
    let mut rw = Rewriter {
        as_of,
        error: None,
        map_columns,
    };
    let _ = stmt.visit(&mut rw);
    if let Some(e) = rw.error {
        return Err(e);
    }
    if let (Some(max), Statement::Query(q)) = (max_rows, &mut stmt) {
        cap_limit(q, max);
    }
    Ok(stmt.to_string())
}

fn cap_limit(q: &mut Query, max: u64) {
    let probe = max.saturating_add(1);
    let n = || Expr::value(Value::Number(probe.to_string(), false));
    match &mut q.limit_clause {
        None => {
            q.limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(n()),
                offset: None,
                limit_by: vec![],
            })
        }
        Some(LimitClause::LimitOffset { limit, .. }) => {
            let current = limit.as_ref().and_then(number);
            if current.is_none_or(|c| c >= max) {
                *limit = Some(n());
            }
        }
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => {
            if number(limit).is_none_or(|c| c >= max) {
                *limit = n();
            }
        }
    }
}

fn number(e: &Expr) -> Option<u64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

struct Rewriter<'a> {
    as_of: Option<DateTime<Utc>>,
    error: Option<Error>,
    map_columns: &'a [String],
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn post_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
        // Athena's catalog prefix: `awsdatacatalog.db.t` is `db.t` here (the guard accepts both).
        if let TableFactor::Table { name, .. } = tf
            && name.0.len() == 3
            && name.0[0]
                .as_ident()
                .is_some_and(|i| i.value.eq_ignore_ascii_case("awsdatacatalog"))
        {
            name.0.remove(0);
        }
        // Trino expands an array of rows into one column per field; DuckDB's UNNEST gives one struct column.
        // `UNNEST(a) AS t(x, y)` becomes `LATERAL (SELECT UNNEST(a, max_depth := 2)) AS t(x, y)`.
        if let TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            with_ordinality: false,
            with_offset: false,
            ..
        } = tf
        {
            if array_exprs.len() == 1 && alias.columns.len() >= 2 {
                let sub = format!("(SELECT UNNEST({}, max_depth := 2))", array_exprs[0]);
                match parse_duckdb_query(&sub) {
                    Ok(subquery) => {
                        *tf = TableFactor::Derived {
                            lateral: true,
                            subquery,
                            alias: Some(alias.clone()),
                            sample: None,
                        }
                    }
                    Err(e) => self.error = Some(e),
                }
            } else if array_exprs.len() > 1 {
                // UNNEST(a, b) zips arrays: one column each.
                let cols: Vec<String> =
                    array_exprs.iter().map(|e| format!("UNNEST({e})")).collect();
                match parse_duckdb_query(&format!("(SELECT {})", cols.join(", "))) {
                    Ok(subquery) => {
                        *tf = TableFactor::Derived {
                            lateral: true,
                            subquery,
                            alias: Some(alias.clone()),
                            sample: None,
                        }
                    }
                    Err(e) => self.error = Some(e),
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match self.rewrite(expr) {
            Ok(Some(new)) => *expr = new,
            Ok(None) => {}
            Err(e) => {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn parse_duckdb_query(sql: &str) -> Result<Box<Query>> {
    let d = sqlparser::dialect::DuckDbDialect {};
    let mut p = sqlparser::parser::Parser::new(&d)
        .try_with_sql(sql)
        .map_err(|e| Error::Internal(format!("rewrite produced bad SQL {sql:?}: {e}")))?;
    match p.parse_table_factor() {
        Ok(TableFactor::Derived { subquery, .. }) => Ok(subquery),
        other => Err(Error::Internal(format!(
            "rewrite produced {other:?} for {sql:?}"
        ))),
    }
}

fn unsupported(msg: String) -> Error {
    Error::Query {
        engine: "duckdb".into(),
        kind: crate::error::QueryErrorKind::Binder,
        message: msg,
    }
}

impl Rewriter<'_> {
    fn rewrite(&self, expr: &Expr) -> Result<Option<Expr>> {
        // Trino's IPADDRESS and IPPREFIX types: checked, canonical text here (ip_macros.sql).
        let ip_type =
            |t: &sqlparser::ast::DataType| match t.to_string().to_ascii_uppercase().as_str() {
                "IPADDRESS" => Some("asklake_ipaddress"),
                "IPPREFIX" => Some("asklake_ipprefix"),
                _ => None,
            };
        if let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
            && let Some(f) = ip_type(data_type)
        {
            return parse(&format!("{f}({inner})")).map(Some);
        }
        if let Expr::TypedString(ts) = expr
            && let Some(f) = ip_type(&ts.data_type)
        {
            return parse(&format!("{f}({})", ts.value)).map(Some);
        }
        let Expr::Function(f) = expr else {
            if let Expr::TypedString(ts) = expr {
                // `TIMESTAMP '2024-01-01 00:00:00 UTC'`: DuckDB's TIMESTAMP has no zone; the lake is UTC.
                if let Value::SingleQuotedString(s) = &ts.value.value {
                    let trimmed = s.trim_end_matches(" UTC").trim_end_matches('Z');
                    if trimmed.len() != s.len()
                        && ts.data_type.to_string().eq_ignore_ascii_case("timestamp")
                    {
                        return Ok(Some(parse(&format!(
                            "TIMESTAMP '{}'",
                            trimmed.replace('T', " ")
                        ))?));
                    }
                }
            }
            return Ok(None);
        };
        if f.name.0.len() != 1 {
            return Ok(None);
        }
        let name = f.name.to_string().trim_matches('"').to_ascii_lowercase();
        let args: Vec<String> = match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e.to_string(),
                    other => other.to_string(),
                })
                .collect(),
            _ => vec![],
        };
        let literal = |i: usize| -> Option<String> {
            let FunctionArguments::List(list) = &f.args else {
                return None;
            };
            match list.args.get(i)? {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                    Value::SingleQuotedString(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            }
        };
        let a = |i: usize| args.get(i).cloned().unwrap_or_default();
        let has_parens = !matches!(f.args, FunctionArguments::None);

        // Trino's IP functions. An argument that is a cast the rewrite made (`asklake_ipprefix(x)`) is
        // passed as its `x`: the macros repeat their arguments, so nested macros grow exponentially. A
        // literal prefix is worked out here and the test becomes a range on the address's number.
        let inner = |i: usize| {
            let t = a(i);
            unwrap_call(&t, "asklake_ipprefix")
                .or_else(|| unwrap_call(&t, "asklake_ipaddress"))
                .unwrap_or(t)
        };
        let lit = |i: usize| {
            literal(i).or_else(|| {
                let t = inner(i);
                t.strip_prefix('\'')?
                    .strip_suffix('\'')
                    .filter(|v| !v.contains('\''))
                    .map(str::to_string)
            })
        };
        let is_ip_call = |i: usize| {
            a(i).starts_with("asklake_ipprefix(") || a(i).starts_with("asklake_ipaddress(")
        };
        let range = |address: &str, (lo, hi): (u128, u128)| {
            format!(
                "(asklake_ip_num({address}) BETWEEN CAST('{lo}' AS UHUGEINT) AND CAST('{hi}' AS UHUGEINT))"
            )
        };
        let ip_text = match name.as_str() {
            // contains(prefix, address) is the IP test when either side is an IP value (a literal prefix
            // such as '10.0.0.0/8' is cast implicitly); otherwise it is the array function.
            "contains" | "is_subnet_of" if args.len() == 2 => {
                let bounds = lit(0).as_deref().and_then(prefix_bounds);
                let second = lit(1).as_deref().and_then(prefix_bounds);
                match (bounds, second) {
                    (Some(p), Some(q)) if name == "is_subnet_of" => {
                        Some(format!("{}", q.0 >= p.0 && q.1 <= p.1).to_uppercase())
                    }
                    (Some(p), _) => Some(range(&inner(1), p)),
                    _ if name == "is_subnet_of" => {
                        Some(format!("asklake_is_subnet_of({}, {})", inner(0), inner(1)))
                    }
                    _ if is_ip_call(0) || is_ip_call(1) => {
                        Some(format!("asklake_ip_in({}, {})", inner(0), inner(1)))
                    }
                    _ => None,
                }
            }
            "ip_prefix" if args.len() == 2 => {
                Some(format!("asklake_ip_prefix({}, {})", inner(0), a(1)))
            }
            "ip_subnet_min" | "ip_subnet_max" if args.len() == 1 => {
                match lit(0).as_deref().and_then(prefix_bounds) {
                    Some((lo, hi)) if lit(0).is_some_and(|p| !p.contains(':')) => {
                        let n = if name == "ip_subnet_min" { lo } else { hi };
                        // IPv4: the low 32 bits.
                        Some(format!(
                            "'{}'",
                            std::net::Ipv4Addr::from((n & 0xffff_ffff) as u32)
                        ))
                    }
                    _ => Some(format!("asklake_{name}({})", inner(0))),
                }
            }
            _ => None,
        };
        if let Some(t) = ip_text {
            return parse(&t).map(Some);
        }

        // cardinality of a map stays DuckDB's cardinality; of an array it is len.
        if name == "cardinality" && args.len() == 1 {
            let arg = a(0);
            let leaf = arg
                .rsplit('.')
                .next()
                .unwrap_or(&arg)
                .trim_matches('"')
                .to_ascii_lowercase();
            let is_map =
                self.map_columns.contains(&leaf) || arg.to_ascii_uppercase().starts_with("MAP");
            let f = if is_map { "cardinality" } else { "len" };
            return parse(&format!("{f}({arg})")).map(Some);
        }

        // Plain renames: same arguments, same meaning.
        let renamed = match name.as_str() {
            "approx_distinct" => Some("approx_count_distinct"),
            "approx_percentile" => Some("approx_quantile"),
            "arbitrary" => Some("any_value"),
            "regexp_like" => Some("regexp_matches"),
            "day_of_week" | "dow" => Some("isodow"),
            "day_of_month" => Some("dayofmonth"),
            "day_of_year" | "doy" => Some("dayofyear"),
            "week_of_year" => Some("week"),
            "year_of_week" | "yow" => Some("isoyear"),
            "to_unixtime" => Some("epoch"),
            "date_diff" if args.len() == 3 => Some("date_sub"),
            "array_join" => Some("array_to_string"),
            "array_distinct" => Some("list_distinct"),
            "array_max" => Some("list_max"),
            "array_min" => Some("list_min"),
            "array_sort" => Some("list_sort"),
            "array_position" => Some("list_position"),
            "contains" => Some("list_contains"),
            "transform" => Some("list_transform"),
            "filter" if args.len() == 2 => Some("list_filter"),
            "is_nan" => Some("isnan"),
            "last_day_of_month" => Some("last_day"),
            _ => None,
        };
        if let Some(new) = renamed {
            let mut f2 = f.clone();
            f2.name = sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(new)]);
            return Ok(Some(Expr::Function(f2)));
        }

        let text = match name.as_str() {
            "current_timestamp" | "now" | "localtimestamp"
                if self.as_of.is_some() && args.is_empty() =>
            {
                let t = self.as_of.unwrap_or_default();
                format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S%.6f"))
            }
            "current_date" if self.as_of.is_some() && args.is_empty() && !has_parens => {
                format!(
                    "DATE '{}'",
                    self.as_of.unwrap_or_default().format("%Y-%m-%d")
                )
            }
            "date_add" if args.len() == 3 => {
                let unit = literal(0).ok_or_else(|| {
                    unsupported("date_add(unit, value, timestamp) needs the unit as a string literal such as 'day'".into())
                })?;
                let n = format!("CAST({} AS BIGINT)", a(1));
                let interval = match unit.to_ascii_lowercase().as_str() {
                    "millisecond" => format!("to_milliseconds({n})"),
                    "second" => format!("to_seconds({n})"),
                    "minute" => format!("to_minutes({n})"),
                    "hour" => format!("to_hours({n})"),
                    "day" => format!("to_days(CAST({n} AS INTEGER))"),
                    "week" => format!("to_weeks(CAST({n} AS INTEGER))"),
                    "month" => format!("to_months(CAST({n} AS INTEGER))"),
                    "quarter" => format!("to_months(CAST(3 * {n} AS INTEGER))"),
                    "year" => format!("to_years(CAST({n} AS INTEGER))"),
                    other => return Err(unsupported(format!("date_add: unknown unit '{other}'"))),
                };
                format!("({} + {interval})", a(2))
            }
            "date_format" if args.len() == 2 => {
                let fmt = literal(1).ok_or_else(|| {
                    unsupported("date_format needs a literal format string".into())
                })?;
                format!("strftime({}, '{}')", a(0), escape(&mysql_to_strftime(&fmt)))
            }
            "date_parse" if args.len() == 2 => {
                let fmt = literal(1).ok_or_else(|| {
                    unsupported("date_parse needs a literal format string".into())
                })?;
                format!("strptime({}, '{}')", a(0), escape(&mysql_to_strftime(&fmt)))
            }
            "format_datetime" if args.len() == 2 => {
                let fmt = literal(1).ok_or_else(|| {
                    unsupported("format_datetime needs a literal format string".into())
                })?;
                format!("strftime({}, '{}')", a(0), escape(&joda_to_strftime(&fmt)))
            }
            "parse_datetime" if args.len() == 2 => {
                let fmt = literal(1).ok_or_else(|| {
                    unsupported("parse_datetime needs a literal format string".into())
                })?;
                format!("strptime({}, '{}')", a(0), escape(&joda_to_strftime(&fmt)))
            }
            "from_unixtime" if args.len() == 1 => {
                format!(
                    "make_timestamp(CAST(CAST({} AS DOUBLE) * 1000000 AS BIGINT))",
                    a(0)
                )
            }
            "from_iso8601_timestamp" if args.len() == 1 => {
                format!(
                    "CAST(CAST({} AS TIMESTAMP WITH TIME ZONE) AS TIMESTAMP)",
                    a(0)
                )
            }
            "from_iso8601_date" if args.len() == 1 => format!("CAST({} AS DATE)", a(0)),
            "to_iso8601" if args.len() == 1 => {
                format!("strftime({}, '%Y-%m-%dT%H:%M:%S.%gZ')", a(0))
            }
            "date" if args.len() == 1 => format!("CAST({} AS DATE)", a(0)),
            "json_extract_scalar" if args.len() == 2 => format!(
                "CASE WHEN json_type({j}, {p}) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string({j}, {p}) END",
                j = a(0),
                p = a(1)
            ),
            "json_format" if args.len() == 1 => format!("CAST({} AS VARCHAR)", a(0)),
            "json_parse" if args.len() == 1 => format!("CAST({} AS JSON)", a(0)),
            "regexp_extract" if args.len() == 2 || args.len() == 3 => {
                let group = if args.len() == 3 { a(2) } else { "0".into() };
                // Trino returns NULL when nothing matches, DuckDB an empty string.
                format!(
                    "CASE WHEN regexp_matches({s}, {p}) THEN regexp_extract({s}, {p}, {group}) END",
                    s = a(0),
                    p = a(1)
                )
            }
            "element_at" if args.len() == 2 => format!("({})[{}]", a(0), a(1)),
            "any_match" if args.len() == 2 => {
                format!(
                    "coalesce(list_bool_or(list_transform({}, {})), false)",
                    a(0),
                    a(1)
                )
            }
            "all_match" if args.len() == 2 => {
                format!(
                    "coalesce(list_bool_and(list_transform({}, {})), true)",
                    a(0),
                    a(1)
                )
            }
            "none_match" if args.len() == 2 => {
                format!(
                    "NOT coalesce(list_bool_or(list_transform({}, {})), false)",
                    a(0),
                    a(1)
                )
            }
            "url_extract_host" if args.len() == 1 => {
                format!(
                    "CASE WHEN regexp_matches({u}, '^[A-Za-z][A-Za-z0-9+.-]*://[^/:?#]+') THEN regexp_extract({u}, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)', 1) END",
                    u = a(0)
                )
            }
            _ => return Ok(None),
        };
        parse(&text).map(Some)
    }
}

/// `inner` of `name(inner)` (a call a rewrite made, with one argument).
fn unwrap_call(text: &str, name: &str) -> Option<String> {
    text.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::to_string)
}

/// The first and last address of an IP prefix (`10.0.0.0/8`, `2001:db8::/32`) as 128-bit numbers, IPv4 mapped
/// to `::ffff:0:0/96` as Trino maps it (ip_macros.sql numbers addresses the same way).
fn prefix_bounds(prefix: &str) -> Option<(u128, u128)> {
    let (ip, bits) = prefix.trim().split_once('/')?;
    let bits: u32 = bits.parse().ok()?;
    let (n, bits) = match ip.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) if bits <= 32 => {
            (0xffff_0000_0000u128 | u128::from(u32::from(v4)), bits + 96)
        }
        std::net::IpAddr::V6(v6) if bits <= 128 => (u128::from(v6), bits),
        _ => return None,
    };
    let host = u128::MAX.checked_shr(bits).unwrap_or(0);
    Some((n & !host, n | host))
}

fn parse(sql: &str) -> Result<Expr> {
    dialect::parse_expr(sql)
        .map_err(|e| Error::Internal(format!("rewrite produced bad SQL {sql:?}: {e}")))
}

fn escape(s: &str) -> String {
    s.replace('\'', "''")
}

/// MySQL `date_format` specifiers (Trino's `date_format`, `date_parse`) to strftime.
pub fn mysql_to_strftime(fmt: &str) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            out.push('%');
            break;
        };
        out.push_str(match spec {
            'a' => "%a",
            'b' => "%b",
            'c' => "%-m",
            'D' | 'e' => "%-d",
            'd' => "%d",
            'f' => "%f",
            'H' => "%H",
            'h' | 'I' => "%I",
            'i' => "%M",
            'j' => "%j",
            'k' => "%-H",
            'l' => "%-I",
            'M' => "%B",
            'm' => "%m",
            'p' => "%p",
            'r' => "%I:%M:%S %p",
            'S' | 's' => "%S",
            'T' => "%H:%M:%S",
            'U' => "%U",
            'u' => "%W",
            'V' | 'v' => "%V",
            'W' => "%A",
            'w' => "%w",
            'X' | 'x' => "%G",
            'Y' => "%Y",
            'y' => "%y",
            '%' => "%%",
            other => {
                out.push(other);
                continue;
            }
        });
    }
    out
}

/// Joda-Time patterns (Trino's `format_datetime`, `parse_datetime`) to strftime.
pub fn joda_to_strftime(fmt: &str) -> String {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal text; '' is a quote.
            let mut j = i + 1;
            if j < chars.len() && chars[j] == '\'' {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                if chars[j] == '%' {
                    out.push('%');
                }
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if c == '%' {
                out.push('%');
            }
            out.push(c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'Y' | 'x', 2) => "%y".to_string(),
            ('y' | 'Y' | 'x', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', 1..=3) => "%g".to_string(),
            ('S', _) => "%f".to_string(),
            ('a', _) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('D', _) => "%j".to_string(),
            ('Z', _) => "%z".to_string(),
            ('z', _) => "%Z".to_string(),
            ('w', _) => "%V".to_string(),
            (other, n) => std::iter::repeat_n(other, n).collect(),
        };
        out.push_str(&spec);
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_formats() {
        assert_eq!(mysql_to_strftime("%Y-%m-%d %H:%i:%s"), "%Y-%m-%d %H:%M:%S");
        assert_eq!(
            joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS"),
            "%Y-%m-%dT%H:%M:%S.%g"
        );
        assert_eq!(joda_to_strftime("yyyyMMdd"), "%Y%m%d");
    }

    #[test]
    fn prefix_bounds_follow_trino() {
        let v4 = |a: u32| 0xffff_0000_0000u128 | u128::from(a);
        assert_eq!(
            prefix_bounds("10.0.0.0/8"),
            Some((v4(0x0a00_0000), v4(0x0aff_ffff)))
        );
        assert_eq!(
            prefix_bounds("192.168.255.255/9"),
            Some((v4(0xc080_0000), v4(0xc0ff_ffff)))
        );
        assert_eq!(prefix_bounds("::/0"), Some((0, u128::MAX)));
        assert_eq!(
            prefix_bounds("2001:db8::/32"),
            Some((
                0x2001_0db8u128 << 96,
                (0x2001_0db8u128 << 96) | (u128::MAX >> 32)
            ))
        );
        assert_eq!(prefix_bounds("10.0.0.0/33"), None);
        assert_eq!(prefix_bounds("10.0.0/8"), None);
    }

    #[test]
    fn pins_the_clock_and_caps_rows() {
        let as_of = DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let out = to_duckdb(
            "SELECT current_timestamp - INTERVAL '7' DAY, now(), current_date",
            Some(as_of),
            Some(10),
        )
        .unwrap();
        assert_eq!(
            out,
            "SELECT TIMESTAMP '2026-11-28 00:00:00.000000' - INTERVAL '7' DAY, TIMESTAMP '2026-11-28 00:00:00.000000', DATE '2026-11-28' LIMIT 11"
        );
        assert!(
            to_duckdb("SELECT 1 LIMIT 3", None, Some(10))
                .unwrap()
                .ends_with("LIMIT 3")
        );
        assert!(
            to_duckdb("SELECT 1 LIMIT 50", None, Some(10))
                .unwrap()
                .ends_with("LIMIT 11")
        );
    }
}
