//! Builds the web app (web/, Vite over npm packages pinned in web/package-lock.json) into OUT_DIR, for
//! `asklake serve` to embed with rust-embed. `npm ci` runs when web/node_modules is missing or older than the
//! lockfile. Without npm on the machine (or with ASKLAKE_NO_WEB=1) the binary embeds a one-page notice
//! instead, and says so as a build warning; the HTTP API works either way.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let web = manifest.join("../web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("web");
    for p in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "public",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=ASKLAKE_NO_WEB");

    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let skip = std::env::var_os("ASKLAKE_NO_WEB").is_some_and(|v| !v.is_empty() && v != "0");
    if skip || !has_npm() {
        let why = if skip {
            "ASKLAKE_NO_WEB is set"
        } else {
            "npm was not found"
        };
        println!(
            "cargo:warning=the web app is not built into this binary ({why}); `asklake serve` serves the API and a notice"
        );
        std::fs::write(out.join("index.html"), notice(why)).unwrap();
    } else {
        if needs_install(&web) {
            npm(&web, &["ci", "--no-audit", "--no-fund"]);
        }
        let out_arg = out.display().to_string();
        npm(
            &web,
            &["run", "build", "--", "--outDir", &out_arg, "--emptyOutDir"],
        );
    }
    // The folder is machine-specific, so the derive is written here and included (rust-embed's own
    // folder interpolation needs a shell-expansion dependency for this one path).
    let code = format!(
        "#[derive(rust_embed::Embed)]\n#[folder = {:?}]\npub struct WebAssets;\n",
        out.display().to_string()
    );
    std::fs::write(
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("web_assets.rs"),
        code,
    )
    .unwrap();
}

fn has_npm() -> bool {
    Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn needs_install(web: &Path) -> bool {
    let installed = web.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(&installed),
        modified(&web.join("package-lock.json")),
    ) {
        (Some(i), Some(l)) => i < l,
        _ => true,
    }
}

fn npm(dir: &Path, args: &[&str]) {
    let out = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("npm {args:?}: {e}"));
    if !out.status.success() {
        panic!(
            "building the web app failed: npm {}\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn notice(why: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>asklake</title></head><body>\
         <h1>asklake</h1><p>The web app was not built into this binary ({why} when it was compiled). \
         The HTTP API under <code>/api</code> works; see the README. To include the app, build asklake \
         with Node.js and npm installed.</p></body></html>\n"
    )
}
