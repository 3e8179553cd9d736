//! A failed request, typed: the kind decides permanence and the label.

/// What went wrong, beyond the HTTP status: decides whether asking again
/// can help and what the pane says before the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing more than the status and the message (transport errors,
    /// plain-text errors).
    #[default]
    Unspecified,
    /// The API's own error type (Prometheus `errorType`: `bad_data`,
    /// `execution`, `timeout`, …).
    Api(String),
    /// The answer is not what this API answers (shape, JSON).
    BadAnswer,
    /// The answer passed the body cap while it was read.
    TooLarge,
    /// A redirect to another origin, not followed.
    Redirect,
    /// A probe got another status than the one it expects.
    Unexpected(u16),
}

impl ErrorKind {
    /// The word shown after the status (`HTTP 400 bad_data: …`).
    pub fn label(&self) -> Option<String> {
        match self {
            ErrorKind::Unspecified => None,
            ErrorKind::Api(s) => Some(s.clone()),
            ErrorKind::BadAnswer => Some("bad_response".into()),
            ErrorKind::TooLarge => Some("too_large".into()),
            ErrorKind::Redirect => Some("redirect".into()),
            ErrorKind::Unexpected(s) => Some(format!("expected {s}")),
        }
    }

    /// Asking again will not change it (a refused query, a redirect).
    pub fn is_permanent(&self) -> bool {
        match self {
            ErrorKind::Redirect => true,
            ErrorKind::Api(s) => s == "bad_data",
            _ => false,
        }
    }
}

/// A failed request, as shown in a pane: HTTP status (if any), what kind
/// of failure, and the backend's own error text, sanitised and without
/// secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct SourceError {
    pub status: Option<u16>,
    pub kind: ErrorKind,
    pub message: String,
}

impl SourceError {
    /// An error that asking again will not fix (a query the server
    /// refuses, missing credentials, a redirect): shown, and retried slowly.
    pub fn is_permanent(&self) -> bool {
        matches!(self.status, Some(400 | 401 | 403 | 404 | 405 | 422)) || self.kind.is_permanent()
    }

    /// The status and kind only when there is one ("HTTP 404"), else the
    /// message cut to 60 characters: for a note beside a mode.
    pub fn short(&self) -> String {
        match self.status {
            Some(st) => format!("HTTP {st}"),
            None => crate::text::display(&self.message.chars().take(60).collect::<String>())
                .into_owned(),
        }
    }

    pub fn msg(message: impl Into<String>) -> SourceError {
        SourceError {
            status: None,
            kind: ErrorKind::Unspecified,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(st) = self.status {
            s.push_str(&format!("HTTP {st}"));
        }
        if let Some(k) = &self.kind.label() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(k);
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&self.message);
        // backends echo requests in their errors: nothing leaves unredacted
        crate::text::display(&s).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorKind, SourceError};

    #[test]
    fn the_kind_decides_permanence_and_its_label() {
        let e = |status, kind| SourceError {
            status,
            kind,
            message: "m".into(),
        };
        assert!(e(Some(302), ErrorKind::Redirect).is_permanent());
        assert!(e(Some(400), ErrorKind::Unspecified).is_permanent());
        assert!(e(Some(422), ErrorKind::Api("bad_data".into())).is_permanent());
        assert!(e(None, ErrorKind::Api("bad_data".into())).is_permanent());
        assert!(!e(Some(503), ErrorKind::Api("execution".into())).is_permanent());
        assert!(!e(Some(200), ErrorKind::TooLarge).is_permanent());
        assert!(!e(None, ErrorKind::Unspecified).is_permanent());
        assert_eq!(
            e(Some(200), ErrorKind::TooLarge).to_string(),
            "HTTP 200 too_large: m"
        );
        assert_eq!(
            e(Some(503), ErrorKind::Unexpected(200)).to_string(),
            "HTTP 503 expected 200: m"
        );
        assert_eq!(e(None, ErrorKind::Unspecified).to_string(), "m");
    }
}
