//! `asklake demo`: write the demo lake.

use std::process::ExitCode;

use asklake::demo;

use crate::args::{DemoArgs, GlobalArgs, SourceVersionArg};
use crate::output::print;

pub fn run(g: &GlobalArgs, a: DemoArgs) -> asklake::Result<ExitCode> {
    let dir = match a.dir {
        Some(d) => d,
        None => g.resolve()?.config.engine.lake,
    };
    let config = demo::DemoConfig {
        dir,
        seed: a.seed,
        days: a.days,
        scale: a.scale,
        as_of: a
            .as_of
            .as_deref()
            .map(asklake::config::parse_time)
            .transpose()?,
        versions: match a.source_version {
            SourceVersionArg::V1 => demo::Versions::V1,
            SourceVersionArg::V2 => demo::Versions::V2,
            SourceVersionArg::All => demo::Versions::All,
        },
        ..Default::default()
    };
    let summary = demo::generate(&config)?;
    for t in &summary.manifest.tables {
        print(&format!(
            "{:<60} {:>10} rows",
            t.security_lake(&summary.manifest.rollup_region).table(),
            t.rows
        ));
    }
    print(&format!(
        "wrote {} source-version-2 rows to {} in {:.1}s (as of {})",
        summary.rows,
        config.dir.display(),
        summary.elapsed.as_secs_f64(),
        summary
            .manifest
            .as_of
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    ));
    Ok(ExitCode::SUCCESS)
}
