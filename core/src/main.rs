//! The `asklake` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use asklake::engine::duckdb::LocalOptions;
use asklake::engine::{LocalEngine, QueryEngine, QueryOptions, format};
use asklake::{Error, demo};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "asklake",
    version,
    about = "Ask an Amazon Security Lake questions; run Athena SQL on a local demo lake"
)]
struct Cli {
    /// The lake folder [env: ASKLAKE_LAKE; default: ./asklake-demo]
    #[arg(long, global = true)]
    lake: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a realistic demo Security Lake (deterministic for a seed and as-of time).
    Demo {
        /// Where to write it (defaults to --lake).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// 1.0 writes about a million source-version-2 rows.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// End of the generated window (RFC 3339 or `YYYY-MM-DD[ HH:MM:SS]`, UTC); default: this hour.
        #[arg(long, value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
        /// 1, 2 or all.
        #[arg(long, default_value = "all")]
        source_version: String,
    },
    /// List the lake's tables.
    Tables,
    /// Show a table's nested columns and types.
    Schema {
        table: String,
        /// Print the column tree as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one read-only Athena (Trino) SQL query through the guard.
    Sql {
        query: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        #[arg(long, default_value_t = 1000)]
        max_rows: u64,
        /// Evaluate current_timestamp at this instant (default: the lake's as-of time).
        #[arg(long, value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
        /// Cancel the query after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Csv,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "{s:?} is not a time; use RFC 3339 (2026-11-28T00:00:00Z) or YYYY-MM-DD[ HH:MM:SS]"
    ))
}

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Guard { .. } | Error::Config(_) => 2,
        _ => 1,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("asklake: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

async fn run(cli: Cli) -> asklake::Result<()> {
    let lake_dir = cli.lake.clone().unwrap_or_else(asklake::lake::default_dir);
    let open = |as_of: Option<DateTime<Utc>>| {
        LocalEngine::open(
            &lake_dir,
            LocalOptions {
                as_of,
                ..Default::default()
            },
        )
    };
    match cli.command {
        Command::Demo {
            dir,
            seed,
            days,
            scale,
            as_of,
            source_version,
        } => {
            let config = demo::DemoConfig {
                dir: dir.unwrap_or_else(|| lake_dir.clone()),
                seed,
                days,
                scale,
                as_of,
                versions: source_version.parse()?,
                ..Default::default()
            };
            let summary = demo::generate(&config)?;
            for t in &summary.manifest.tables {
                println!(
                    "{:<60} {:>10} rows",
                    t.security_lake(&summary.manifest.rollup_region).table(),
                    t.rows
                );
            }
            println!(
                "wrote {} source-version-2 rows to {} in {:.1}s (as of {})",
                summary.rows,
                config.dir.display(),
                summary.elapsed.as_secs_f64(),
                summary
                    .manifest
                    .as_of
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            );
        }
        Command::Tables => {
            let engine = open(None)?;
            for t in engine.catalog().await?.tables {
                let desc = t.description.clone().unwrap_or_default();
                println!("{}.{}\t{desc}", t.database, t.name);
            }
        }
        Command::Schema { table, json } => {
            let engine = open(None)?;
            let info = engine.describe(&table).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&info)
                        .map_err(|e| Error::Internal(e.to_string()))?
                );
            } else {
                println!("{}", info.qualified_name());
                for (path, ty) in info.column_paths() {
                    let depth = path.matches('.').count();
                    let shown = if ty.is_nested() {
                        short_nested(ty)
                    } else {
                        ty.hive_name()
                    };
                    println!("{}{path}  {shown}", "  ".repeat(depth));
                }
            }
        }
        Command::Sql {
            query,
            format: out,
            max_rows,
            as_of,
            timeout,
        } => {
            let engine = open(as_of)?;
            let options = QueryOptions {
                max_rows,
                timeout: Some(std::time::Duration::from_secs(timeout)),
                as_of,
            };
            let (_guarded, result) = asklake::sql::run_guarded(&engine, &query, &options).await?;
            let mut stdout = std::io::stdout().lock();
            let text = match out {
                OutputFormat::Json => format::to_json(&result).to_string(),
                OutputFormat::Csv => format::to_csv(&result),
                OutputFormat::Table => {
                    let mut s = format::to_table(&result, 60);
                    s.push_str(&format!(
                        "\n({} row{}{}, {} ms)",
                        result.row_count,
                        if result.row_count == 1 { "" } else { "s" },
                        if result.truncated {
                            format!(", truncated at {max_rows}")
                        } else {
                            String::new()
                        },
                        result.stats.elapsed.as_millis()
                    ));
                    s
                }
            };
            let _ = writeln!(stdout, "{}", text.trim_end());
        }
    }
    Ok(())
}

fn short_nested(t: &asklake::schema::DataType) -> String {
    use asklake::schema::DataType;
    match t {
        DataType::Struct { .. } => "struct".into(),
        DataType::Array { element } if matches!(**element, DataType::Struct { .. }) => {
            "array<struct>".into()
        }
        other => other.hive_name(),
    }
}
