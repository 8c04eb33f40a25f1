//! The crate's error type. Errors an LLM can repair (guard rejections, validation, engine errors on the SQL)
//! are kept apart from configuration, I/O and internal errors: the repair loop feeds back only the former,
//! with the engine's own message.

use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the SQL guard refused a query (front ends and Python read it as a string: `write`, `cost`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GuardCode {
    /// No SQL.
    Empty,
    /// Longer than the guard accepts.
    TooLong,
    /// NUL or other control characters in the text.
    ControlCharacter,
    /// Not valid SQL in the Athena dialect.
    Parse,
    /// More than one statement.
    MultipleStatements,
    /// Writes, DDL, settings, transactions: anything but a read.
    Write,
    /// A clause the engines cannot run safely (INTO, locking, …).
    Clause,
    /// A construct the guard does not allow.
    Unsupported,
    /// A table-valued function, file path or other non-table source.
    Table,
    /// A table that is not in the catalog.
    UnknownTable,
    /// A function that reads files, the environment or the system.
    Function,
    /// A bad LIMIT / FETCH.
    Limit,
    /// Athena: a full scan without a time filter.
    Cost,
    /// A table function (`read_csv(…)`, `TABLE(…)`) in FROM.
    TableFunction,
    /// COPY, UNLOAD: reads or writes files.
    FileAccess,
    /// ATTACH / DETACH of another database.
    Attach,
    /// INSTALL / LOAD of an extension.
    Extension,
    /// SET, PRAGMA: engine settings.
    Settings,
    /// Any other statement that is not a query.
    NotAQuery,
}

impl GuardCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong => "too_long",
            Self::ControlCharacter => "control_character",
            Self::Parse => "parse",
            Self::MultipleStatements => "multiple_statements",
            Self::Write => "write",
            Self::Clause => "clause",
            Self::Unsupported => "unsupported",
            Self::Table => "table",
            Self::UnknownTable => "unknown_table",
            Self::Function => "function",
            Self::Limit => "limit",
            Self::Cost => "cost",
            Self::TableFunction => "table_function",
            Self::FileAccess => "file_access",
            Self::Attach => "attach",
            Self::Extension => "extension",
            Self::Settings => "settings",
            Self::NotAQuery => "not_a_query",
        }
    }
}

impl std::fmt::Display for GuardCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    Guard { code: GuardCode, reason: String },

    /// Static validation against the catalog failed: a column the tables do not have, with the closest
    /// names they do.
    #[error("invalid query: {0}")]
    Validation(UnknownName),

    /// The model's answer had no SQL query in it (neither a query nor a refusal).
    #[error("{0}")]
    Extraction(String),

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

    /// An embedding model or ONNX Runtime could not be loaded or run, or a vector index failed.
    #[error("embedding error: {0}")]
    Embedding(String),

    /// The lake folder or one of its files is missing, malformed or not a lake.
    #[error("lake error: {0}")]
    Lake(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The LLM call failed (transport, HTTP status, API error, throttling, timeout). Never repairable by
    /// rewriting SQL; transient kinds are retried by the backend.
    #[error("LLM error: {0}")]
    Llm(ServiceError),

    /// A cloud service call other than the LLM failed (Athena's API: access denied, throttling after
    /// retries, transport). Never repairable by rewriting SQL.
    #[error("service error: {0}")]
    Service(ServiceError),

    /// The pipeline used all its attempts without a query that ran; `last` is the final attempt's error.
    #[error("no working query after {attempts} attempt(s); last error: {last}")]
    Unresolved {
        attempts: usize,
        #[source]
        last: Box<Error>,
    },

    /// A bug or an unexpected engine state; not the user's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A column a query names that its tables do not have: the name as written, where it was looked up and
/// the closest valid names, so front ends (and the repair prompt) can offer them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnknownName {
    /// The column path as written (`actor.user.nme`).
    pub name: String,
    /// The tables it was looked up in (unqualified names).
    pub tables: Vec<String>,
    /// The closest valid names, full paths, best first (at most 3).
    pub candidates: Vec<String>,
    /// For a nested path: the struct whose field is missing (`actor.user`) and its fields (at most 40).
    pub parent: Option<(String, Vec<String>)>,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "column \"{}\" does not exist in {}",
            self.name,
            self.tables.join(", ")
        )?;
        if !self.candidates.is_empty() {
            write!(f, "; did you mean {}?", self.candidates.join(", "))?;
        }
        if let Some((parent, fields)) = &self.parent {
            write!(f, " Fields of {parent}: {}.", fields.join(", "))?;
        }
        Ok(())
    }
}

/// Why a call to a remote service (an LLM, Athena) failed, with what the provider said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceError {
    /// `bedrock`, `openai`, `athena`, …
    pub service: String,
    pub kind: ServiceErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The provider's error code (`ThrottlingException`, `rate_limit_exceeded`, …).
    pub code: Option<String>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
    pub message: String,
    /// True when trying again later may succeed (throttling, 5xx, timeouts, dropped connections).
    pub retryable: bool,
    /// How long the service asked callers to wait, in milliseconds (`Retry-After` on 429 / 503). Kept as a
    /// `u32` so errors stay small (they travel in every `Result`).
    #[serde(skip)]
    pub retry_after_ms: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceErrorKind {
    /// Too many requests or tokens; retried with backoff.
    Throttled,
    /// The call took longer than the per-call timeout.
    Timeout,
    /// No usable HTTP exchange (connection refused or reset, TLS, DNS).
    Transport,
    /// The provider answered with an error (bad request, access denied, unknown model, 5xx).
    Api,
    /// The response could not be understood.
    Protocol,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?}", self.service, self.kind)?;
        if let Some(s) = self.status {
            write!(f, ", HTTP {s}")?;
        }
        if let Some(c) = &self.code {
            write!(f, ", {c}")?;
        }
        if let Some(r) = &self.request_id {
            write!(f, ", request id {r}")?;
        }
        write!(f, "): {}", self.message)
    }
}

impl ServiceError {
    pub fn new(service: &str, kind: ServiceErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            service: service.to_string(),
            kind,
            status: None,
            code: None,
            request_id: None,
            message: message.into(),
            retry_after_ms: None,
            retryable: matches!(
                kind,
                ServiceErrorKind::Throttled
                    | ServiceErrorKind::Timeout
                    | ServiceErrorKind::Transport
            ),
        }
    }

    pub fn throttled(service: &str, message: impl Into<String>) -> Self {
        Self::new(service, ServiceErrorKind::Throttled, message)
    }

    /// An error response with HTTP `status`: 429 is throttling, 5xx retryable, the rest final.
    pub fn http(
        service: &str,
        status: u16,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        let kind = if status == 429 {
            ServiceErrorKind::Throttled
        } else {
            ServiceErrorKind::Api
        };
        ServiceError {
            status: Some(status),
            code,
            retryable: status == 429 || status >= 500,
            ..Self::new(service, kind, message)
        }
    }
}

/// An error and its sources as one line (`a: b: c`), for SDK errors whose top message is generic.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

impl Error {
    /// True for errors an LLM can fix by rewriting the SQL.
    pub fn is_repairable(&self) -> bool {
        matches!(
            self,
            Error::Guard { .. } | Error::Validation(_) | Error::Extraction(_) | Error::Query { .. }
        )
    }

    /// A stable name for the error's kind, as front ends report it (`guard`, `validation`, `query`,
    /// `timeout`, `config`, `llm`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Guard { .. } => "guard",
            Error::Validation(_) => "validation",
            Error::Extraction(_) => "extraction",
            Error::Query { .. } => "query",
            Error::Timeout(_) => "timeout",
            Error::Schema(_) => "schema",
            Error::Config(_) => "config",
            Error::Embedding(_) => "embedding",
            Error::Lake(_) => "lake",
            Error::Io { .. } => "io",
            Error::Llm(_) => "llm",
            Error::Service(_) => "service",
            Error::Unresolved { .. } => "unresolved",
            Error::Internal(_) => "internal",
        }
    }

    /// `{"kind", "code"?, "message", "repairable"}`: the error as the web API and MCP tools return it; a
    /// validation error adds `name` and `candidates`, an unresolved one `attempts` and `last` (an error).
    pub fn to_json(&self) -> serde_json::Value {
        let (code, message) = match self {
            Error::Guard { code, reason } => (Some(code.as_str()), reason.clone()),
            other => (None, other.to_string()),
        };
        let mut v = serde_json::json!({
            "kind": self.kind(),
            "message": message,
            "repairable": self.is_repairable(),
        });
        if let Some(c) = code {
            v["code"] = c.into();
        }
        match self {
            Error::Validation(u) => {
                v["name"] = u.name.clone().into();
                v["candidates"] = u.candidates.clone().into();
            }
            Error::Unresolved { attempts, last } => {
                v["attempts"] = (*attempts).into();
                v["last"] = last.to_json();
            }
            _ => {}
        }
        v
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn guard(code: GuardCode, reason: impl Into<String>) -> Self {
        Error::Guard {
            code,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown() -> UnknownName {
        UnknownName {
            name: "actor.user.nme".into(),
            tables: vec!["cloud_trail".into()],
            candidates: vec!["actor.user.name".into()],
            parent: Some(("actor.user".into(), vec!["name".into(), "uid".into()])),
        }
    }

    #[test]
    fn errors_carry_their_payload_as_data() {
        let e = Error::Validation(unknown());
        assert_eq!(
            e.to_string(),
            "invalid query: column \"actor.user.nme\" does not exist in cloud_trail; did you mean \
             actor.user.name? Fields of actor.user: name, uid."
        );
        let j = e.to_json();
        assert_eq!(j["name"], "actor.user.nme");
        assert_eq!(j["candidates"], serde_json::json!(["actor.user.name"]));
        let u = Error::Unresolved {
            attempts: 2,
            last: Box::new(e),
        };
        assert!(
            u.to_string()
                .ends_with("did you mean actor.user.name? Fields of actor.user: name, uid.")
        );
        // The last error is kept as an error: its kind, payload and place in the source chain.
        let j = u.to_json();
        assert_eq!(
            (j["kind"].as_str(), j["attempts"].as_u64()),
            (Some("unresolved"), Some(2))
        );
        assert_eq!(j["last"]["kind"], "validation");
        assert_eq!(j["last"]["candidates"][0], "actor.user.name");
        let source = std::error::Error::source(&u).map(|s| s.to_string());
        assert_eq!(
            source.as_deref(),
            Some(Error::Validation(unknown()).to_string().as_str())
        );
    }

    #[test]
    fn repairable_kinds() {
        assert!(Error::guard(GuardCode::Write, "no").is_repairable());
        assert!(Error::Validation(unknown()).is_repairable());
        assert!(Error::Extraction("no SQL".into()).is_repairable());
        assert!(!Error::Config("x".into()).is_repairable());
        assert!(!Error::Timeout(Duration::from_secs(1)).is_repairable());
    }
}
