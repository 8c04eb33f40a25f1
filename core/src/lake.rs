//! A local lake folder: Parquet files laid out like Security Lake's tables, plus `manifest.json`, which records
//! how the lake was made (seed, as-of time, sources) and, for a demo lake, the planted scenarios' facts.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::schema::{SecurityLakeTable, Source, SourceVersion};

pub const MANIFEST: &str = "manifest.json";
pub const FORMAT: &str = "asklake-lake";

/// `manifest.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`]; tells a lake folder from any other.
    pub format: String,
    pub format_version: u32,
    /// Queries on this lake evaluate `current_timestamp` here unless told otherwise.
    pub as_of: Option<DateTime<Utc>>,
    /// The rollup region whose table names hold all regions' data.
    pub rollup_region: String,
    pub tables: Vec<LakeTable>,
    /// How a demo lake was generated; absent for other lakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<serde_json::Value>,
}

/// One table of the lake and where its files are.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LakeTable {
    pub source: Source,
    pub version: SourceVersion,
    /// Folder relative to the lake root.
    pub path: String,
    pub rows: u64,
}

impl LakeTable {
    pub fn security_lake(&self, rollup_region: &str) -> SecurityLakeTable {
        SecurityLakeTable::new(self.source, self.version, rollup_region)
    }

    /// Folder for a table, relative to the lake root.
    pub fn folder(source: Source, version: SourceVersion) -> String {
        format!("sl{}/{}", version.number(), source.as_str())
    }
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Lake(format!(
                    "{} is not an asklake lake (no {MANIFEST}); create a demo lake with `asklake demo --dir {}`",
                    dir.display(),
                    dir.display()
                ))
            } else {
                Error::io(&path, e)
            }
        })?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::Lake(format!("{} is malformed: {e}", path.display())))?;
        if m.format != FORMAT {
            return Err(Error::Lake(format!(
                "{} has format {:?}, expected {FORMAT:?}",
                path.display(),
                m.format
            )));
        }
        if m.format_version != 1 {
            return Err(Error::Lake(format!(
                "{} has format_version {}; this asklake reads version 1",
                path.display(),
                m.format_version
            )));
        }
        Ok(m)
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST);
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
        crate::io::write_atomic(&path, text.as_bytes())
    }
}

/// The lake folder: `--lake`, else `ASKLAKE_LAKE`, else `./asklake-demo`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("ASKLAKE_LAKE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("asklake-demo"))
}
