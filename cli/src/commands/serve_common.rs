//! What the network front ends (`asklake mcp --http`, and the web app) share: where to listen and the
//! token rule (off loopback only with a token, checked in constant time on every request), and shutdown on
//! Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use asklake::Error;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

pub enum Listen {
    Stdio,
    Http {
        addr: SocketAddr,
        token: Option<String>,
    },
}

/// Where to listen: stdio without `http`; else the address, which off loopback requires a token.
pub fn listen(http: Option<&str>, token: Option<String>) -> asklake::Result<Listen> {
    let Some(http) = http else {
        return Ok(Listen::Stdio);
    };
    let addr: SocketAddr = http.parse().map_err(|_| {
        Error::Config(format!(
            "--http {http:?} is not an address with a port, e.g. 127.0.0.1:8765"
        ))
    })?;
    let token = token.filter(|t| !t.is_empty());
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(Error::Config(format!(
            "refusing to listen on {addr} without a token: anyone who can reach it could query the lake. \
             Set --token or ASKLAKE_TOKEN (clients then send `Authorization: Bearer <token>`), or bind \
             127.0.0.1"
        )));
    }
    if let Some(t) = &token
        && t.len() < 16
    {
        return Err(Error::Config(
            "the token is shorter than 16 characters; use a long random one (e.g. `openssl rand -hex 32`)"
                .into(),
        ));
    }
    Ok(Listen::Http { addr, token })
}

/// Listens on `addr`; returns the listener and the address it got (the port, when `addr` asked for 0).
pub async fn bind(addr: SocketAddr) -> asklake::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok((listener, local))
}

/// Middleware: with a token configured, every request needs `Authorization: Bearer <token>`.
pub async fn require_token(
    State(token): State<Option<Arc<str>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let ok: bool = given.as_bytes().ct_eq(expected.as_bytes()).into();
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid `Authorization: Bearer <token>` header is required\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_needs_a_long_token() {
        assert!(matches!(listen(None, None), Ok(Listen::Stdio)));
        assert!(matches!(
            listen(Some("127.0.0.1:0"), None),
            Ok(Listen::Http { token: None, .. })
        ));
        assert!(matches!(
            listen(Some("[::1]:8765"), None),
            Ok(Listen::Http { .. })
        ));
        let e = listen(Some("0.0.0.0:8765"), None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("without a token"), "{e}");
        let e = listen(Some("0.0.0.0:8765"), Some(String::new()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("without a token"), "{e}");
        let e = listen(Some("0.0.0.0:8765"), Some("short".into()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("16 characters"), "{e}");
        assert!(matches!(
            listen(Some("0.0.0.0:8765"), Some("0123456789abcdef0123".into())),
            Ok(Listen::Http { token: Some(_), .. })
        ));
        let e = listen(Some("localhost"), None).err().unwrap().to_string();
        assert!(e.contains("with a port"), "{e}");
    }
}
