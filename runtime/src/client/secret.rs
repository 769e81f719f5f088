//! [`Secret`]: a string that never shows up in `Debug` output or logs.

use std::fmt;

/// A secret string (client secret, access or refresh token, PKCE verifier).
///
/// Its `Debug` output is `Secret([redacted])` and it has no `Display`, so it cannot leak
/// through `{:?}`, `tracing` fields or error messages by accident. Read it with
/// [`Secret::expose`] where it must be sent.
///
/// ```
/// use dhp_runtime::client::Secret;
/// let s = Secret::new("s3cr3t");
/// assert_eq!(format!("{s:?}"), "Secret([redacted])");
/// assert_eq!(s.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Only call this where the value is sent or stored.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}
