//! Execution accuracy: do two query results hold the same answer? Results are compared as multisets of rows
//! (as sequences when the question says order matters), with column order ignored and values normalized:
//! numbers within a tolerance, timestamps in any common text form, NULLs equal to NULLs. Strict: the same
//! columns; relaxed: the prediction may carry extra columns.

use serde_json::Value;

use crate::engine::{QueryResult, format};

/// The verdict for one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Same rows, same columns (in any order).
    pub strict: bool,
    /// Same rows over the gold columns; the prediction may have more columns.
    pub relaxed: bool,
}

/// Canonical text of a cell: numbers rounded to 6 decimals (and -0 → 0), timestamps as
/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, strings trimmed, nested values as canonical JSON.
pub fn normalize(v: &Value) -> String {
    match v {
        Value::Null => "\u{2205}".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => {
            let t = s.trim();
            if let Some(ts) = timestamp(t) {
                return ts;
            }
            match t.parse::<f64>() {
                Ok(f)
                    if t.chars().all(|c| {
                        c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')
                    }) =>
                {
                    number(f)
                }
                _ => t.to_string(),
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(normalize).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => {
            let mut kv: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (k.to_lowercase(), normalize(v)))
                .collect();
            kv.sort();
            format!(
                "{{{}}}",
                kv.into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    }
}

fn number(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    let r = (f * 1e6).round() / 1e6;
    let r = if r == 0.0 { 0.0 } else { r };
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn timestamp(s: &str) -> Option<String> {
    if s.len() < 10 || !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) || s.as_bytes()[4] != b'-'
    {
        return None;
    }
    let base = s
        .trim_end_matches('Z')
        .trim_end_matches(" UTC")
        .trim_end_matches("+00:00")
        .replace('T', " ");
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(&base, f) {
            return Some(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        }
    }
    chrono::NaiveDate::parse_from_str(&base, "%Y-%m-%d")
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// Rows as normalized cells, row-major.
pub fn table(result: &QueryResult) -> Vec<Vec<String>> {
    format::rows_json(result)
        .iter()
        .map(|r| r.iter().map(normalize).collect())
        .collect()
}

/// Compares a predicted result with the gold one.
pub fn compare(gold: &QueryResult, predicted: &QueryResult, ordered: bool) -> Comparison {
    compare_tables(&table(gold), &table(predicted), ordered)
}

/// [`compare`] on normalized tables (each row the same width).
pub fn compare_tables(gold: &[Vec<String>], pred: &[Vec<String>], ordered: bool) -> Comparison {
    if gold.len() != pred.len() {
        return Comparison {
            strict: false,
            relaxed: false,
        };
    }
    let gw = gold.first().map_or(0, Vec::len);
    let pw = pred.first().map_or(0, Vec::len);
    if gold.is_empty() {
        // Two empty results agree whatever their columns.
        return Comparison {
            strict: true,
            relaxed: true,
        };
    }
    let column = |t: &[Vec<String>], c: usize| -> Vec<String> {
        let mut v: Vec<String> = t.iter().map(|r| r[c].clone()).collect();
        if !ordered {
            v.sort();
        }
        v
    };
    // For each gold column, the predicted columns holding the same values.
    let candidates: Vec<Vec<usize>> = (0..gw)
        .map(|g| {
            let gc = column(gold, g);
            (0..pw).filter(|&p| column(pred, p) == gc).collect()
        })
        .collect();
    let mut used = vec![false; pw];
    let mut mapping = vec![0usize; gw];
    let relaxed = assign(0, &candidates, &mut used, &mut mapping, gold, pred, ordered);
    Comparison {
        strict: relaxed && gw == pw,
        relaxed,
    }
}

/// For a gold query `… ORDER BY keys LIMIT n`: `n`, the result columns holding the ORDER BY keys (empty when
/// a key is not an output column: by position, alias, name or the same expression), and the query with its
/// LIMIT raised by 1000 (to find the rows tied with the last one that the LIMIT cut).
pub fn limit_and_order(sql: &str, columns: &[String]) -> Option<(u64, Vec<usize>, String)> {
    use sqlparser::ast::{
        Expr, LimitClause, OrderByKind, SelectItem, SetExpr, Statement, Value as V,
    };
    let mut stmts = crate::sql::dialect::parse(sql).ok()?;
    let Some(Statement::Query(query)) = stmts.first_mut() else {
        return None;
    };
    let limit_expr = match &mut query.limit_clause {
        Some(LimitClause::LimitOffset {
            limit: Some(e),
            offset: None,
            ..
        }) => e,
        _ => return None,
    };
    let Expr::Value(v) = &*limit_expr else {
        return None;
    };
    let V::Number(n, _) = &v.value else {
        return None;
    };
    let limit: u64 = n.parse().ok()?;
    *limit_expr = Expr::value(V::Number((limit + 1000).to_string(), false));
    let names: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
    let projection: Vec<(Option<String>, String)> = match &*query.body {
        SetExpr::Select(sel) => sel
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) => (None, e.to_string().to_lowercase()),
                SelectItem::ExprWithAlias { expr, alias } => (
                    Some(alias.value.to_lowercase()),
                    expr.to_string().to_lowercase(),
                ),
                other => (None, other.to_string().to_lowercase()),
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut keys = Vec::new();
    if let Some(ob) = &query.order_by
        && let OrderByKind::Expressions(exprs) = &ob.kind
    {
        for o in exprs {
            let text = o.expr.to_string().to_lowercase();
            let key = match &o.expr {
                Expr::Value(v) => match &v.value {
                    V::Number(k, _) => k.parse::<usize>().ok().and_then(|k| k.checked_sub(1)),
                    _ => None,
                },
                _ => None,
            }
            .or_else(|| {
                projection
                    .iter()
                    .position(|(a, _)| a.as_deref() == Some(&text))
            })
            .or_else(|| projection.iter().position(|(_, e)| *e == text))
            .or_else(|| names.iter().position(|n| *n == text));
            match key {
                Some(k) if k < names.len() => keys.push(k),
                _ => return Some((limit, Vec::new(), query.to_string())),
            }
        }
    }
    Some((limit, keys, query.to_string()))
}

/// Compares a prediction with a top-N gold result whose last rows tie on the ORDER BY keys with rows past the
/// LIMIT (`extended` is the gold query with a larger LIMIT): the prediction is right if it holds every gold
/// row ranked strictly above the tie, and the rest of its rows come from the tied ones. Compared as
/// multisets (the order among tied rows is arbitrary).
pub fn compare_with_ties(
    gold: &QueryResult,
    extended: &QueryResult,
    keys: &[usize],
    predicted: &QueryResult,
) -> Comparison {
    compare_tables_with_ties(&table(gold), &table(extended), keys, &table(predicted))
}

/// [`compare_with_ties`] on normalized tables.
pub fn compare_tables_with_ties(
    g: &[Vec<String>],
    e: &[Vec<String>],
    keys: &[usize],
    p: &[Vec<String>],
) -> Comparison {
    let none = Comparison {
        strict: false,
        relaxed: false,
    };
    let key = |r: &Vec<String>| -> Vec<String> { keys.iter().map(|&k| r[k].clone()).collect() };
    let Some(last) = g.last().map(key) else {
        return none;
    };
    if keys.is_empty() || p.len() != g.len() {
        return none;
    }
    let above: Vec<Vec<String>> = g.iter().filter(|r| key(r) != last).cloned().collect();
    let tied: Vec<Vec<String>> = e.iter().filter(|r| key(r) == last).cloned().collect();
    let need = g.len() - above.len();
    if tied.len() <= need {
        // Nothing was cut: the plain comparison stands.
        return none;
    }
    // Try each choice of `need` tied rows (bounded: a tie of hundreds of rows is not a top-N question).
    let mut best = none;
    let mut tried = 0;
    let mut choice: Vec<usize> = (0..need).collect();
    loop {
        tried += 1;
        let mut candidate = above.clone();
        candidate.extend(choice.iter().map(|&i| tied[i].clone()));
        let c = compare_tables(&candidate, p, false);
        best.relaxed |= c.relaxed;
        best.strict |= c.strict;
        if best.strict || tried >= 5000 {
            return best;
        }
        // Next combination in lexicographic order.
        let Some(i) = (0..need).rev().find(|&i| choice[i] < tied.len() - need + i) else {
            return best;
        };
        choice[i] += 1;
        for j in i + 1..need {
            choice[j] = choice[j - 1] + 1;
        }
    }
}

/// Whether the prediction selects the gold columns: the same number of columns, each gold column matched by
/// a distinct predicted one, by name (case-insensitive, last dotted part) or, when the row counts agree, by
/// its values.
pub fn columns_match(gold: &QueryResult, predicted: &QueryResult) -> bool {
    let names = |r: &QueryResult| -> Vec<String> {
        r.schema
            .fields()
            .iter()
            .map(|f| {
                let n = f.name().to_lowercase();
                n.rsplit('.')
                    .next()
                    .unwrap_or(&n)
                    .trim_matches('"')
                    .to_string()
            })
            .collect()
    };
    let (gn, pn) = (names(gold), names(predicted));
    if gn.len() != pn.len() {
        return false;
    }
    let same_rows = gold.row_count == predicted.row_count;
    let (g, p) = (table(gold), table(predicted));
    let column = |t: &[Vec<String>], c: usize| -> Vec<String> {
        let mut v: Vec<String> = t.iter().map(|r| r[c].clone()).collect();
        v.sort();
        v
    };
    let mut used = vec![false; pn.len()];
    for (gi, name) in gn.iter().enumerate() {
        let found = (0..pn.len()).find(|&pi| {
            !used[pi] && (pn[pi] == *name || (same_rows && column(&g, gi) == column(&p, pi)))
        });
        match found {
            Some(pi) => used[pi] = true,
            None => return false,
        }
    }
    true
}

/// Backtracking over injective gold→predicted column mappings; the rows must then match.
fn assign(
    g: usize,
    candidates: &[Vec<usize>],
    used: &mut [bool],
    mapping: &mut [usize],
    gold: &[Vec<String>],
    pred: &[Vec<String>],
    ordered: bool,
) -> bool {
    if g == candidates.len() {
        let project = |t: &[Vec<String>], cols: &[usize]| -> Vec<Vec<String>> {
            let mut rows: Vec<Vec<String>> = t
                .iter()
                .map(|r| cols.iter().map(|&c| r[c].clone()).collect())
                .collect();
            if !ordered {
                rows.sort();
            }
            rows
        };
        let identity: Vec<usize> = (0..candidates.len()).collect();
        return project(gold, &identity) == project(pred, mapping);
    }
    for &p in &candidates[g] {
        if used[p] {
            continue;
        }
        used[p] = true;
        mapping[g] = p;
        if assign(g + 1, candidates, used, mapping, gold, pred, ordered) {
            return true;
        }
        used[p] = false;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(rows: Vec<Vec<Value>>) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(normalize).collect())
            .collect()
    }

    #[test]
    fn column_order_and_row_order() {
        let gold = t(vec![vec![json!("a"), json!(1)], vec![json!("b"), json!(2)]]);
        let pred = t(vec![vec![json!(2), json!("b")], vec![json!(1), json!("a")]]);
        assert_eq!(
            compare_tables(&gold, &pred, false),
            Comparison {
                strict: true,
                relaxed: true
            }
        );
        // Order matters only when asked.
        assert!(!compare_tables(&gold, &pred, true).strict);
        let pred_ordered = t(vec![vec![json!(1), json!("a")], vec![json!(2), json!("b")]]);
        assert!(compare_tables(&gold, &pred_ordered, true).strict);
    }

    #[test]
    fn ties_at_the_limit_boundary() {
        // Gold: top 3 by count; "c" and "d" tie at 2 with "e" just past the LIMIT.
        let row = |x: &str, n: i64| vec![json!(x), json!(n)];
        let gold = t(vec![row("a", 5), row("b", 4), row("c", 2)]);
        let ext = t(vec![
            row("a", 5),
            row("b", 4),
            row("c", 2),
            row("d", 2),
            row("e", 1),
        ]);
        let keys = [1];
        // The other tied row is as right as the gold's choice; columns may be permuted.
        let pred = t(vec![
            vec![json!(2), json!("d")],
            vec![json!(5), json!("a")],
            vec![json!(4), json!("b")],
        ]);
        assert!(!compare_tables(&gold, &pred, false).strict);
        assert!(compare_tables_with_ties(&gold, &ext, &keys, &pred).strict);
        // A row from below the tie is wrong, and so is dropping a row ranked above it.
        let below = t(vec![row("a", 5), row("b", 4), row("e", 1)]);
        assert!(!compare_tables_with_ties(&gold, &ext, &keys, &below).relaxed);
        let missing_above = t(vec![row("a", 5), row("c", 2), row("d", 2)]);
        assert!(!compare_tables_with_ties(&gold, &ext, &keys, &missing_above).relaxed);
        // No tie past the LIMIT: nothing to add to the plain comparison.
        let ext_no_tie = t(vec![row("a", 5), row("b", 4), row("c", 2), row("e", 1)]);
        assert!(!compare_tables_with_ties(&gold, &ext_no_tie, &keys, &pred).relaxed);
    }

    #[test]
    fn order_keys_and_extended_limit() {
        let cols = vec!["ip".to_string(), "calls".to_string()];
        let (limit, keys, sql) = limit_and_order(
            "SELECT src_endpoint.ip AS ip, count(*) AS calls FROM t GROUP BY 1 ORDER BY calls DESC LIMIT 5",
            &cols,
        )
        .unwrap();
        assert_eq!((limit, keys), (5, vec![1]));
        assert!(sql.ends_with("LIMIT 1005"), "{sql}");
        let (_, keys, _) = limit_and_order(
            "SELECT ip, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, ip LIMIT 3",
            &cols,
        )
        .unwrap();
        assert_eq!(keys, vec![1, 0]);
        let (_, keys, _) = limit_and_order(
            "SELECT ip, count(*) AS calls FROM t GROUP BY 1 ORDER BY count(*) DESC LIMIT 3",
            &cols,
        )
        .unwrap();
        assert_eq!(keys, vec![1]);
        // A key that is not an output column: no tie handling.
        let (_, keys, _) =
            limit_and_order("SELECT ip FROM t ORDER BY time_dt DESC LIMIT 3", &cols[..1]).unwrap();
        assert!(keys.is_empty());
        assert!(limit_and_order("SELECT ip FROM t", &cols).is_none());
    }

    #[test]
    fn duplicates_count() {
        let gold = t(vec![vec![json!("a")], vec![json!("a")], vec![json!("b")]]);
        let pred = t(vec![vec![json!("a")], vec![json!("b")], vec![json!("b")]]);
        assert!(!compare_tables(&gold, &pred, false).relaxed);
    }

    #[test]
    fn values_normalize() {
        let gold = t(vec![vec![
            json!(0.1 + 0.2),
            json!(null),
            json!("2026-11-27 10:00:00.000"),
        ]]);
        let pred = t(vec![vec![
            json!(0.3),
            json!(null),
            json!("2026-11-27T10:00:00Z"),
        ]]);
        assert!(compare_tables(&gold, &pred, false).strict);
        let gold = t(vec![vec![json!(5)]]);
        assert!(compare_tables(&gold, &t(vec![vec![json!(5.0)]]), false).strict);
        assert!(compare_tables(&gold, &t(vec![vec![json!("5")]]), false).strict);
        assert!(!compare_tables(&gold, &t(vec![vec![json!(5.01)]]), false).strict);
        assert!(
            !compare_tables(
                &t(vec![vec![json!(null)]]),
                &t(vec![vec![json!("")]]),
                false
            )
            .strict
        );
    }

    #[test]
    fn extra_columns_are_relaxed_only() {
        let gold = t(vec![
            vec![json!("1.2.3.4"), json!(10)],
            vec![json!("5.6.7.8"), json!(3)],
        ]);
        let pred = t(vec![
            vec![json!("5.6.7.8"), json!(3), json!("x")],
            vec![json!("1.2.3.4"), json!(10), json!("y")],
        ]);
        assert_eq!(
            compare_tables(&gold, &pred, false),
            Comparison {
                strict: false,
                relaxed: true
            }
        );
        // Missing a gold column is wrong either way.
        let short = t(vec![vec![json!("1.2.3.4")], vec![json!("5.6.7.8")]]);
        assert_eq!(
            compare_tables(&gold, &short, false),
            Comparison {
                strict: false,
                relaxed: false
            }
        );
    }

    #[test]
    fn columns_with_equal_value_sets_must_align_row_wise() {
        // Both columns hold {1, 2}; swapping them within rows changes the answer.
        let gold = t(vec![
            vec![json!(1), json!(2)],
            vec![json!(2), json!(1)],
            vec![json!(1), json!(1)],
        ]);
        let pred = t(vec![
            vec![json!(2), json!(1)],
            vec![json!(1), json!(2)],
            vec![json!(1), json!(1)],
        ]);
        assert!(compare_tables(&gold, &pred, false).strict);
        let wrong = t(vec![
            vec![json!(1), json!(2)],
            vec![json!(1), json!(2)],
            vec![json!(2), json!(1)],
        ]);
        assert!(!compare_tables(&gold, &wrong, false).strict);
        let empty: Vec<Vec<String>> = Vec::new();
        assert!(compare_tables(&empty, &empty, false).strict);
        assert!(!compare_tables(&gold, &empty, false).relaxed);
    }
}
