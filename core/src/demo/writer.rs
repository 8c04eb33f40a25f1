//! Writes generated rows as Parquet with the exact Security Lake types: rows are staged as JSON lines inside
//! the lake folder, then DuckDB reads them with the table's declared column types (so every table has exactly
//! the reference schema, missing fields as NULL) and writes sorted, compressed Parquet.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde_json::Value;

use super::Versions;
use crate::engine::duckdb::sql_string;
use crate::error::{Error, Result};
use crate::lake::LakeTable;
use crate::schema::{Source, SourceVersion, security_lake_columns};

/// Rows per staged chunk; bounds disk and memory use for large scales.
const CHUNK_ROWS: u64 = 400_000;

struct Sink {
    source: Source,
    version: SourceVersion,
    file: Option<BufWriter<File>>,
    in_chunk: u64,
    chunks: u32,
    rows: u64,
}

pub(super) struct Sinks {
    dir: PathBuf,
    staging: PathBuf,
    versions: Versions,
    conn: Connection,
    sinks: BTreeMap<(SourceVersion, Source), Sink>,
    error: Option<Error>,
}

impl Sinks {
    pub fn new(dir: &Path, versions: Versions) -> Result<Sinks> {
        let staging = dir.join(".staging");
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        let conn = Connection::open_in_memory().map_err(crate::engine::duckdb::engine_error)?;
        conn.execute_batch("SET TimeZone = 'UTC'; SET preserve_insertion_order = false;")
            .map_err(crate::engine::duckdb::engine_error)?;
        let mut sinks = BTreeMap::new();
        for v in [SourceVersion::V1, SourceVersion::V2] {
            if !versions.includes(v) {
                continue;
            }
            for s in Source::ALL {
                if v == SourceVersion::V1 && !matches!(s, Source::CloudTrailMgmt | Source::VpcFlow)
                {
                    continue;
                }
                sinks.insert(
                    (v, s),
                    Sink {
                        source: s,
                        version: v,
                        file: None,
                        in_chunk: 0,
                        chunks: 0,
                        rows: 0,
                    },
                );
            }
        }
        Ok(Sinks {
            dir: dir.to_path_buf(),
            staging,
            versions,
            conn,
            sinks,
            error: None,
        })
    }

    fn emit(&mut self, version: SourceVersion, source: Source, row: &Value) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_emit(version, source, row) {
            self.error = Some(e);
        }
    }

    fn try_emit(&mut self, version: SourceVersion, source: Source, row: &Value) -> Result<()> {
        let staging = self.staging.clone();
        let Some(sink) = self.sinks.get_mut(&(version, source)) else {
            return Ok(());
        };
        let path = staging.join(format!("{}-{}.ndjson", version.number(), source.as_str()));
        if sink.file.is_none() {
            let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
            sink.file = Some(BufWriter::with_capacity(1 << 20, f));
        }
        if let Some(f) = sink.file.as_mut() {
            serde_json::to_writer(&mut *f, row).map_err(|e| Error::Internal(e.to_string()))?;
            f.write_all(b"\n").map_err(|e| Error::io(&path, e))?;
        }
        sink.in_chunk += 1;
        sink.rows += 1;
        if sink.in_chunk >= CHUNK_ROWS {
            self.flush_chunk(version, source)?;
        }
        Ok(())
    }

    fn flush_chunk(&mut self, version: SourceVersion, source: Source) -> Result<()> {
        let staging = self.staging.clone();
        let dir = self.dir.clone();
        let Some(sink) = self.sinks.get_mut(&(version, source)) else {
            return Ok(());
        };
        let Some(mut f) = sink.file.take() else {
            return Ok(());
        };
        let path = staging.join(format!("{}-{}.ndjson", version.number(), source.as_str()));
        f.flush().map_err(|e| Error::io(&path, e))?;
        drop(f);
        let columns = security_lake_columns(source, version)?;
        let spec: Vec<String> = columns
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    sql_string(&c.name),
                    sql_string(&c.data_type.duckdb_name())
                )
            })
            .collect();
        let read = format!(
            "SELECT * FROM read_ndjson({}, columns = {{{}}}, maximum_object_size = 67108864) ORDER BY time",
            sql_string(&path.display().to_string()),
            spec.join(", ")
        );
        let out = dir.join(LakeTable::folder(source, version));
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        let copy = match version {
            SourceVersion::V2 => format!(
                "COPY ({read}) TO {} (FORMAT parquet, COMPRESSION zstd)",
                sql_string(
                    &out.join(format!("part-{:05}.parquet", sink.chunks))
                        .display()
                        .to_string()
                )
            ),
            SourceVersion::V1 => format!(
                "COPY ({read}) TO {} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (region, accountid, eventday), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'part-{:05}-{{i}}')",
                sql_string(&out.display().to_string()),
                sink.chunks
            ),
        };
        sink.chunks += 1;
        sink.in_chunk = 0;
        self.conn
            .execute_batch(&copy)
            .map_err(|e| Error::Internal(format!("writing {source} v{}: {e}", version.number())))?;
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        Ok(())
    }

    pub fn cloudtrail(&mut self, ev: &super::cloudtrail::CtEvent) {
        use super::cloudtrail::Trail;
        let source = match ev.trail {
            Trail::Management => Source::CloudTrailMgmt,
            Trail::S3Data => Source::S3Data,
            Trail::LambdaData => Source::LambdaExecution,
        };
        if self.versions.includes(SourceVersion::V2) {
            self.emit(SourceVersion::V2, source, &ev.to_v2());
        }
        if source == Source::CloudTrailMgmt && self.versions.includes(SourceVersion::V1) {
            self.emit(SourceVersion::V1, source, &ev.to_v1());
        }
    }

    pub fn flow(&mut self, f: &super::network::Flow) {
        if self.versions.includes(SourceVersion::V2) {
            self.emit(SourceVersion::V2, Source::VpcFlow, &f.to_v2());
        }
        if self.versions.includes(SourceVersion::V1) {
            self.emit(SourceVersion::V1, Source::VpcFlow, &f.to_v1());
        }
    }

    pub fn dns(&mut self, d: &super::network::Dns) {
        self.emit(SourceVersion::V2, Source::Route53, &d.to_v2());
    }

    pub fn finding(&mut self, f: &super::others::Finding) {
        self.emit(SourceVersion::V2, Source::ShFindings, &f.to_v2());
    }

    pub fn eks(&mut self, e: &super::others::EksEvent) {
        self.emit(SourceVersion::V2, Source::EksAudit, &e.to_v2());
    }

    pub fn waf(&mut self, w: &super::others::WafRequest) {
        self.emit(SourceVersion::V2, Source::Waf, &w.to_v2());
    }

    /// The first error any emit hit.
    pub fn check(&mut self) -> Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Converts what is staged and lists the tables written.
    pub fn finish(mut self) -> Result<Vec<LakeTable>> {
        let keys: Vec<(SourceVersion, Source)> = self.sinks.keys().copied().collect();
        for (v, s) in &keys {
            self.flush_chunk(*v, *s)?;
        }
        std::fs::remove_dir_all(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        Ok(self
            .sinks
            .values()
            .filter(|s| s.rows > 0)
            .map(|s| LakeTable {
                source: s.source,
                version: s.version,
                path: LakeTable::folder(s.source, s.version),
                rows: s.rows,
            })
            .collect())
    }
}
