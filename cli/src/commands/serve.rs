//! `asklake serve`: the HTTP API the web app uses (JSON under `/api`, server-sent events for `ask`). Every
//! endpoint is a call into [`asklake::tools::Lake`]; this file maps requests, status codes and events, and
//! applies the server's limits (token, body size, questions in flight, per-request timeouts, security
//! headers).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asklake::Error;
use asklake::pipeline::{Answer, AnswerSource, Session};
use asklake::tools::{AuditEntry, Lake};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use crate::args::{GlobalArgs, ServeArgs};
use crate::commands::serve_common::{self, Listen};

/// Request bodies larger than this are refused (413): a question or a query is a few kilobytes.
const MAX_BODY: usize = 256 * 1024;
/// Sessions kept for follow-up questions (the oldest is dropped first).
const MAX_SESSIONS: usize = 200;

struct AppState {
    lake: Lake,
    /// Explain answers (streamed after the result); the pipeline itself runs without.
    explain: bool,
    /// Questions in flight: a burst beyond it gets 429, not a queue that grows without bound.
    asks: Arc<Semaphore>,
    /// Queries in flight on `/api/sql`.
    queries: Arc<Semaphore>,
    sessions: Mutex<(HashMap<String, Session>, VecDeque<String>)>,
    request_timeout: Duration,
}

type Shared = Arc<AppState>;

/// An error as the API returns it: `{"error": {"kind", "code"?, "message", "repairable"}}`.
struct ApiError(StatusCode, Value);

impl ApiError {
    fn from_error(e: &Error) -> ApiError {
        let status = match e {
            Error::Guard { .. } | Error::Config(_) => StatusCode::BAD_REQUEST,
            Error::Validation(_) | Error::Query { .. } | Error::Schema(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::Llm(_) | Error::Service(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, json!({ "error": e.to_json() }))
    }

    fn busy(what: &str) -> ApiError {
        ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"kind": "busy", "message": format!("too many {what} in flight; try again shortly")}}),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.0, Json(self.1)).into_response();
        if self.0 == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

fn audit(
    state: &AppState,
    operation: &str,
    arguments: Value,
    rows: Option<usize>,
    caller: SocketAddr,
    error: Option<&Error>,
    started: std::time::Instant,
) {
    let caller = caller.to_string();
    if let Err(e) = state.lake.audit(AuditEntry {
        front_end: "web",
        operation,
        arguments,
        rows,
        caller: Some(&caller),
        error,
        elapsed: started.elapsed(),
    }) {
        crate::commands::note(&format!("audit log: {e}"));
    }
}

async fn health(State(s): State<Shared>) -> Json<Value> {
    Json(s.lake.health())
}

async fn tables(State(s): State<Shared>) -> Result<Json<Value>, ApiError> {
    let t = s
        .lake
        .tables()
        .await
        .map_err(|e| ApiError::from_error(&e))?;
    Ok(Json(json!({ "tables": t })))
}

async fn table(State(s): State<Shared>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let d = s.lake.describe(&name, None).await.map_err(|e| match e {
        Error::Schema(_) => ApiError(StatusCode::NOT_FOUND, json!({"error": e.to_json()})),
        e => ApiError::from_error(&e),
    })?;
    Ok(Json(json!(d)))
}

#[derive(Deserialize)]
struct SqlRequest {
    sql: String,
    #[serde(default)]
    max_rows: Option<u64>,
}

async fn sql(
    State(s): State<Shared>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Json(req): Json<SqlRequest>,
) -> Result<Json<Value>, ApiError> {
    let Ok(_permit) = s.queries.clone().try_acquire_owned() else {
        return Err(ApiError::busy("queries"));
    };
    let started = std::time::Instant::now();
    let out = match tokio::time::timeout(s.request_timeout, s.lake.run_sql(&req.sql, req.max_rows))
        .await
    {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout(s.request_timeout)),
    };
    let args = json!({"sql": req.sql, "max_rows": req.max_rows});
    match out {
        Ok(r) => {
            audit(
                &s,
                "/api/sql",
                args,
                Some(r.row_count),
                caller,
                None,
                started,
            );
            Ok(Json(asklake::tools::result_json(&r, false)))
        }
        Err(e) => {
            audit(&s, "/api/sql", args, None, caller, Some(&e), started);
            Err(ApiError::from_error(&e))
        }
    }
}

#[derive(Deserialize)]
struct AskRequest {
    question: String,
    #[serde(default)]
    session: Option<String>,
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The events of a finished pipeline run, in the order they happened.
fn stage_events(answer: &Answer) -> Vec<Event> {
    let mut out = Vec::new();
    let examples: Vec<Value> = answer.examples.iter().map(|e| e.hit()).collect();
    out.push(event("examples", &json!({ "examples": examples })));
    for (i, a) in answer.attempts.iter().enumerate() {
        out.push(event(
            "attempt",
            &json!({"attempt": i + 1, "sql": a.sql, "stage": a.stage, "error": a.error}),
        ));
    }
    if let Some(r) = &answer.result {
        out.push(event("result", &asklake::tools::result_json(r, false)));
    }
    out
}

async fn ask(
    State(s): State<Shared>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Json(req): Json<AskRequest>,
) -> Result<Response, ApiError> {
    let Ok(permit) = s.asks.clone().try_acquire_owned() else {
        return Err(ApiError::busy("questions"));
    };
    if let Some(id) = &req.session
        && (id.is_empty()
            || id.len() > 64
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(ApiError::from_error(&Error::Config(
            "session must be 1-64 letters, digits or '-'".into(),
        )));
    }
    let (tx, rx) = mpsc::channel::<Event>(1024);
    tokio::spawn(async move {
        let _permit = permit;
        let started = std::time::Instant::now();
        let run = run_ask(&s, &req, &tx);
        let outcome = match tokio::time::timeout(s.request_timeout, run).await {
            Ok(o) => o,
            Err(_) => Err(Error::Timeout(s.request_timeout)),
        };
        let args = json!({"question": req.question, "session": req.session});
        match outcome {
            Ok(answer) => {
                let rows = answer.result.as_ref().map(|r| r.row_count);
                audit(
                    &s,
                    "/api/ask",
                    args,
                    rows,
                    caller,
                    answer.error.as_ref(),
                    started,
                );
                let _ = tx.send(event("done", &answer.to_json())).await;
            }
            Err(e) => {
                audit(&s, "/api/ask", args, None, caller, Some(&e), started);
                let _ = tx
                    .send(event("error", &json!({ "error": e.to_json() })))
                    .await;
            }
        }
    });
    let stream = tokio_stream_from(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn tokio_stream_from(mut rx: mpsc::Receiver<Event>) -> impl futures_util::Stream<Item = Event> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// One question: the pipeline (in the session when one is named), its stages as events, then the
/// explanation streamed as the model writes it.
async fn run_ask(
    s: &AppState,
    req: &AskRequest,
    tx: &mpsc::Sender<Event>,
) -> asklake::Result<Answer> {
    let t2s = s.lake.text2sql();
    let mut answer = match &req.session {
        Some(id) => {
            // Take the session out while it runs (a second request on the same id starts fresh history
            // rather than waiting), and put it back after.
            let taken = s.sessions.lock().ok().and_then(|mut g| g.0.remove(id));
            let mut session = taken.unwrap_or_else(|| t2s.session());
            let answer = session.run(&req.question).await;
            if let Ok(mut g) = s.sessions.lock() {
                let (map, order) = &mut *g;
                order.retain(|k| k != id);
                order.push_back(id.clone());
                map.insert(id.clone(), session);
                while order.len() > MAX_SESSIONS {
                    if let Some(old) = order.pop_front() {
                        map.remove(&old);
                    }
                }
            }
            answer?
        }
        None => t2s.run(&req.question, &[]).await?,
    };
    for e in stage_events(&answer) {
        let _ = tx.send(e).await;
    }
    if s.explain
        && answer.result.is_some()
        && answer.source != AnswerSource::Library
        && t2s.llm().is_some()
    {
        match t2s.explain_stream(&answer).await {
            Ok(stream) => {
                let tx2 = tx.clone();
                let r = asklake::llm::collect_stream(stream, move |d| {
                    let _ = tx2.try_send(event("explanation", &json!({ "delta": d })));
                })
                .await;
                match r {
                    Ok(r) => {
                        answer.explanation = Some(r.text);
                        answer.usage += r.usage;
                        if let Some(p) = t2s.llm().and_then(|l| l.pricing()) {
                            answer.cost_usd = Some(asklake::llm::cost_usd(&p, &answer.usage));
                        }
                    }
                    Err(e) => answer.explanation = Some(format!("(no explanation: {e})")),
                }
            }
            Err(e) => answer.explanation = Some(format!("(no explanation: {e})")),
        }
    }
    Ok(answer)
}

#[derive(Deserialize)]
struct PromoteRequest {
    question: String,
    sql: String,
    #[serde(default)]
    id: Option<String>,
}

async fn promote(
    State(s): State<Shared>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Json(req): Json<PromoteRequest>,
) -> Result<Json<Value>, ApiError> {
    let started = std::time::Instant::now();
    let out = s
        .lake
        .promote(&req.question, &req.sql, req.id.clone())
        .await;
    let args = json!({"question": req.question, "sql": req.sql, "id": req.id});
    match out {
        Ok((entry, rows)) => {
            audit(&s, "/api/promote", args, Some(rows), caller, None, started);
            Ok(Json(
                json!({"id": entry.example.id, "tables": entry.example.tables, "rows": rows}),
            ))
        }
        Err(e) => {
            audit(&s, "/api/promote", args, None, caller, Some(&e), started);
            Err(ApiError::from_error(&e))
        }
    }
}

#[derive(Deserialize)]
struct ExamplesQuery {
    q: String,
    #[serde(default)]
    k: Option<usize>,
}

async fn examples(
    State(s): State<Shared>,
    Query(q): Query<ExamplesQuery>,
) -> Result<Json<Value>, ApiError> {
    let hits = s
        .lake
        .search_examples(&q.q, q.k.unwrap_or(10))
        .await
        .map_err(|e| ApiError::from_error(&e))?;
    let list: Vec<Value> = hits.iter().map(|h| h.hit()).collect();
    Ok(Json(json!({ "examples": list })))
}

async fn history(State(s): State<Shared>) -> Result<Json<Value>, ApiError> {
    let h = s.lake.history(50).map_err(|e| ApiError::from_error(&e))?;
    Ok(Json(json!({ "history": h })))
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The web app: `index.html` at `/` (deep links carry `?q=` / `?sql=`), hashed bundles under `/assets/`,
/// all embedded in the binary at build time. Static files need no token: the page reads it from the URL
/// fragment and sends it with each `/api` call.
async fn web_asset(uri: axum::http::Uri) -> Response {
    let path = match uri.path().trim_start_matches('/') {
        "" => "index.html",
        p => p,
    };
    let Some(file) = WebAssets::get(path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    if path == "index.html" {
        return index_page(&file.data);
    }
    let mut r = file.data.into_owned().into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // Vite names bundles by their content hash, so they never change; the page itself is never cached.
    if path.starts_with("assets/") {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    r
}

/// The page with a fresh style nonce: the SQL editor (CodeMirror) adds its style sheet at run time, which
/// the policy allows only for an element carrying this response's nonce. Scripts stay `'self'` only.
fn index_page(html: &[u8]) -> Response {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness\n").into_response();
    }
    let nonce: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let page = String::from_utf8_lossy(html).replace("__CSP_NONCE__", &nonce);
    let mut r = axum::response::Html(page).into_response();
    // CodeMirror also sets `style` attributes (the gutter's and the cursor layer's sizes) with
    // setAttribute; attributes cannot load or run anything, so they are allowed, elements still need the nonce.
    let style = format!("'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'");
    if let Ok(v) = HeaderValue::from_str(&csp(&style)) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// The Content-Security-Policy, with the given `style-src`: no inline script, no eval, nothing from other
/// origins, no framing.
fn csp(style_src: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src {style_src}; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Security headers on every response: a strict Content-Security-Policy (no inline script, no eval,
/// nothing from other origins, no framing), no MIME sniffing, no referrer.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut r = next.run(request).await;
    let h = r.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&csp("'self'"))
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The API's routes over a lake (for the server and its tests).
fn router(state: Shared, token: Option<Arc<str>>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/tables", get(tables))
        .route("/tables/{name}", get(table))
        .route("/sql", post(sql))
        .route("/ask", post(ask))
        .route("/promote", post(promote))
        .route("/examples", get(examples))
        .route("/history", get(history))
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                json!({"error": {"kind": "not_found", "message": "no such endpoint; see the README's API section"}}),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            token,
            serve_common::require_token,
        ))
        .with_state(state);
    Router::new()
        .nest("/api", api)
        .fallback(get(web_asset))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(security_headers))
}

pub async fn run(g: &GlobalArgs, a: ServeArgs) -> asklake::Result<ExitCode> {
    let Listen::Http { addr, token } = serve_common::listen(Some(&a.bind), a.token.clone())? else {
        return Err(Error::Internal("serve always listens on HTTP".into()));
    };
    let mut config = g.resolve()?.config;
    // The explanation is streamed by the server after the result's events; the pipeline runs without it.
    let explain = config.pipeline.explain;
    config.pipeline.explain = false;
    let (lake, notes) = Lake::from_config(&config).await?;
    for n in &notes {
        crate::commands::note(n);
    }
    let request_timeout = Duration::from_secs_f64(config.engine.timeout_secs.max(1.0) * 4.0 + 60.0);
    let state = Arc::new(AppState {
        lake,
        explain,
        asks: Arc::new(Semaphore::new(a.max_questions.max(1))),
        queries: Arc::new(Semaphore::new(a.max_queries.max(1))),
        sessions: Mutex::new((HashMap::new(), VecDeque::new())),
        request_timeout,
    });
    let (listener, local) = serve_common::bind(addr).await?;
    let app = router(state, token.clone().map(Arc::<str>::from));
    // The token travels in the URL fragment, which browsers never send to the server.
    match &token {
        Some(_) => eprintln!(
            "asklake serve: listening on http://{local}/ (open it with #token=<your token>)"
        ),
        None => eprintln!("asklake serve: listening on http://{local}/"),
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(serve_common::shutdown_signal())
    .await
    .map_err(|e| Error::Internal(format!("HTTP server: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
