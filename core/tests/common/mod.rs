//! A small demo lake shared by the tests of one test binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use asklake::demo::{DemoConfig, Versions, generate};
use asklake::engine::LocalEngine;
use asklake::engine::duckdb::LocalOptions;
use chrono::{DateTime, Utc};

pub const AS_OF: &str = "2026-11-28T00:00:00Z";

/// Environment that keeps the AWS SDK of a child process away from this machine's own AWS setup: no config
/// or credentials files, no instance metadata (pair with `env_remove("AWS_PROFILE")`).
pub const ISOLATED_AWS: [(&str, &str); 3] = [
    ("AWS_CONFIG_FILE", "/nonexistent"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

pub fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(AS_OF)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn config(dir: PathBuf) -> DemoConfig {
    DemoConfig {
        dir,
        seed: 7,
        days: 30,
        scale: 0.02,
        as_of: Some(as_of()),
        versions: Versions::All,
        ..Default::default()
    }
}

/// Generated once per test binary, in a temporary folder removed at exit by the OS's temp cleanup.
pub fn lake_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("asklake-test-")
            .tempdir()
            .unwrap()
            .keep();
        generate(&config(dir.clone())).unwrap();
        dir
    })
}

/// A copy of a folder (a lake to damage or poison without touching the shared one).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

pub fn engine() -> LocalEngine {
    LocalEngine::open(lake_dir(), LocalOptions::default()).unwrap()
}

pub const CT2: &str = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0";
pub const FLOW2: &str =
    "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0";
pub const DNS2: &str =
    "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_route53_2_0";
pub const SH2: &str =
    "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_sh_findings_2_0";
pub const S3_2: &str =
    "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_s3_data_2_0";
pub const CT1: &str = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_1_0";
pub const FLOW1: &str =
    "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_1_0";
