use super::*;

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let p = dir.path().join("asklake.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn defaults_without_file_or_env() {
    let r = Loader::new().no_discovery().env(no_env()).load().unwrap();
    assert_eq!(r.config, Config::default());
    assert_eq!(r.origin("llm.model"), None);
    assert!(r.file.is_none());
}

#[test]
fn precedence_is_flags_env_profile_file_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        r#"
[engine]
workgroup = "from-file"
database = "db_file"
output_location = "s3://file/"

[llm]
provider = "bedrock"
model = "haiku"

[profiles.prod.engine]
workgroup = "from-profile"
database = "db_profile"

[profiles.prod]
llm.model = "opus"
"#,
    );
    let env = vec![
        (
            "ASKLAKE_ATHENA_WORKGROUP".to_string(),
            "from-env".to_string(),
        ),
        ("ASKLAKE_MODEL".to_string(), "sonnet".to_string()),
    ];
    let r = Loader::new()
        .file(&f)
        .profile("prod")
        .env(env)
        .set("llm.model", "nova-pro", "--model")
        .unwrap()
        .load()
        .unwrap();
    let c = &r.config;
    assert_eq!(c.llm.model.as_deref(), Some("nova-pro"));
    assert_eq!(
        r.origin("llm.model"),
        Some(&Origin::Override("--model".into()))
    );
    assert_eq!(c.engine.workgroup, "from-env");
    assert_eq!(
        r.origin("engine.workgroup"),
        Some(&Origin::Env("ASKLAKE_ATHENA_WORKGROUP".into()))
    );
    assert_eq!(c.engine.database.as_deref(), Some("db_profile"));
    assert!(
        matches!(r.origin("engine.database"), Some(Origin::Profile { name, .. }) if name == "prod")
    );
    assert_eq!(c.engine.output_location.as_deref(), Some("s3://file/"));
    assert_eq!(
        r.origin("engine.output_location"),
        Some(&Origin::File(f.clone()))
    );
    assert_eq!(c.llm.provider, LlmProvider::Bedrock);
    assert_eq!(c.engine.kind, EngineKind::Local);
    assert_eq!(r.origin("engine.kind"), None);
}

#[test]
fn profile_from_env_and_missing_profile_names_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        "[profiles.a.llm]\nmodel = \"haiku\"\n[profiles.b.llm]\nmodel = \"opus\"\n",
    );
    let r = Loader::new()
        .file(&f)
        .env(vec![("ASKLAKE_PROFILE".into(), "b".into())])
        .load()
        .unwrap();
    assert_eq!(r.config.llm.model.as_deref(), Some("opus"));
    assert_eq!(r.profile.as_deref(), Some("b"));
    let e = Loader::new()
        .file(&f)
        .profile("c")
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"c\"") && e.contains("a, b"), "{e}");
}

#[test]
fn unknown_keys_and_bad_values_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "[engine]\nkind = \"local\"\nworkgroupp = \"x\"\n");
    let e = Loader::new()
        .file(&f)
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("asklake.toml"), "{e}");
    assert!(e.contains("line 3"), "{e}");
    assert!(e.contains("workgroupp"), "{e}");

    let f = write(&dir, "[llm]\nprovider = \"bedrok\"\n");
    let e = Loader::new()
        .file(&f)
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("bedrok"), "{e}");

    let f = write(&dir, "[pipeline]\nmax_rows = \"many\"\n");
    let e = Loader::new()
        .file(&f)
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("max_rows"), "{e}");

    let f = write(&dir, "[nonsense]\na = 1\n");
    let e = Loader::new()
        .file(&f)
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("nonsense") && e.contains("line 1"), "{e}");

    let f = write(&dir, "[engine\n");
    let e = Loader::new()
        .file(&f)
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("asklake.toml") && e.contains("line 1"), "{e}");

    let f = write(&dir, "[profiles.x.engine]\nlakee = \"d\"\n");
    let e = Loader::new()
        .file(&f)
        .env(no_env())
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("lakee"), "{e}");
}

#[test]
fn env_strings_become_the_types_keys_need() {
    let env = vec![
        (
            "ASKLAKE_ATHENA_MAX_BYTES".to_string(),
            "1000000".to_string(),
        ),
        ("ASKLAKE_ENGINE".to_string(), "athena".to_string()),
        ("ASKLAKE_RETRIEVER".to_string(), "bm25".to_string()),
    ];
    let r = Loader::new().no_discovery().env(env).load().unwrap();
    assert_eq!(r.config.engine.max_bytes_scanned, Some(1_000_000));
    assert_eq!(r.config.engine.kind, EngineKind::Athena);
    assert_eq!(r.config.retrieval.retriever, RetrieverKind::Lexical);

    let e = Loader::new()
        .no_discovery()
        .env(vec![("ASKLAKE_ATHENA_MAX_BYTES".into(), "lots".into())])
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ASKLAKE_ATHENA_MAX_BYTES") && e.contains("lots"),
        "{e}"
    );
    let e = Loader::new()
        .no_discovery()
        .env(vec![("ASKLAKE_LLM".into(), "gpt".into())])
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("ASKLAKE_LLM") && e.contains("bedrock"), "{e}");
}

#[test]
fn overrides_take_bare_names_and_check_them() {
    let r = Loader::new()
        .no_discovery()
        .env(no_env())
        .set("region", "eu-west-1", "region=")
        .unwrap()
        .set("max_rows", 5, "max_rows=")
        .unwrap()
        .set("as_of", "2026-11-28 12:00:00", "--as-of")
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(r.config.engine.region.as_deref(), Some("eu-west-1"));
    assert_eq!(r.config.llm.region.as_deref(), Some("eu-west-1"));
    assert_eq!(r.config.pipeline.max_rows, 5);
    assert_eq!(
        r.config.pipeline.as_of.unwrap().to_rfc3339(),
        "2026-11-28T12:00:00+00:00"
    );
    let e = Loader::new()
        .set("modle", "x", "modle=")
        .unwrap_err()
        .to_string();
    assert!(e.contains("modle") && e.contains("llm.model"), "{e}");
    let e = Loader::new()
        .no_discovery()
        .env(no_env())
        .set("as_of", "yesterday", "--as-of")
        .unwrap()
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("--as-of") && e.contains("yesterday"), "{e}");
}

#[test]
fn limits_are_checked() {
    for (k, v) in [
        ("engine.timeout_secs", Value::from(0)),
        ("llm.timeout_secs", Value::from(-1.0)),
        ("pipeline.max_rows", Value::from(0)),
        ("pipeline.max_rows", Value::from(10_000_000_000u64)),
        ("pipeline.max_attempts", Value::from(0)),
    ] {
        let e = Loader::new()
            .no_discovery()
            .env(no_env())
            .set(k, v.clone(), "x")
            .unwrap()
            .load()
            .unwrap_err()
            .to_string();
        assert!(e.contains(k), "{k}={v}: {e}");
    }
}

#[test]
fn discovery_order_and_xdg() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("asklake")).unwrap();
    std::fs::write(
        xdg.join("asklake/config.toml"),
        "[llm]\nmodel = \"from-xdg\"\n",
    )
    .unwrap();
    // Run from a folder without ./asklake.toml: the user's config is read.
    let l = Loader::new().env(vec![(
        "XDG_CONFIG_HOME".to_string(),
        xdg.display().to_string(),
    )]);
    if !Path::new("asklake.toml").exists() {
        let r = l.clone().load().unwrap();
        assert_eq!(r.config.llm.model.as_deref(), Some("from-xdg"));
    }
    // ASKLAKE_CONFIG wins over it, and must exist.
    let other = write(&dir, "[llm]\nmodel = \"from-env-file\"\n");
    let r = Loader::new()
        .env(vec![
            ("XDG_CONFIG_HOME".to_string(), xdg.display().to_string()),
            ("ASKLAKE_CONFIG".to_string(), other.display().to_string()),
        ])
        .load()
        .unwrap();
    assert_eq!(r.config.llm.model.as_deref(), Some("from-env-file"));
    let e = Loader::new()
        .env(vec![(
            "ASKLAKE_CONFIG".to_string(),
            "/nonexistent/a.toml".to_string(),
        )])
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/a.toml"), "{e}");
}

#[test]
fn show_lists_every_key_with_its_origin() {
    let r = Loader::new()
        .no_discovery()
        .env(vec![("ASKLAKE_MODEL".into(), "haiku".into())])
        .load()
        .unwrap();
    let s = r.show();
    let engine = s
        .split("[engine]")
        .nth(1)
        .unwrap()
        .split("[llm]")
        .next()
        .unwrap();
    assert!(engine.contains("\nkind = \"local\"  # default"), "{s}");
    assert!(s.contains("model = \"haiku\"  # env ASKLAKE_MODEL"), "{s}");
    assert!(
        s.contains("[pipeline]") && s.contains("max_attempts = 3  # default"),
        "{s}"
    );
    // Every key of the config appears once.
    let keys = flatten(&to_json(&Config::default())).len();
    assert_eq!(s.lines().filter(|l| l.contains(" = ")).count(), keys, "{s}");
}

#[test]
fn times_parse_in_every_documented_form() {
    for s in [
        "2026-11-28T12:30:00Z",
        "2026-11-28T21:30:00+09:00",
        "2026-11-28 12:30:00",
        "2026-11-28T12:30:00",
        "2026-11-28 12:30",
    ] {
        assert_eq!(
            parse_time(s).unwrap().to_rfc3339(),
            "2026-11-28T12:30:00+00:00",
            "{s}"
        );
    }
    assert_eq!(
        parse_time("2026-11-28").unwrap().to_rfc3339(),
        "2026-11-28T00:00:00+00:00"
    );
    assert!(parse_time("28/11/2026").is_err());
}

#[test]
fn enums_parse_from_str() {
    assert_eq!("athena".parse::<EngineKind>().unwrap(), EngineKind::Athena);
    assert_eq!("Local".parse::<EngineKind>().unwrap(), EngineKind::Local);
    assert!("s3".parse::<EngineKind>().is_err());
    assert_eq!(
        "openai".parse::<LlmProvider>().unwrap(),
        LlmProvider::Openai
    );
    assert!("claude".parse::<LlmProvider>().is_err());
}
