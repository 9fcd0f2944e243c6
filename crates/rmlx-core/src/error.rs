//! The one error type of rmlx.
//!
//! Every fallible call returns [`Result<T>`]. An [`Error`] carries a [`ErrorKind`] (the Python
//! face maps these to MLX's `ValueError`, `TypeError`, `IndexError` and `RuntimeError`) and a
//! message that names the op, the argument and what was wrong with it.

use std::fmt;

/// What class of problem an [`Error`] reports, mirroring the Python exceptions MLX raises.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bad value: incompatible shapes, an axis out of range, a scalar that does not fit.
    Value,
    /// A dtype an op does not accept.
    Type,
    /// An index out of range.
    Index,
    /// A missing key (Python's `KeyError`: freezing a member a module lacks).
    Key,
    /// A failure while computing: allocation, a kernel error, a transform not supported yet.
    Runtime,
    /// A value outside the supported range (Python's `OverflowError`): a shape dimension
    /// past MLX's 32-bit limit.
    Overflow,
}

/// An rmlx error: a kind and a message.
///
/// ```
/// use rmlx_core::{self as mx, ErrorKind};
/// let a = mx::zeros(&[2, 3], mx::float32).unwrap();
/// let b = mx::zeros(&[4], mx::float32).unwrap();
/// let err = mx::add(&a, &b).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Value);
/// assert!(err.to_string().contains("(2,3) and (4)"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Builds an error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// A [`ErrorKind::Value`] error.
    pub fn value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Value, message)
    }
    /// A [`ErrorKind::Type`] error.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, message)
    }
    /// A [`ErrorKind::Index`] error.
    pub fn index(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Index, message)
    }
    /// A [`ErrorKind::Key`] error.
    pub fn key(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Key, message)
    }
    /// A [`ErrorKind::Runtime`] error.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Runtime, message)
    }
    /// A [`ErrorKind::Overflow`] error.
    pub fn overflow(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Overflow, message)
    }
    /// The error for a transform rule that a primitive does not have (MLX's wording).
    pub fn transform_unsupported(primitive: &str, transform: &str) -> Self {
        Self::value(format!(
            "[Primitive::{transform}] Not implemented for {primitive}."
        ))
    }
    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with rmlx's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Checks that a computed shape dimension fits MLX's 32-bit shape integers (`op` names the
/// op in the message, as MLX does).
pub(crate) fn check_dim(op: &str, dim: usize) -> Result<usize> {
    if dim > i32::MAX as usize {
        return Err(Error::overflow(format!(
            "[{op}] Shape dimension {dim} is outside the supported range \
             [-2147483648, 2147483647]. MLX currently uses 32-bit integers for shape dimensions."
        )));
    }
    Ok(dim)
}

/// Formats a shape the way MLX's error messages do: `(2,3)`.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    let inner: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", inner.join(","))
}
