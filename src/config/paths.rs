//! Platform paths (config, data, log file) from `directories`.

use std::path::PathBuf;

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "watchfloor")
}

/// `<config dir>/watchfloor/config.toml`.
pub fn default_config_file() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("config.toml"))
}

/// `<config dir>/watchfloor/dashboards/`: user dashboards.
pub fn dashboards_dir() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("dashboards"))
}

/// `<config dir>/watchfloor/themes/`: user themes.
pub fn themes_dir() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("themes"))
}

/// `<data dir>/watchfloor/watchfloor.log`.
pub fn default_log_file() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().join("watchfloor.log"))
        .unwrap_or_else(|| std::env::temp_dir().join("watchfloor.log"))
}

pub fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(home) = directories::BaseDirs::new() {
            return home.home_dir().join(rest);
        }
    }
    PathBuf::from(p)
}

/// `~/.kube/config`, where kubectl looks when `KUBECONFIG` is not set.
pub fn home_kubeconfig() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().join(".kube").join("config"))
}
