//! Diagnostics go to a log file, never to the terminal the TUI owns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LOG: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Opens (appends to) the log file, creating its folder.
pub fn init(path: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("log dir {}: {e}", dir.display()))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("log file {}: {e}", path.display()))?;
    *LOG.lock().unwrap() = Some(f);
    Ok(path.to_path_buf())
}

/// Writes one line. Callers pass text that holds no secrets (config errors
/// and source errors never include secret values).
pub fn log(level: &str, msg: &str) {
    if let Ok(mut g) = LOG.lock() {
        if let Some(f) = g.as_mut() {
            let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
            let _ = writeln!(f, "{ts} {level} {}", crate::text::display(msg));
        }
    }
}

#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::logging::log("INFO", &format!($($t)*)) };
}

#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::logging::log("WARN", &format!($($t)*)) };
}
