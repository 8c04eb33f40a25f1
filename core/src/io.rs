//! Writing files without losing data: every file asklake rewrites (manifests, sessions, the library, caches)
//! is written to a uniquely named temporary file in the same folder and renamed over the old one, so a crash
//! or a concurrent writer never leaves a half-written file; appends to shared files hold an advisory lock.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Replaces `path` with `data` atomically (a unique temporary file in the same folder, then a rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".asklake-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Runs `f` holding an exclusive advisory lock on `lock_path` (created if missing), so processes that
/// read-modify-write the same file take turns instead of losing each other's changes.
pub fn with_lock<T>(lock_path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(|e| Error::io(lock_path, e))?;
    file.lock().map_err(|e| Error::io(lock_path, e))?;
    let out = f();
    let _ = file.unlock();
    out
}

/// Appends `value` as one JSON line to `path` (created if missing), holding an advisory lock on the file so
/// concurrent writers (a server's requests, several processes) never interleave lines.
pub fn append_json_line(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut line = value.to_string();
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.lock().map_err(|e| Error::io(path, e))?;
    let out = f.write_all(line.as_bytes()).map_err(|e| Error::io(path, e));
    let _ = f.unlock();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(dir.path().join("a.tmp"), "someone else's").unwrap();
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        // An unrelated file with a .tmp name is left alone.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.tmp")).unwrap(),
            "someone else's"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn locked_read_modify_write_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.txt");
        let lock = dir.path().join(".n.lock");
        std::fs::write(&p, "").unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let (p, lock) = (&p, &lock);
                s.spawn(move || {
                    with_lock(lock, || {
                        let mut t = std::fs::read_to_string(p).unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        t.push_str(&format!("{i}\n"));
                        write_atomic(p, t.as_bytes())
                    })
                    .unwrap();
                });
            }
        });
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 8);
    }
}
