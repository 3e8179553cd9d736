//! Diagnostics go to a log file, never to the terminal the TUI owns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LOG: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Opens (appends to) the log file, creating its folder. The log holds
/// hostnames, queries and error texts: folders it creates are 0700 and the
/// file is 0600 (tightened if it already existed wider).
pub fn init(path: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)
            .map_err(|e| format!("log dir {}: {e}", dir.display()))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = o
        .open(path)
        .map_err(|e| format!("log file {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = f.metadata() {
            if m.permissions().mode() & 0o077 != 0 {
                let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn the_log_is_0600_in_a_0700_folder() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("wf-logperm-{}", std::process::id()));
        let path = base.join("a/b/watchfloor.log");
        super::init(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&base.join("a/b")), 0o700);
        assert_eq!(mode(&base.join("a")), 0o700);
        // an existing wider file is tightened
        let wide = base.join("wide.log");
        std::fs::write(&wide, "").unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::init(&wide).unwrap();
        assert_eq!(mode(&wide), 0o600);
        let _ = std::fs::remove_dir_all(&base);
    }
}
