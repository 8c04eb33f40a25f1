//! The one tokio runtime of the extension, safe after `fork`, and running the core's futures with the GIL
//! released and Ctrl-C turned into `KeyboardInterrupt`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::{AsklakeError, to_py};

/// One tokio runtime per process, recreated in a forked child (a runtime's threads do not survive fork).
pub fn runtime() -> PyResult<Arc<tokio::runtime::Runtime>> {
    static RT: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut guard = RT
        .lock()
        .map_err(|_| AsklakeError::new_err("runtime lock poisoned"))?;
    if let Some((p, rt)) = guard.as_ref()
        && *p == pid
    {
        return Ok(rt.clone());
    }
    if let Some((_, old)) = guard.take() {
        // The parent's runtime threads are gone in the child; dropping it would wait on them.
        std::mem::forget(old);
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("asklake")
            .build()
            .map_err(|e| AsklakeError::new_err(format!("tokio runtime: {e}")))?,
    );
    *guard = Some((pid, rt.clone()));
    Ok(rt)
}

/// Runs a future with the GIL released; Ctrl-C (a pending Python signal) raises KeyboardInterrupt.
pub fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl std::future::Future<Output = asklake::Result<T>> + Send,
) -> PyResult<T> {
    let rt = runtime()?;
    let out: Result<asklake::Result<T>, PyErr> = py.detach(|| {
        rt.block_on(async {
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => return Ok(r),
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    });
    match out {
        Ok(r) => r.map_err(to_py),
        Err(e) => Err(e),
    }
}
