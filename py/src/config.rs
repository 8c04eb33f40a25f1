//! Python keyword arguments into the core's configuration layer: every setting is named as in the config
//! file (`max_rows`, `retriever`, `llm.model`, …), so the binding restates none of them.

use asklake::config::{Config, Loader};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{ResultExt, internal};

/// `base` with each non-None `settings` item as an override (`key=` in error messages).
pub fn with_settings(mut base: Loader, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Loader> {
    if let Some(d) = settings {
        for (k, v) in d.iter() {
            if v.is_none() {
                continue;
            }
            let key: String = k.extract()?;
            let value: serde_json::Value = pythonize::depythonize(&v).map_err(internal)?;
            base = base.set(&key, value, format!("{key}=")).py()?;
        }
    }
    Ok(base)
}

/// The configuration of an explicitly constructed object: defaults, the environment, then `settings`
/// (no config file is read; `Text2Sql.from_config` reads one).
pub fn explicit(settings: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    Ok(with_settings(Loader::new().no_discovery(), settings)?
        .load()
        .py()?
        .config)
}

/// The configuration the CLI would resolve: `path` or the discovered config file, `profile`, the
/// environment, then `overrides`.
pub fn discovered(
    path: Option<std::path::PathBuf>,
    profile: Option<String>,
    overrides: Option<&Bound<'_, PyDict>>,
) -> PyResult<asklake::config::Resolved> {
    let mut l = Loader::new();
    if let Some(p) = path {
        l = l.file(p);
    }
    if let Some(p) = profile {
        l = l.profile(p);
    }
    with_settings(l, overrides)?.load().py()
}

/// `asklake.config_show(path=None, profile=None, **overrides)`: the resolved settings and where each came
/// from, as `asklake config show` prints them.
#[pyfunction]
#[pyo3(signature = (path=None, profile=None, **overrides))]
pub fn config_show(
    path: Option<std::path::PathBuf>,
    profile: Option<String>,
    overrides: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    Ok(discovered(path, profile, overrides)?.show())
}
