//! The command line's own behaviour: the shared configuration (file, profile, env, flags, `config show`),
//! reading SQL from files and standard input, output formats, exit codes, closed pipes.

use std::io::Write;

use assert_cmd::Command;

use crate::common::*;

/// `asklake` with a clean environment: no settings of the developer's leak into the test.
fn asklake(dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("asklake").unwrap();
    c.current_dir(dir);
    for v in [
        "ASKLAKE_CONFIG",
        "ASKLAKE_PROFILE",
        "ASKLAKE_ENGINE",
        "ASKLAKE_LAKE",
        "ASKLAKE_LLM",
        "ASKLAKE_MODEL",
        "ASKLAKE_LIBRARY",
        "ASKLAKE_AUDIT_LOG",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    ] {
        c.env_remove(v);
    }
    c.env("XDG_CONFIG_HOME", dir.join("no-user-config"));
    c
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn config_file_profiles_env_and_flags_resolve_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("asklake.toml"),
        format!(
            "[engine]\nlake = {:?}\n\n[llm]\nprovider = \"bedrock\"\nmodel = \"haiku\"\n\n\
             [profiles.team.llm]\nmodel = \"opus\"\n",
            lake_dir().display().to_string()
        ),
    )
    .unwrap();
    // ./asklake.toml is found; the profile, env and flag each win over the one before.
    let o = asklake(dir.path())
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("model = \"haiku\"  # asklake.toml"), "{s}");
    assert!(s.contains("provider = \"bedrock\"  # asklake.toml"), "{s}");
    let o = asklake(dir.path())
        .args(["--profile", "team", "config", "show"])
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("model = \"opus\"  # profile team in asklake.toml"),
        "{}",
        stdout(&o)
    );
    let o = asklake(dir.path())
        .args(["--profile", "team", "config", "show"])
        .env("ASKLAKE_MODEL", "sonnet")
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("model = \"sonnet\"  # env ASKLAKE_MODEL"),
        "{}",
        stdout(&o)
    );
    let o = asklake(dir.path())
        .args(["--profile", "team", "--model", "nova-pro", "config", "show"])
        .env("ASKLAKE_MODEL", "sonnet")
        .env("ASKLAKE_PROFILE", "nonexistent")
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("model = \"nova-pro\"  # --model"),
        "{}",
        stdout(&o)
    );

    // The lake from the config file is the one queries run on.
    let o = asklake(dir.path())
        .args(["tables", "--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let tables: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(tables.as_array().unwrap().len(), 10, "{tables}");
    assert!(
        tables[0]["table"]
            .as_str()
            .unwrap()
            .starts_with("amazon_security_lake_glue_db_")
    );
}

#[test]
fn config_show_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let o = asklake(dir.path())
        .args(["--llm", "openai", "--model", "m", "config", "show"])
        .env("OPENAI_API_KEY", "sk-very-secret-value")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(!s.contains("sk-very-secret-value"), "{s}");
    assert!(s.contains("api key: set (OPENAI_API_KEY)"), "{s}");
}

#[test]
fn bad_config_is_a_clear_error_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "[engine]\nkind = \"local\"\n\n[llm]\nmodle = \"haiku\"\n",
    )
    .unwrap();
    let o = asklake(dir.path())
        .args(["--config", f.to_str().unwrap(), "tables"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml") && e.contains("line 5") && e.contains("modle"),
        "{e}"
    );
    // A missing file named explicitly, or through ASKLAKE_CONFIG, is an error, not silence.
    let o = asklake(dir.path())
        .args(["tables"])
        .env("ASKLAKE_CONFIG", dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    // Bad values from the environment name the variable.
    let o = asklake(dir.path())
        .args(["config", "show"])
        .env("ASKLAKE_ENGINE", "postgres")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ASKLAKE_ENGINE"), "{}", stderr(&o));
}

#[test]
fn sql_reads_files_stdin_and_leading_comments() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_dir().to_str().unwrap().to_string();
    let sql = format!("-- how many CloudTrail rows\nSELECT count(*) AS n FROM {CT2}");
    let f = dir.path().join("q.sql");
    std::fs::File::create(&f)
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let from_file = asklake(dir.path())
        .args([
            "--lake",
            &lake,
            "sql",
            "-f",
            f.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    let from_stdin = asklake(dir.path())
        .args(["--lake", &lake, "sql", "-", "--format", "csv"])
        .write_stdin(sql.clone())
        .output()
        .unwrap();
    assert!(from_stdin.status.success(), "{}", stderr(&from_stdin));
    let from_arg = asklake(dir.path())
        .args(["--lake", &lake, "sql", &sql, "--format", "csv"])
        .output()
        .unwrap();
    assert!(from_arg.status.success(), "{}", stderr(&from_arg));
    let out = stdout(&from_file);
    assert!(
        out.starts_with("n\n") && out.trim().lines().count() == 2,
        "{out}"
    );
    assert_eq!(out, stdout(&from_stdin));
    assert_eq!(out, stdout(&from_arg));
}

#[test]
fn output_formats_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_dir().to_str().unwrap().to_string();
    let q = format!(
        "SELECT api.operation AS op, count(*) AS n FROM {CT2} GROUP BY 1 ORDER BY 2 DESC LIMIT 3"
    );
    let o = asklake(dir.path())
        .args(["--lake", &lake, "sql", &q, "--format", "json"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["row_count"], 3);
    assert_eq!(j["columns"][1]["type"], "bigint");
    let o = asklake(dir.path())
        .args(["--lake", &lake, "sql", &q])
        .output()
        .unwrap();
    let t = stdout(&o);
    assert!(t.lines().next().unwrap().starts_with("| op"), "{t}");
    assert!(t.contains("(3 rows"), "{t}");
    // The guard's refusal: exit 2 with the reason.
    let o = asklake(dir.path())
        .args(["--lake", &lake, "sql", &format!("DELETE FROM {CT2}")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rejected"), "{}", stderr(&o));
    // An engine error: exit 1 with the engine's message.
    let o = asklake(dir.path())
        .args(["--lake", &lake, "sql", &format!("SELECT nope FROM {CT2}")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    // The schema and the library in every format.
    for fmt in ["table", "json", "csv"] {
        let o = asklake(dir.path())
            .args([
                "--lake",
                &lake,
                "schema",
                "amazon_security_lake_table_us_east_1_vpc_flow_2_0",
            ])
            .args(["--format", fmt])
            .output()
            .unwrap();
        assert!(o.status.success(), "{fmt}: {}", stderr(&o));
        assert!(stdout(&o).contains("src_endpoint"), "{fmt}");
        let o = asklake(dir.path())
            .args(["fewshot", "list", "--format", fmt])
            .output()
            .unwrap();
        assert!(
            o.status.success() && stdout(&o).contains("ct-root-usage"),
            "{fmt}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    for args in [vec!["tables"], vec!["fewshot", "list"]] {
        let mut child = Std::new(assert_cmd::cargo::cargo_bin("asklake"))
            .current_dir(dir.path())
            .args(["--lake", lake_dir().to_str().unwrap()])
            .args(&args)
            .env_remove("ASKLAKE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close our end at once, as `| head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn terminal_output_neutralizes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let o = asklake(dir.path())
        .args(["--lake", lake_dir().to_str().unwrap()])
        .args([
            "sql",
            &format!("SELECT chr(27) || '[31mred' || chr(13) AS x FROM {CT2} LIMIT 1"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(!t.contains('\u{1b}') && !t.contains('\r'), "{t:?}");
    assert!(t.contains("\\u{1b}[31mred"), "{t}");
}

/// `--timeout` ends the command promptly, even when the engine is still unwinding the query.
#[test]
fn a_timed_out_query_returns_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_dir().to_str().unwrap().to_string();
    let start = std::time::Instant::now();
    let o = asklake(dir.path())
        .args(["--lake", &lake])
        .args([
            "sql",
            &format!("SELECT count(*) FROM {CT2} a, {CT2} b, {CT2} c, {CT2} d"),
            "--timeout",
            "1",
        ])
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    // A zero or negative timeout is a usage error, not "after 0ns".
    let o = asklake(dir.path())
        .args(["--lake", lake_dir().to_str().unwrap()])
        .args([
            "sql",
            &format!("SELECT 1 FROM {CT2} LIMIT 1"),
            "--timeout",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("timeout_secs"), "{}", stderr(&o));
}

/// The engine's memory cap holds for a hostile query: the process's peak memory stays near the cap (not the
/// gigabytes the same query takes uncapped), and the query fails with a clear error.
#[test]
fn a_query_over_the_memory_cap_fails_within_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("asklake.toml"),
        "[engine]\nmemory_limit = \"300MB\"\nmax_temp_size = \"100MB\"\n",
    )
    .unwrap();
    let heavy = format!(
        "SELECT len(array_agg(a.metadata.uid || b.metadata.uid)) AS n FROM {CT2} a, {CT2} b"
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("asklake"))
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("no-user-config"))
        .env_remove("ASKLAKE_CONFIG")
        .env_remove("ASKLAKE_PROFILE")
        .args([
            "--lake",
            lake_dir().to_str().unwrap(),
            "sql",
            &heavy,
            "--timeout",
            "120",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The kernel's high-water mark of the child's resident memory, read until it exits (it only grows;
    // polled every 10 ms, bounded by the query's own timeout).
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(150);
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the query outlived its timeout"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let peak_mb = peak_kb / 1024;
    eprintln!("peak RSS with a 300MB cap: {peak_mb} MB");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(peak_mb > 50, "the memory reading works ({peak_mb} MB)");
    assert!(err.contains("memory"), "{err}");
    assert!(!err.contains("SET memory_limit"), "{err}");
    // The cap plus the process's own baseline (about 70 MB) and allocator slack.
    assert!(peak_mb < 500, "peak {peak_mb} MB over a 300 MB cap");
}

/// An audit log that cannot be written stops `ask` before the question is asked; `--show-prompt` checks
/// the question like a real run does.
#[test]
fn unwritable_audit_logs_and_overlong_questions_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_dir().to_str().unwrap().to_string();
    let o = asklake(dir.path())
        .args([
            "--lake",
            &lake,
            "ask",
            "Are there logs of root account usage?",
        ])
        .args(["--audit-log", "/proc/asklake-cannot-write/audit.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("audit_log"), "{}", stderr(&o));
    let long = "x".repeat(5000);
    let o = asklake(dir.path())
        .args(["--lake", &lake, "ask", &long, "--show-prompt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("limit"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

/// A lake with one corrupt file: `tables` lists the broken table with the file at fault, `sql` on the
/// other tables works, and a query of the broken one says why.
#[test]
fn a_corrupt_file_is_named_and_the_rest_of_the_lake_works() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    copy_dir(lake_dir(), &lake);
    let waf = lake.join("sl2/waf");
    let bad = waf.join("zz-broken.parquet");
    std::fs::write(&bad, b"PAR1 not parquet PAR1").unwrap();
    let o = asklake(dir.path())
        .args([
            "--lake",
            lake.to_str().unwrap(),
            "tables",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.contains("waf_2_0")).unwrap();
    assert!(
        line.contains("UNAVAILABLE") && line.contains("zz-broken.parquet"),
        "{line}"
    );
    let o = asklake(dir.path())
        .args([
            "--lake",
            lake.to_str().unwrap(),
            "sql",
            &format!("SELECT count(*) AS n FROM {CT2}"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let waf_table = CT2.replace("cloud_trail_mgmt_2_0", "waf_2_0");
    let o = asklake(dir.path())
        .args([
            "--lake",
            lake.to_str().unwrap(),
            "sql",
            &format!("SELECT count(*) FROM {waf_table}"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unavailable") && stderr(&o).contains("zz-broken.parquet"),
        "{}",
        stderr(&o)
    );
}
