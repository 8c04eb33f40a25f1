//! `asklake sql`: one read-only query through the guard.

use std::io::Read;
use std::process::ExitCode;

use asklake::Error;

use crate::args::{GlobalArgs, SqlArgs};
use crate::output::print;

/// The query text: `-f FILE`, `-` for standard input, or the argument itself.
fn query_text(a: &SqlArgs) -> asklake::Result<String> {
    if let Some(f) = &a.file {
        return std::fs::read_to_string(f).map_err(|e| Error::io(f, e));
    }
    match a.query.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::io("<stdin>", e))?;
            Ok(s)
        }
        Some(q) => Ok(q.to_string()),
        None => Err(Error::Config("give a query, `-` (stdin) or -f FILE".into())),
    }
}

pub async fn run(g: &GlobalArgs, a: SqlArgs) -> asklake::Result<ExitCode> {
    let query = query_text(&a)?;
    let resolved = g
        .loader()?
        .set_opt("pipeline.max_rows", a.max_rows, "--max-rows")?
        .set_opt("pipeline.as_of", a.as_of.clone(), "--as-of")?
        .set_opt("engine.timeout_secs", a.timeout, "--timeout")?
        .load()?;
    let config = &resolved.config;
    let engine = asklake::config::build_engine(config).await?;
    let options = asklake::config::query_options(config);
    let (_guarded, result) = asklake::sql::run_guarded(engine.as_ref(), &query, &options).await?;
    let text = crate::output::result(&result, a.format);
    print(text.trim_end());
    Ok(ExitCode::SUCCESS)
}
