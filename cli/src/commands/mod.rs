//! One module per subcommand; [`run`] dispatches.

mod ask;
mod config;
mod demo;
mod eval;
mod fewshot;
mod mcp;
mod serve;
pub mod serve_common;
mod sql;
mod tables;

use std::process::ExitCode;

use asklake::Error;

use crate::args::{Cli, Command};

/// Exit codes (documented in the README): 0 ok, 1 engine / LLM / I/O error, 2 rejected by the guard or bad
/// usage, 3 the model declined.
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Guard { .. } | Error::Config(_) => 2,
        _ => 1,
    }
}

/// Exit code of `ask` when the model declined to answer.
pub const EXIT_REFUSED: u8 = 3;

/// Shows a setup note (a fallback taken) on stderr.
pub fn note(n: &str) {
    eprintln!("asklake: {}", crate::output::clean(n));
}

pub async fn run(cli: Cli) -> asklake::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Demo(a) => demo::run(g, a),
        Command::Tables { format } => tables::tables(g, format).await,
        Command::Schema {
            table,
            format,
            json,
        } => {
            let format = if json {
                crate::args::Format::Json
            } else {
                format
            };
            tables::schema(g, &table, format).await
        }
        Command::Sql(a) => sql::run(g, a).await,
        Command::Ask(a) => ask::run(g, *a).await,
        Command::Eval(a) => eval::run(g, a).await,
        Command::Fewshot { action } => fewshot::run(g, action).await,
        Command::Config { action } => config::run(g, action),
        Command::Mcp(a) => mcp::run(g, a).await,
        Command::Serve(a) => serve::run(g, a).await,
    }
}
