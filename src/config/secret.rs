//! Secret references: config names a secret as `env:NAME` or `file:PATH`,
//! never by value. The resolved value never appears in Debug output.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{p}"),
        }
    }
}

/// A resolved secret. Debug and Display print a placeholder, so a secret
/// cannot leak through `{:?}` in an error or a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl SecretRef {
    /// Parses a reference; anything else is an inline secret and is refused
    /// with a message that says how to fix it (without echoing the value).
    pub fn parse(s: &str) -> Result<SecretRef, String> {
        if let Some(name) = s.strip_prefix("env:") {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err("`env:` must be followed by an environment variable name".into());
            }
            Ok(SecretRef::Env(name.to_string()))
        } else if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` must be followed by a path".into());
            }
            Ok(SecretRef::File(path.to_string()))
        } else {
            Err(
                "inline secrets are not accepted: put the value in an environment variable \
                 or a file and write `env:NAME` or `file:/path/to/secret` instead"
                    .into(),
            )
        }
    }

    /// Reads the secret. Errors name the reference, never the value.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map(|v| Secret(v.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|_| format!("environment variable {name} is not set")),
            SecretRef::File(path) => {
                let path = crate::config::paths::expand_home(path);
                std::fs::read_to_string(&path)
                    .map(|v| Secret(v.trim_end_matches(['\n', '\r']).to_string()))
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        assert_eq!(
            SecretRef::parse("env:PROM_TOKEN").unwrap(),
            SecretRef::Env("PROM_TOKEN".into())
        );
        assert_eq!(
            SecretRef::parse("file:/run/secrets/t").unwrap(),
            SecretRef::File("/run/secrets/t".into())
        );
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("env:A B").is_err());
    }

    #[test]
    fn inline_secret_is_refused_without_echo() {
        let err = SecretRef::parse("hunter2-token").unwrap_err();
        assert!(err.contains("env:NAME"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn resolves_env_and_file_and_redacts_debug() {
        std::env::set_var("WATCHFLOOR_TEST_SECRET_X", "s3cr3t\n");
        let s = SecretRef::Env("WATCHFLOOR_TEST_SECRET_X".into())
            .resolve()
            .unwrap();
        assert_eq!(s.expose(), "s3cr3t");
        assert_eq!(format!("{s:?}"), "<redacted>");
        let dir = std::env::temp_dir().join(format!("wf-secret-{}", std::process::id()));
        std::fs::write(&dir, "fromfile\n").unwrap();
        let f = SecretRef::File(dir.display().to_string())
            .resolve()
            .unwrap();
        assert_eq!(f.expose(), "fromfile");
        std::fs::remove_file(&dir).ok();
        let missing = SecretRef::Env("WATCHFLOOR_DEFINITELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(missing.contains("WATCHFLOOR_DEFINITELY_UNSET"));
    }
}
