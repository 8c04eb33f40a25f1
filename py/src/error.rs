//! The Python exception hierarchy, created here and re-exported by the package, and the conversion of the
//! core's errors into it (with their details as attributes).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    AsklakeError,
    PyException,
    "Base of every asklake error."
);
create_exception!(
    _native,
    ConfigError,
    AsklakeError,
    "Bad options, a missing LLM, an empty question."
);
create_exception!(
    _native,
    GuardError,
    AsklakeError,
    "The SQL guard refused the query; `code` and `reason` say why."
);
create_exception!(
    _native,
    ValidationError,
    AsklakeError,
    "A table or column the query names does not exist."
);
create_exception!(
    _native,
    QueryError,
    AsklakeError,
    "The engine could not run the query; `kind` and the engine's message."
);
create_exception!(
    _native,
    QueryTimeoutError,
    AsklakeError,
    "The query ran longer than allowed and was cancelled."
);
create_exception!(
    _native,
    LlmError,
    AsklakeError,
    "The LLM call failed; `status`, `code`, `request_id` as the provider sent them."
);
create_exception!(
    _native,
    ServiceError,
    AsklakeError,
    "A cloud service call (Athena's API) failed."
);
create_exception!(
    _native,
    UnresolvedError,
    AsklakeError,
    "No working query within the attempts; `attempts` and the last error."
);
create_exception!(
    _native,
    LakeError,
    AsklakeError,
    "The lake folder is missing, malformed or not a lake."
);

/// `?` on the core's results inside `#[pymethods]`: `result.py()?`.
pub trait ResultExt<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> ResultExt<T> for asklake::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// An internal failure (serialization, a poisoned lock) as the base exception.
pub fn internal(e: impl std::fmt::Display) -> PyErr {
    AsklakeError::new_err(e.to_string())
}

/// The core's error as the matching Python exception, with its details as attributes.
pub fn to_py(e: asklake::Error) -> PyErr {
    use asklake::Error as E;
    let msg = e.to_string();
    let err = match &e {
        E::Guard { .. } => GuardError::new_err(msg),
        E::Validation(_) => ValidationError::new_err(msg),
        E::Query { .. } => QueryError::new_err(msg),
        E::Timeout(_) => QueryTimeoutError::new_err(msg),
        E::Llm(_) => LlmError::new_err(msg),
        E::Service(_) => ServiceError::new_err(msg),
        E::Unresolved { .. } => UnresolvedError::new_err(msg),
        E::Config(_) => ConfigError::new_err(msg),
        E::Lake(_) | E::Schema(_) | E::Io { .. } => LakeError::new_err(msg),
        _ => AsklakeError::new_err(msg),
    };
    Python::attach(|py| {
        let v = err.value(py);
        let set = |k: &str, val: serde_json::Value| {
            if let Ok(obj) = pythonize::pythonize(py, &val) {
                let _ = v.setattr(k, obj);
            }
        };
        use serde_json::json;
        match &e {
            E::Guard { code, reason } => {
                set("code", json!(code));
                set("reason", json!(reason));
            }
            E::Query {
                engine,
                kind,
                message,
            } => {
                set("engine", json!(engine));
                set("kind", json!(kind));
                set("message", json!(message));
            }
            E::Llm(s) | E::Service(s) => {
                set("service", json!(s.service));
                set("status", json!(s.status));
                set("code", json!(s.code));
                set("request_id", json!(s.request_id));
                set("retryable", json!(s.retryable));
            }
            E::Validation(u) => {
                set("name", json!(u.name));
                set("candidates", json!(u.candidates));
            }
            E::Unresolved { attempts, last } => {
                set("attempts", json!(attempts));
                set("last_error", json!(last.to_string()));
                set("last_kind", json!(last.kind()));
                let (name, candidates) = match last.as_ref() {
                    asklake::Error::Validation(u) => (json!(u.name), json!(u.candidates)),
                    _ => (json!(null), json!(null)),
                };
                set("name", name);
                set("candidates", candidates);
            }
            _ => {}
        }
    });
    err
}

/// Registers the exception classes; they pickle because pickle finds them by their module path.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for (name, ty) in [
        ("AsklakeError", py.get_type::<AsklakeError>()),
        ("ConfigError", py.get_type::<ConfigError>()),
        ("GuardError", py.get_type::<GuardError>()),
        ("ValidationError", py.get_type::<ValidationError>()),
        ("QueryError", py.get_type::<QueryError>()),
        ("QueryTimeoutError", py.get_type::<QueryTimeoutError>()),
        ("LlmError", py.get_type::<LlmError>()),
        ("ServiceError", py.get_type::<ServiceError>()),
        ("UnresolvedError", py.get_type::<UnresolvedError>()),
        ("LakeError", py.get_type::<LakeError>()),
    ] {
        ty.setattr("__module__", "asklake._native")?;
        m.add(name, ty)?;
    }
    Ok(())
}
