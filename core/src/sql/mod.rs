//! SQL handling: the Athena dialect, extraction from model output, the guard for untrusted SQL, static
//! validation, skeletons.

pub mod dialect;
pub mod extract;
pub mod guard;
pub mod skeleton;
pub mod validate;

pub use guard::{Guard, GuardConfig, GuardedSql};

use crate::engine::{QueryEngine, QueryOptions, QueryResult};
use crate::error::Result;

/// Guards `sql` against the engine's catalog, then runs it with the guard's row limit.
pub async fn run_guarded(
    engine: &dyn QueryEngine,
    sql: &str,
    options: &QueryOptions,
) -> Result<(GuardedSql, QueryResult)> {
    let catalog = engine.catalog().await?;
    let guard = Guard::new(
        &catalog,
        GuardConfig {
            max_rows: options.max_rows,
            ..Default::default()
        },
    );
    let guarded = guard.check(sql)?;
    let result = engine.execute(&guarded.sql, options).await?;
    Ok((guarded, result))
}
