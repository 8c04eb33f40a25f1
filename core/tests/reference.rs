//! Checks the compiled-in Security Lake schemas against AWS's published ones, kept as test data in
//! `tests/data/security-lake/` (recursively: every column, nested field, order and type).

use std::path::PathBuf;

use asklake::schema::{DataType, Field, Source, SourceVersion, security_lake_columns};
use serde_json::Value;

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/security-lake")
}

/// The reference JSON column, as the catalog type.
fn reference_type(col: &Value) -> DataType {
    let t = col["type"].as_str().unwrap();
    let fields = || -> Vec<Field> {
        col["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| Field::new(f["name"].as_str().unwrap(), reference_type(f)))
            .collect()
    };
    match t {
        "struct" => DataType::Struct { fields: fields() },
        "array<struct>" => DataType::Array {
            element: Box::new(DataType::Struct { fields: fields() }),
        },
        other => DataType::parse_hive(other).unwrap(),
    }
}

#[test]
fn v2_schemas_equal_the_reference() {
    for source in Source::ALL {
        let path = reference_dir().join(format!(
            "amazon_security_lake_table_us_east_1_{source}_2_0.json"
        ));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expected: Vec<Field> = doc["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Field::new(c["name"].as_str().unwrap(), reference_type(c)))
            .collect();
        assert_eq!(
            security_lake_columns(source, SourceVersion::V2).unwrap(),
            expected,
            "{source}"
        );
    }
}

#[test]
fn v1_schemas_cover_every_sampled_path() {
    let tsv = std::fs::read_to_string(reference_dir().join("v1_columns_from_samples.tsv")).unwrap();
    for (source, prefix) in [
        (Source::CloudTrailMgmt, "cloud_trail_mgmt_1_0 "),
        (Source::VpcFlow, "vpc_flow_1_0 "),
    ] {
        let cols = security_lake_columns(source, SourceVersion::V1).unwrap();
        let t = asklake::schema::TableInfo::new(
            "db",
            format!("amazon_security_lake_table_us_east_1_{source}_1_0"),
            cols,
        );
        let mut n = 0;
        for line in tsv.lines().skip(1).filter(|l| l.starts_with(prefix)) {
            let mut parts = line.split('\t');
            let (_, path, ty) = (
                parts.next(),
                parts.next().unwrap().replace("[]", ""),
                parts.next().unwrap(),
            );
            let got = t
                .column_type(&path)
                .unwrap_or_else(|| panic!("{source}: {path} missing"));
            let ty = if ty.starts_with("timestamp") {
                "timestamp"
            } else {
                ty
            };
            let shown = match got {
                DataType::Struct { .. } => "struct".to_string(),
                DataType::Array { element } if matches!(**element, DataType::Struct { .. }) => {
                    "array<struct>".into()
                }
                other => other.hive_name(),
            };
            assert_eq!(shown, ty, "{source}: {path}");
            n += 1;
        }
        assert!(n > 50, "{source}: only {n} paths checked");
        for part in ["region", "accountid", "eventday"] {
            assert_eq!(t.column_type(part), Some(&DataType::String));
        }
    }
}

#[test]
fn every_reference_type_string_parses() {
    let flat = std::fs::read_to_string(reference_dir().join("v2_columns_flat.tsv")).unwrap();
    for line in flat.lines().skip(1) {
        let ty = line.split('\t').nth(2).unwrap();
        if ty == "struct" || ty == "array<struct>" {
            continue;
        }
        let parsed = DataType::parse_hive(ty).unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert_eq!(parsed.hive_name(), ty);
    }
}
