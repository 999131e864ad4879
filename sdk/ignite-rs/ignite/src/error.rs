//! [`Error`] and [`Result`]: what a handler returns when it fails.

use std::error::Error as StdError;
use std::fmt;

/// `Result<T, Error>`: the return type of handlers and of the fallible SDK methods.
///
/// The error type defaults to [`Error`], so `Result<impl IntoResponse>` is what a handler
/// usually returns.
///
/// ```
/// use ignite::Result;
///
/// fn parse(input: &str) -> Result<u32> {
///     Ok(input.parse::<u32>()?)
/// }
///
/// assert_eq!(parse("7").unwrap(), 7);
/// assert_eq!(parse("x").unwrap_err().to_string(), "invalid digit found in string");
/// ```
///
/// [`IntoResponse`]: crate::IntoResponse
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error a handler returns: any [`std::error::Error`] `+ Send + Sync + 'static` converts
/// into it with `?`, and [`Error::msg`] makes one from a message.
///
/// When a handler returns `Err(error)`, the caller gets HTTP 500 with the body
/// `{"error": "<error's Display>"}`.
///
/// Like `anyhow::Error`, `Error` does not itself implement [`std::error::Error`] (that would
/// conflict with the blanket `From` conversion); [`Error::as_std`] and the `From<Error>`
/// conversion into `Box<dyn std::error::Error + Send + Sync>` give access to one.
///
/// ```
/// use ignite::{Error, Result};
///
/// fn check(count: u32) -> Result<u32> {
///     if count > 10 {
///         return Err(Error::msg(format!("count {count} is too large")));
///     }
///     Ok(count)
/// }
///
/// fn read_config() -> Result<String> {
///     // `?` converts any std error (here `std::io::Error`).
///     Ok(std::fs::read_to_string("/definitely/not/here")?)
/// }
///
/// assert_eq!(check(11).unwrap_err().to_string(), "count 11 is too large");
/// assert!(read_config().is_err());
/// ```
pub struct Error {
    inner: Box<dyn StdError + Send + Sync + 'static>,
}

impl Error {
    /// An error whose `Display` is `message`.
    ///
    /// ```
    /// let error = ignite::Error::msg("the order is not paid yet");
    /// assert_eq!(error.to_string(), "the order is not paid yet");
    /// ```
    pub fn msg<M>(message: M) -> Self
    where
        M: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        Error {
            inner: Box::new(MessageError(message)),
        }
    }

    /// Wraps a [`std::error::Error`] (what `?` does implicitly).
    ///
    /// ```
    /// let io = std::io::Error::new(std::io::ErrorKind::Other, "disk on fire");
    /// assert_eq!(ignite::Error::new(io).to_string(), "disk on fire");
    /// ```
    pub fn new<E>(error: E) -> Self
    where
        E: StdError + Send + Sync + 'static,
    {
        Error {
            inner: Box::new(error),
        }
    }

    /// Adds context in front of the error: the result displays as `"<context>: <error>"`, and the
    /// original error stays reachable as its [`source`](std::error::Error::source).
    ///
    /// ```
    /// let error = ignite::Error::msg("connection refused").context("loading the price list");
    /// assert_eq!(error.to_string(), "loading the price list: connection refused");
    /// ```
    pub fn context<C>(self, context: C) -> Self
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        Error {
            inner: Box::new(ContextError {
                context,
                source: self.inner,
            }),
        }
    }

    /// The error as a [`std::error::Error`] trait object (to walk its `source()` chain, say).
    ///
    /// ```
    /// let error = ignite::Error::msg("inner").context("outer");
    /// let source = error.as_std().source().unwrap();
    /// assert_eq!(source.to_string(), "inner");
    /// ```
    pub fn as_std(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.inner
    }

    /// The wrapped error, if it is an `E` (as given to [`Error::new`] or converted by `?`).
    ///
    /// ```
    /// let error: ignite::Error = "x".parse::<u8>().unwrap_err().into();
    /// assert!(error.downcast_ref::<std::num::ParseIntError>().is_some());
    /// ```
    pub fn downcast_ref<E>(&self) -> Option<&E>
    where
        E: StdError + 'static,
    {
        self.inner.downcast_ref::<E>()
    }

    /// Unwraps into the boxed [`std::error::Error`].
    ///
    /// ```
    /// let boxed = ignite::Error::msg("boom").into_boxed();
    /// assert_eq!(boxed.to_string(), "boom");
    /// ```
    pub fn into_boxed(self) -> Box<dyn StdError + Send + Sync + 'static> {
        self.inner
    }
}

impl<E> From<E> for Error
where
    E: StdError + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Error::new(error)
    }
}

impl From<Error> for Box<dyn StdError + Send + Sync + 'static> {
    fn from(error: Error) -> Self {
        error.inner
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

struct MessageError<M>(M);

impl<M: fmt::Display> fmt::Display for MessageError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<M: fmt::Debug> fmt::Debug for MessageError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<M: fmt::Display + fmt::Debug> StdError for MessageError<M> {}

struct ContextError<C> {
    context: C,
    source: Box<dyn StdError + Send + Sync + 'static>,
}

impl<C: fmt::Display> fmt::Display for ContextError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl<C: fmt::Display> fmt::Debug for ContextError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.context, self.source)
    }
}

impl<C: fmt::Display> StdError for ContextError<C> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_mark_converts_std_errors() {
        fn parse() -> Result<u8> {
            Ok("300".parse::<u8>()?)
        }
        let error = parse().unwrap_err();
        assert_eq!(error.to_string(), "number too large to fit in target type");
        assert!(error.downcast_ref::<std::num::ParseIntError>().is_some());
    }

    #[test]
    fn message_errors_display_the_message() {
        let error = Error::msg(String::from("nope"));
        assert_eq!(error.to_string(), "nope");
        assert_eq!(format!("{error:?}"), "\"nope\"");
        let boxed: Box<dyn StdError + Send + Sync> = error.into();
        assert_eq!(boxed.to_string(), "nope");
    }

    #[test]
    fn context_chains() {
        let error = Error::msg("inner").context("middle").context("outer");
        assert_eq!(error.to_string(), "outer: middle: inner");
        let mut chain = Vec::new();
        let mut current = Some(error.as_std() as &(dyn StdError + 'static));
        while let Some(error) = current {
            chain.push(error.to_string());
            current = error.source();
        }
        assert_eq!(chain, ["outer: middle: inner", "middle: inner", "inner"]);
    }
}
