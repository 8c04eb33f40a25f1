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

/// CSV (RFC 4180 quoting, `\n` line ends) with a header row, written by the `csv` crate; nested values
/// (structs, arrays, maps) as JSON text, nulls as empty fields.
///
/// Not `arrow-csv`: its writer rejects struct, list and map columns, which OCSF results carry routinely
/// (`actor.user`, `resources`, `unmapped`).
pub fn to_csv(result: &QueryResult) -> String {
    let header = result.schema.fields().iter().map(|f| f.name().clone());
    let rows = result.batches.iter().flat_map(|batch| {
        (0..batch.num_rows()).map(move |r| {
            batch
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(r) {
                        String::new()
                    } else {
                        cell_text(c, r)
                    }
                })
                .collect::<Vec<_>>()
        })
    });
    csv_records(std::iter::once(header.collect()).chain(rows))
}

/// Records of text as CSV, the first one the header.
pub fn csv_records<R, F>(records: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    // The writer's only errors are its sink's, and a Vec in memory has none; the records are text, so the
    // bytes are UTF-8 (the lossy conversion never replaces anything).
    for record in records {
        let _ = w.write_record(record);
    }
    w.into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::arrow::array::{Int64Array, RecordBatch, StringArray, StructArray};
    use crate::arrow::datatypes::{Field, Schema};
    use crate::engine::QueryStats;

    #[test]
    fn csv_quotes_what_needs_it_and_writes_nested_values_as_json() {
        let names = StringArray::from(vec![
            Some("plain"),
            Some("a,b"),
            Some("say \"hi\""),
            Some("two\nlines"),
            None,
            Some("관리자"),
        ]);
        let counts = Int64Array::from(vec![1, 2, 3, 4, 5, 6]);
        let user = StructArray::from(vec![(
            Arc::new(Field::new("name", ArrowType::Utf8, true)),
            Arc::new(StringArray::from(vec!["x", "y,z", "x", "x", "x", "x"])) as ArrayRef,
        )]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", ArrowType::Utf8, true),
            Field::new("n", ArrowType::Int64, false),
            Field::new("user", user.data_type().clone(), false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(names), Arc::new(counts), Arc::new(user)],
        )
        .unwrap();
        let result = QueryResult {
            schema,
            batches: vec![batch],
            row_count: 6,
            truncated: false,
            stats: QueryStats::default(),
        };
        let text = to_csv(&result);
        assert_eq!(
            text,
            "name,n,user\n\
             plain,1,\"{\"\"name\"\":\"\"x\"\"}\"\n\
             \"a,b\",2,\"{\"\"name\"\":\"\"y,z\"\"}\"\n\
             \"say \"\"hi\"\"\",3,\"{\"\"name\"\":\"\"x\"\"}\"\n\
             \"two\nlines\",4,\"{\"\"name\"\":\"\"x\"\"}\"\n\
             ,5,\"{\"\"name\"\":\"\"x\"\"}\"\n\
             관리자,6,\"{\"\"name\"\":\"\"x\"\"}\"\n"
        );
        // And a CSV reader gets the values back.
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let back: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(back[1][0], "a,b");
        assert_eq!(back[2][0], "say \"hi\"");
        assert_eq!(back[3][0], "two\nlines");
        assert_eq!(back[4][0], "");
        assert_eq!(back[1][2], r#"{"name":"y,z"}"#);
    }
}
