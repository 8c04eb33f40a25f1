//! The `asklake` command line. Parsing lives in [`args`], rendering in [`output`], each command in
//! [`commands`]; the pipeline, engines and configuration are the `asklake` crate's.

mod args;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("asklake: {}", output::clean(&e.to_string()));
            ExitCode::from(commands::exit_code(&e))
        }
    }
}
