//! The crate's error type. Errors an LLM can repair (guard rejections, validation, engine errors on the SQL)
//! are kept apart from configuration, I/O and internal errors: the repair loop feeds back only the former,
//! with the engine's own message.

use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the engine refused or failed a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryErrorKind {
    /// The SQL does not parse.
    Syntax,
    /// A table, column or function is unknown, or types do not match.
    Binder,
    /// The query started and failed while running (conversion error, out of memory, …).
    Execution,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL guard refused the query. `reason` says what to change.
    #[error("query rejected ({code}): {reason}")]
    Guard { code: &'static str, reason: String },

    /// Static validation against the catalog failed (unknown table or column, with the closest names).
    #[error("invalid query: {0}")]
    Validation(String),

    /// The engine could not run the SQL; `message` is the engine's own.
    #[error("{engine} {kind:?} error: {message}")]
    Query {
        engine: String,
        kind: QueryErrorKind,
        message: String,
    },

    /// The query ran longer than allowed and was cancelled.
    #[error("query timed out after {0:?} and was cancelled")]
    Timeout(Duration),

    /// A schema could not be read or parsed.
    #[error("schema error: {0}")]
    Schema(String),

    /// Bad options, missing settings, unknown names given by the user.
    #[error("configuration error: {0}")]
    Config(String),

    /// The lake folder or one of its files is missing, malformed or not a lake.
    #[error("lake error: {0}")]
    Lake(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A bug or an unexpected engine state; not the user's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// True for errors an LLM can fix by rewriting the SQL.
    pub fn is_repairable(&self) -> bool {
        matches!(
            self,
            Error::Guard { .. } | Error::Validation(_) | Error::Query { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn guard(code: &'static str, reason: impl Into<String>) -> Self {
        Error::Guard {
            code,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairable_kinds() {
        assert!(Error::guard("write", "no").is_repairable());
        assert!(Error::Validation("x".into()).is_repairable());
        assert!(!Error::Config("x".into()).is_repairable());
        assert!(!Error::Timeout(Duration::from_secs(1)).is_repairable());
    }
}
