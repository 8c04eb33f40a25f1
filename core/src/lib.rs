//! # asklake
//!
//! Ask an Amazon Security Lake questions in plain language and get back validated SQL, its result and an
//! explanation. This crate is the core: the schema catalog of Security Lake's OCSF tables, query engines
//! (an embedded DuckDB lake that speaks Athena SQL; Amazon Athena), the SQL guard, and a generator for a
//! realistic demo lake.
//!
//! ```no_run
//! use asklake::engine::{LocalEngine, QueryEngine, QueryOptions, duckdb::LocalOptions};
//! # async fn demo() -> asklake::Result<()> {
//! // Write a small demo lake, open it, and run an Athena query on it (through the guard).
//! let lake = LocalEngine::open("asklake-demo", LocalOptions::default())?;
//! let sql = r#"SELECT src_endpoint.ip, count(*) AS calls
//!   FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0
//!   WHERE time_dt > current_timestamp - INTERVAL '7' DAY
//!   GROUP BY 1 ORDER BY 2 DESC LIMIT 10"#;
//! let (_guarded, result) = asklake::sql::run_guarded(&lake, sql, &QueryOptions::default()).await?;
//! println!("{}", asklake::engine::format::to_csv(&result));
//! # Ok(()) }
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

#[cfg(any(feature = "bedrock", feature = "athena"))]
pub mod aws;
pub mod config;
pub mod demo;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fewshot;
pub mod io;
pub mod lake;
pub mod llm;
pub mod pipeline;
pub mod schema;
pub mod sql;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod tools;
pub mod untrusted;

/// The Arrow crate results are returned in (re-exported so callers use the same version).
pub use duckdb::arrow;
pub use error::{Error, Result};
