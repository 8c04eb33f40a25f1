//! The `asklake` command line. Parsing lives in [`args`], rendering in [`output`], each command in
//! [`commands`]; the pipeline, engines and configuration are the `asklake` crate's.

mod args;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // The library's warnings (a cache not saved, a fallback taken) go to stderr; ASKLAKE_LOG=info|debug|trace
    // shows more.
    let level = std::env::var("ASKLAKE_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("asklake: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("asklake: {}", output::clean(&e.to_string()));
            ExitCode::from(commands::exit_code(&e))
        }
    };
    // A query cancelled on timeout may still be unwinding in a blocking thread; don't wait for it (dropping
    // the runtime would), the answer is already out.
    runtime.shutdown_background();
    code
}
