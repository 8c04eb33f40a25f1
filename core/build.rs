//! Links the prebuilt DuckDB library with an rpath, so `asklake` runs without LD_LIBRARY_PATH when
//! built against `DUCKDB_LIB_DIR` (see scripts/setup-duckdb.sh). With the `bundled` feature this does nothing.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        return;
    }
    if let Some(dir) = std::env::var_os("DUCKDB_LIB_DIR") {
        println!(
            "cargo:rustc-link-arg=-Wl,-rpath,{}",
            std::path::Path::new(&dir).display()
        );
    }
}
