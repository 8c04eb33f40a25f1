//! The schema catalog: tables with nested, typed columns. Engine-independent: the local engine and
//! Athena discovery both fill the same [`Catalog`], so prompts, validation and the guard work the same on both.

pub mod context;
pub mod ocsf;
pub mod security_lake;
pub mod types;

use std::collections::BTreeMap;

pub use security_lake::{SecurityLakeTable, Source, SourceVersion};
pub use types::{DataType, Field};

use crate::error::{Error, Result};

/// One table (or view) an engine can query.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableInfo {
    /// Database (schema) name, e.g. `amazon_security_lake_glue_db_us_east_1`.
    pub database: String,
    pub name: String,
    pub columns: Vec<Field>,
    /// Security Lake source, version and region when the name says so.
    pub security_lake: Option<SecurityLakeTable>,
    pub description: Option<String>,
}

impl TableInfo {
    pub fn new(database: impl Into<String>, name: impl Into<String>, columns: Vec<Field>) -> Self {
        let name = name.into();
        let security_lake = SecurityLakeTable::parse(&name);
        let description = security_lake
            .as_ref()
            .map(|t| t.source.description().to_string());
        Self {
            database: database.into(),
            name,
            columns,
            security_lake,
            description,
        }
    }

    /// `"database"."table"`, quoted as Athena wants it.
    pub fn qualified_name(&self) -> String {
        format!("\"{}\".\"{}\"", self.database, self.name)
    }

    /// Every column path with its type, depth first: `actor`, `actor.user`, `actor.user.name`, …
    /// Paths descend through arrays of structs (`resources.uid`), as UNNEST aliases do.
    pub fn column_paths(&self) -> Vec<(String, &DataType)> {
        fn walk<'a>(prefix: &str, fields: &'a [Field], out: &mut Vec<(String, &'a DataType)>) {
            for f in fields {
                let path = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}.{}", f.name)
                };
                out.push((path.clone(), &f.data_type));
                if let Some(children) = f.data_type.child_fields() {
                    walk(&path, children, out);
                }
            }
        }
        let mut out = Vec::new();
        walk("", &self.columns, &mut out);
        out
    }

    /// The type at a dotted path (`actor.user.name`), case-insensitive like Athena.
    pub fn column_type(&self, path: &str) -> Option<&DataType> {
        let mut fields: &[Field] = &self.columns;
        let mut found: Option<&DataType> = None;
        for part in path.split('.') {
            let f = fields.iter().find(|f| f.name.eq_ignore_ascii_case(part))?;
            found = Some(&f.data_type);
            fields = f.data_type.child_fields().unwrap_or(&[]);
        }
        found
    }
}

/// All tables an engine exposes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    pub tables: Vec<TableInfo>,
    /// Tables the engine knows of but cannot read (a corrupt or missing file), with the reason. The other
    /// tables stay usable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
}

/// A table that cannot be read, and why (naming the file where one is at fault).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unavailable {
    /// Qualified name (`database.table`).
    pub table: String,
    pub reason: String,
}

/// The entry of `list` a table name refers to (`table`, `database.table`, quoted or not).
pub fn find_unavailable<'a>(list: &'a [Unavailable], name: &str) -> Option<&'a Unavailable> {
    let parts = split_qualified(name);
    let table = parts.last()?;
    list.iter().find(|u| {
        let (db, t) = u.table.split_once('.').unwrap_or(("", &u.table));
        t.eq_ignore_ascii_case(table)
            && (parts.len() < 2 || db.eq_ignore_ascii_case(&parts[parts.len() - 2]))
    })
}

impl Catalog {
    pub fn new(tables: Vec<TableInfo>) -> Self {
        Self {
            tables,
            unavailable: Vec::new(),
        }
    }

    /// The unavailable table a name refers to (`table`, `database.table`, quoted or not).
    pub fn find_unavailable(&self, name: &str) -> Option<&Unavailable> {
        find_unavailable(&self.unavailable, name)
    }

    /// Finds a table by `name`, `database.name` or a quoted form of either, case-insensitively.
    pub fn find(&self, name: &str) -> Option<&TableInfo> {
        let parts: Vec<String> = split_qualified(name);
        match parts.as_slice() {
            [table] => self
                .tables
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(table)),
            [.., db, table] => self.tables.iter().find(|t| {
                t.name.eq_ignore_ascii_case(table) && t.database.eq_ignore_ascii_case(db)
            }),
            [] => None,
        }
    }

    /// Like [`Catalog::find`], with an error that names the closest tables.
    pub fn get(&self, name: &str) -> Result<&TableInfo> {
        if let Some(u) = self.find_unavailable(name) {
            return Err(Error::Lake(format!(
                "table {} is unavailable: {}",
                u.table, u.reason
            )));
        }
        self.find(name).ok_or_else(|| {
            let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
            let close = closest(name, &names, 3);
            Error::Schema(if close.is_empty() {
                format!("table {name:?} does not exist")
            } else {
                format!(
                    "table {name:?} does not exist; did you mean {}?",
                    close.join(", ")
                )
            })
        })
    }

    /// Tables grouped by database, for listings.
    pub fn by_database(&self) -> BTreeMap<&str, Vec<&TableInfo>> {
        let mut out: BTreeMap<&str, Vec<&TableInfo>> = BTreeMap::new();
        for t in &self.tables {
            out.entry(t.database.as_str()).or_default().push(t);
        }
        out
    }
}

/// Splits `"db"."table"`, `db.table` or `table` into unquoted parts.
pub fn split_qualified(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' if quoted && chars.peek() == Some(&c) => {
                cur.push(c);
                chars.next();
            }
            '"' | '`' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// Up to `n` candidates closest to `name` by edit distance, best first (used for "did you mean").
pub fn closest<'a>(name: &str, candidates: &[&'a str], n: usize) -> Vec<&'a str> {
    let target = name.to_ascii_lowercase().replace('"', "");
    let target = target.as_str();
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .map(|c| {
            let lc = c.to_ascii_lowercase();
            let d = strsim::levenshtein(target, &lc);
            // A candidate containing the name (or the reverse) is close whatever its length.
            let d = if lc.contains(target) || target.contains(lc.as_str()) {
                d.min(2)
            } else {
                d
            };
            (d, *c)
        })
        .collect();
    scored.sort();
    let limit = (target.chars().count() / 2).max(3);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(n)
        .map(|(_, c)| c)
        .collect()
}

/// The column lists of the Security Lake tables, compiled in (derived from AWS's published schemas by
/// `scripts/derive_schemas.py`; `core/tests/schema_reference.rs` checks them against the reference).
pub fn security_lake_columns(source: Source, version: SourceVersion) -> Result<Vec<Field>> {
    let data = match version {
        SourceVersion::V1 => include_str!("../../data/schema/v1.tsv"),
        SourceVersion::V2 => include_str!("../../data/schema/v2.tsv"),
    };
    let mut out = Vec::new();
    for line in data
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.splitn(3, '\t');
        let (Some(src), Some(name), Some(ty)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(Error::Internal(format!("bad schema line {line:?}")));
        };
        if src == source.as_str() {
            out.push(Field::new(name, DataType::parse_hive(ty)?));
        }
    }
    if out.is_empty() {
        return Err(Error::Config(format!(
            "Security Lake source {source} has no source-version {} schema",
            version.number()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_qualified_names() {
        assert_eq!(split_qualified("\"a\".\"b.c\""), vec!["a", "b.c"]);
        assert_eq!(split_qualified("a.b"), vec!["a", "b"]);
        assert_eq!(split_qualified("t"), vec!["t"]);
    }

    #[test]
    fn embedded_schemas_cover_every_source() {
        for s in Source::ALL {
            let cols = security_lake_columns(s, SourceVersion::V2).unwrap();
            assert!(cols.iter().any(|c| c.name == "time_dt"), "{s}");
            assert!(cols.iter().any(|c| c.name == "accountid"), "{s}");
        }
        let v1 = security_lake_columns(Source::VpcFlow, SourceVersion::V1).unwrap();
        assert!(v1.iter().any(|c| c.name == "eventday"));
        assert!(security_lake_columns(Source::Waf, SourceVersion::V1).is_err());
    }

    #[test]
    fn finds_paths_and_suggests() {
        let cols = security_lake_columns(Source::CloudTrailMgmt, SourceVersion::V2).unwrap();
        let t = TableInfo::new(
            "db",
            "amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0",
            cols,
        );
        assert_eq!(t.column_type("actor.user.name"), Some(&DataType::String));
        assert_eq!(t.column_type("ACTOR.User.Name"), Some(&DataType::String));
        assert!(t.column_type("actor.user.nam").is_none());
        let paths: Vec<String> = t.column_paths().into_iter().map(|(p, _)| p).collect();
        assert!(paths.contains(&"api.operation".to_string()));
        let names: Vec<&str> = paths.iter().map(String::as_str).collect();
        assert_eq!(closest("api.operaton", &names, 1), vec!["api.operation"]);
    }
}
