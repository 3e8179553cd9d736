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

    /// Reads the secret and registers it with the redactor, so that it
    /// cannot reach the screen, a log or an error from here on. Errors
    /// name the reference, never the value.
    pub fn resolve(&self) -> Result<Secret, String> {
        let s = self.read()?;
        crate::text::redact::Secrets::register(s.expose());
        Ok(s)
    }

    fn read(&self) -> Result<Secret, String> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map(|v| Secret(v.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|_| format!("environment variable {name} is not set")),
            SecretRef::File(path) => {
                let path = crate::config::paths::expand_home(path);
                read_capped(&path)
                    .map(|v| Secret(v.trim_end_matches(['\n', '\r']).to_string()))
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))
            }
        }
    }
}

/// The most a `file:` secret may hold: a token or password, not a disk image
/// (`file:/dev/zero` must not read until memory runs out).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

fn read_capped(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    f.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "larger than {} KiB: a secret file holds one token or password",
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    String::from_utf8(buf).map_err(|_| "not UTF-8 text".to_string())
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

    #[test]
    fn endless_or_huge_secret_files_are_refused() {
        let err = SecretRef::File("/dev/zero".into()).resolve().unwrap_err();
        assert!(err.contains("larger than 64 KiB"), "{err}");
        let p = std::env::temp_dir().join(format!("wf-big-secret-{}", std::process::id()));
        std::fs::write(&p, vec![b'a'; 64 * 1024 + 1]).unwrap();
        let err = SecretRef::File(p.display().to_string())
            .resolve()
            .unwrap_err();
        assert!(err.contains("64 KiB") && !err.contains("aaaa"), "{err}");
        std::fs::write(&p, vec![b'a'; 64 * 1024]).unwrap();
        assert!(SecretRef::File(p.display().to_string()).resolve().is_ok());
        std::fs::remove_file(&p).ok();
    }
}
