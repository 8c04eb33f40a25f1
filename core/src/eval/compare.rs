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
