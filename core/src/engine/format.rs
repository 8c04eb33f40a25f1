//! Renders query results for people (an aligned text table) and programs (JSON, CSV).

use serde_json::{Map, Value, json};

use super::QueryResult;
use crate::arrow::array::{Array, ArrayRef, AsArray};
use crate::arrow::datatypes::{
    DataType as ArrowType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use crate::arrow::util::display::{ArrayFormatter, FormatOptions};
use crate::engine::duckdb::arrow_field;

/// One cell as JSON: numbers stay numbers, structs become objects, lists arrays, maps objects.
pub fn cell_json(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! prim {
        ($t:ty) => {
            json!(array.as_primitive::<$t>().value(row))
        };
    }
    match array.data_type() {
        ArrowType::Boolean => Value::Bool(array.as_boolean().value(row)),
        ArrowType::Int8 => prim!(Int8Type),
        ArrowType::Int16 => prim!(Int16Type),
        ArrowType::Int32 => prim!(Int32Type),
        ArrowType::Int64 => prim!(Int64Type),
        ArrowType::UInt8 => prim!(UInt8Type),
        ArrowType::UInt16 => prim!(UInt16Type),
        ArrowType::UInt32 => prim!(UInt32Type),
        ArrowType::UInt64 => prim!(UInt64Type),
        ArrowType::Float32 => {
            let v = f64::from(array.as_primitive::<Float32Type>().value(row));
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        ArrowType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        ArrowType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        ArrowType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_string()),
        ArrowType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            Value::Array((0..items.len()).map(|i| cell_json(&items, i)).collect())
        }
        ArrowType::LargeList(_) => {
            let items = array.as_list::<i64>().value(row);
            Value::Array((0..items.len()).map(|i| cell_json(&items, i)).collect())
        }
        ArrowType::Struct(fields) => {
            let s = array.as_struct();
            let mut obj = Map::new();
            for (i, f) in fields.iter().enumerate() {
                obj.insert(f.name().clone(), cell_json(s.column(i), row));
            }
            Value::Object(obj)
        }
        ArrowType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            let mut obj = Map::new();
            for i in 0..entries.len() {
                let k = match cell_json(keys, i) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                obj.insert(k, cell_json(values, i));
            }
            Value::Object(obj)
        }
        // DuckDB's sum/count_if of integers are HUGEINT (Decimal128 with scale 0); Trino's are bigint.
        ArrowType::Decimal128(_, _) | ArrowType::Decimal256(_, _) => {
            let text = display(array, row);
            text.parse::<i64>()
                .map(Value::from)
                .ok()
                .or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                })
                .unwrap_or(Value::String(text))
        }
        _ => Value::String(display(array, row)),
    }
}

fn display(array: &ArrayRef, row: usize) -> String {
    let options = FormatOptions::default().with_null("NULL");
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(f) => f.value(row).to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// One cell as text: scalars plain, nested values as compact JSON.
pub fn cell_text(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".into();
    }
    match array.data_type() {
        ArrowType::Struct(_)
        | ArrowType::List(_)
        | ArrowType::LargeList(_)
        | ArrowType::Map(_, _) => cell_json(array, row).to_string(),
        _ => display(array, row),
    }
}

/// Rows as text cells, row-major.
pub fn rows_text(result: &QueryResult) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(result.row_count);
    for batch in &result.batches {
        for r in 0..batch.num_rows() {
            out.push(batch.columns().iter().map(|c| cell_text(c, r)).collect());
        }
    }
    out
}

/// Rows as JSON values, row-major.
pub fn rows_json(result: &QueryResult) -> Vec<Vec<Value>> {
    let mut out = Vec::with_capacity(result.row_count);
    for batch in &result.batches {
        for r in 0..batch.num_rows() {
            out.push(batch.columns().iter().map(|c| cell_json(c, r)).collect());
        }
    }
    out
}

/// `{"columns":[{"name","type"}],"rows":[[…]],"row_count","truncated","elapsed_ms"}`.
pub fn to_json(result: &QueryResult) -> Value {
    let columns: Vec<Value> = result
        .schema
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "type": arrow_field(f).data_type.hive_name()}))
        .collect();
    json!({
        "columns": columns,
        "rows": rows_json(result),
        "row_count": result.row_count,
        "truncated": result.truncated,
        "elapsed_ms": u64::try_from(result.stats.elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

/// One RFC 4180 CSV field, quoted when it needs to be.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// RFC 4180 CSV with a header row; nested values (structs, arrays, maps) as JSON text.
///
/// Written here rather than with `arrow-csv`: its writer rejects struct, list and map columns, which OCSF
/// results carry routinely (`actor.user`, `resources`, `unmapped`).
pub fn to_csv(result: &QueryResult) -> String {
    let field = csv_field;
    let mut out = String::new();
    let header: Vec<String> = result
        .schema
        .fields()
        .iter()
        .map(|f| field(f.name()))
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for batch in &result.batches {
        for r in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(r) {
                        String::new()
                    } else {
                        field(&cell_text(c, r))
                    }
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}
