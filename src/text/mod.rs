//! Untrusted text handling: sanitising for the terminal, redacting secrets,
//! human units, and log lines (preparing, level, fields, trace id).
pub mod logfields;
pub mod loglevel;
pub mod logline;
pub mod patterns;
pub mod redact;
pub mod sampler;
pub mod sanitize;
pub mod units;

pub use sanitize::sanitize;

/// Untrusted text made fit for the screen, a log line or an export:
/// sanitised (no escape sequences or controls), then redacted (no secrets).
pub fn display(s: &str) -> std::borrow::Cow<'_, str> {
    match sanitize(s) {
        std::borrow::Cow::Borrowed(b) => redact::redact(b),
        std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(redact::redact(&o).into_owned()),
    }
}
