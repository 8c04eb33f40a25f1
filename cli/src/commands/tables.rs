//! `asklake tables` and `asklake schema TABLE`.

use std::process::ExitCode;

use asklake::Error;
use asklake::schema::DataType;

use crate::args::{Format, GlobalArgs};
use crate::output::{clean, print, records};

pub async fn tables(g: &GlobalArgs, format: Format) -> asklake::Result<ExitCode> {
    let engine = asklake::config::build_engine(&g.resolve()?.config).await?;
    let catalog = engine.catalog().await?;
    let mut rows: Vec<Vec<String>> = catalog
        .tables
        .iter()
        .map(|t| {
            vec![
                format!("{}.{}", t.database, t.name),
                t.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    // Tables that could not be read (a corrupt file) are listed with why, not silently missing.
    rows.extend(
        catalog
            .unavailable
            .iter()
            .map(|u| vec![u.table.clone(), format!("UNAVAILABLE: {}", u.reason)]),
    );
    print(&records(&["table", "description"], &rows, format));
    Ok(ExitCode::SUCCESS)
}

pub async fn schema(g: &GlobalArgs, table: &str, format: Format) -> asklake::Result<ExitCode> {
    let engine = asklake::config::build_engine(&g.resolve()?.config).await?;
    let info = engine.describe(table).await?;
    match format {
        Format::Json => {
            print(&serde_json::to_string_pretty(&info).map_err(|e| Error::Internal(e.to_string()))?)
        }
        Format::Csv => {
            let rows: Vec<Vec<String>> = info
                .column_paths()
                .into_iter()
                .map(|(path, ty)| vec![path, ty.hive_name()])
                .collect();
            print(&records(&["column", "type"], &rows, Format::Csv));
        }
        Format::Table => {
            print(&clean(&info.qualified_name()));
            for (path, ty) in info.column_paths() {
                let depth = path.matches('.').count();
                let shown = if ty.is_nested() {
                    short_nested(ty)
                } else {
                    ty.hive_name()
                };
                print(&format!("{}{}  {shown}", "  ".repeat(depth), clean(&path)));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn short_nested(t: &DataType) -> String {
    match t {
        DataType::Struct { .. } => "struct".into(),
        DataType::Array { element } if matches!(**element, DataType::Struct { .. }) => {
            "array<struct>".into()
        }
        other => other.hive_name(),
    }
}
