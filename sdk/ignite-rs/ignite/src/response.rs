//! What a handler returns: [`IntoResponse`], [`Json`] and the [`Response`] builder.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::error::{Error, Result};

/// The `content-type` of every JSON response.
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A value a handler can return: it becomes the HTTP response sent to the caller.
///
/// Implemented for [`serde_json::Value`] (what `json!` builds), [`Json<T>`] for any
/// `T: Serialize`, `String` and `&'static str` (sent as a JSON *string*), `()` (sent as `null`)
/// and [`Response`]. All but `Response` are sent as HTTP 200 with
/// `content-type: application/json`. A value that fails to serialize (a map with non-string
/// keys, say) becomes a 500 `{"error": "failed to serialize the response: ..."}`.
///
/// ```
/// use ignite::prelude::*;
///
/// #[derive(serde::Serialize)]
/// struct Greeting {
///     hello: String,
/// }
///
/// let response = Json(Greeting { hello: "world".into() }).into_response();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body(), br#"{"hello":"world"}"#);
///
/// assert_eq!("hi".into_response().body(), br#""hi""#);
/// assert_eq!(().into_response().body(), b"null");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from an Ignite handler",
    label = "`{Self}` does not implement `IntoResponse`",
    note = "return `ignite::Json(value)` for any `value: serde::Serialize`, or a `serde_json::Value` built with `json!`"
)]
pub trait IntoResponse {
    /// Converts `self` into a [`Response`].
    ///
    /// ```
    /// use ignite::IntoResponse;
    ///
    /// let response = ignite::json!({ "ok": true }).into_response();
    /// assert_eq!(response.body(), br#"{"ok":true}"#);
    /// ```
    fn into_response(self) -> Response;
}

/// Serializes any `T: Serialize` as the JSON body of a 200 response.
///
/// ```
/// use ignite::prelude::*;
///
/// #[derive(serde::Serialize)]
/// struct Total {
///     items: u32,
///     cents: u64,
/// }
///
/// #[ignite::main]
/// async fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
///     Ok(Json(Total { items: 3, cents: 1999 }))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// An HTTP response with a status, headers and a JSON body; build one with
/// [`Response::builder`] to return something other than 200.
///
/// `content-type: application/json` is added unless a `content-type` header was set, and the
/// platform adds `x-ignite-execution-id`.
///
/// ```
/// use ignite::prelude::*;
///
/// #[ignite::main]
/// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
///     let id: u64 = req.field("id")?;
///     Response::builder()
///         .status(201)
///         .header("location", format!("/orders/{id}"))
///         .json(&json!({ "created": id }))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    /// Starts building a response: status 200, no extra headers.
    ///
    /// ```
    /// let response = ignite::Response::builder()
    ///     .status(202)
    ///     .header("x-queue", "batch")
    ///     .json(&ignite::json!({ "queued": true }))
    ///     .unwrap();
    /// assert_eq!(response.status(), 202);
    /// assert_eq!(response.header("x-queue"), Some("batch"));
    /// ```
    pub fn builder() -> ResponseBuilder {
        ResponseBuilder {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            error: None,
        }
    }

    /// A 200 response whose body is `value` serialized as JSON.
    ///
    /// ```
    /// let response = ignite::Response::json(&[1, 2, 3]).unwrap();
    /// assert_eq!(response.body(), b"[1,2,3]");
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Response> {
        Ok(Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: to_json(value)?,
        })
    }

    /// The HTTP status code.
    ///
    /// ```
    /// assert_eq!(ignite::Response::json(&true).unwrap().status(), 200);
    /// ```
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// A header set on the response (case-insensitive name), if it is valid text.
    ///
    /// ```
    /// let response = ignite::Response::builder()
    ///     .header("Cache-Control", "no-store")
    ///     .json(&())
    ///     .unwrap();
    /// assert_eq!(response.header("cache-control"), Some("no-store"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The serialized JSON body.
    ///
    /// ```
    /// let response = ignite::Response::json("text").unwrap();
    /// assert_eq!(response.body(), br#""text""#);
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// A response with the given status and body `{"error": message}`.
    pub(crate) fn error(status: StatusCode, message: &str) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: error_body(message),
        }
    }

    /// A platform error, as the Ignite runner and API write it: `{"error", "code", ...details}`.
    pub(crate) fn platform_error(status: StatusCode, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    /// Status, headers (no `content-type` added yet) and body.
    pub(crate) fn into_parts(self) -> (StatusCode, HeaderMap, Bytes) {
        (self.status, self.headers, self.body)
    }

    /// A 200 response from an already serialized JSON body.
    fn from_json_bytes(body: Bytes) -> Response {
        Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body,
        }
    }

    fn from_serialized(result: Result<Bytes>) -> Response {
        match result {
            Ok(body) => Response::from_json_bytes(body),
            Err(error) => Response::error(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        }
    }
}

/// Builds a [`Response`]; made by [`Response::builder`]. An invalid status or header is
/// reported by [`ResponseBuilder::json`].
///
/// ```
/// let result = ignite::Response::builder().status(42).json(&());
/// assert_eq!(result.unwrap_err().to_string(), "invalid HTTP status code 42");
/// ```
#[derive(Debug)]
pub struct ResponseBuilder {
    status: StatusCode,
    headers: HeaderMap,
    error: Option<Error>,
}

impl ResponseBuilder {
    /// Sets the HTTP status code (100–999; default 200).
    ///
    /// ```
    /// let response = ignite::Response::builder().status(404).json(&()).unwrap();
    /// assert_eq!(response.status(), 404);
    /// ```
    pub fn status(mut self, status: u16) -> Self {
        match StatusCode::from_u16(status) {
            Ok(status) if status.as_u16() >= 100 => self.status = status,
            _ => self.fail(Error::msg(format!("invalid HTTP status code {status}"))),
        }
        self
    }

    /// Appends a header. Setting `content-type` replaces the default `application/json`.
    ///
    /// ```
    /// let response = ignite::Response::builder()
    ///     .header("set-cookie", "a=1")
    ///     .header("set-cookie", "b=2")
    ///     .json(&())
    ///     .unwrap();
    /// assert_eq!(response.header("set-cookie"), Some("a=1"));
    /// ```
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(_), _) => self.fail(Error::msg(format!("invalid header name {name:?}"))),
            (_, Err(_)) => self.fail(Error::msg(format!(
                "invalid value for header {name:?}: {value:?}"
            ))),
        }
        self
    }

    /// Finishes the response with `value` serialized as its JSON body.
    ///
    /// Fails if a status or header given to the builder was invalid, or if `value` cannot be
    /// serialized.
    ///
    /// ```
    /// let response = ignite::Response::builder().json(&ignite::json!({ "a": 1 })).unwrap();
    /// assert_eq!(response.body(), br#"{"a":1}"#);
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Response> {
        if let Some(error) = self.error {
            return Err(error);
        }
        Ok(Response {
            status: self.status,
            headers: self.headers,
            body: to_json(value)?,
        })
    }

    fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}

/// Serializes `value` to JSON bytes.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Bytes> {
    let mut buffer = Vec::with_capacity(128);
    match serde_json::to_writer(&mut buffer, value) {
        Ok(()) => Ok(Bytes::from(buffer)),
        Err(error) => Err(Error::msg(format!(
            "failed to serialize the response: {error}"
        ))),
    }
}

/// `{"error": message}` as JSON bytes.
pub(crate) fn error_body(message: &str) -> Bytes {
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        error: &'a str,
    }
    let mut buffer = Vec::with_capacity(message.len() + 16);
    serde_json::to_writer(&mut buffer, &ErrorBody { error: message })
        .expect("a struct with one string field always serializes");
    Bytes::from(buffer)
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for serde_json::Value {
    fn into_response(self) -> Response {
        Response::from_serialized(to_json(&self))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        Response::from_serialized(to_json(&self.0))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::from_serialized(to_json(&self))
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::from_serialized(to_json(self))
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::from_json_bytes(Bytes::from_static(b"null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn values_become_200_json() {
        let response = serde_json::json!({"a": [1, "two"]}).into_response();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), br#"{"a":[1,"two"]}"#);
        assert_eq!(String::from("x\"y").into_response().body(), br#""x\"y""#);
        assert_eq!(().into_response().body(), b"null");
    }

    #[test]
    fn serialization_failures_become_500() {
        let mut map = BTreeMap::new();
        map.insert(vec![1u8], 1);
        let response = Json(map).into_response();
        assert_eq!(response.status(), 500);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body["error"],
            "failed to serialize the response: key must be a string"
        );
    }

    #[test]
    fn builder_reports_the_first_problem() {
        let error = Response::builder()
            .header("bad name", "x")
            .status(1000)
            .json(&())
            .unwrap_err();
        assert_eq!(error.to_string(), "invalid header name \"bad name\"");
        let error = Response::builder()
            .header("x-ok", "line\nbreak")
            .json(&())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for header \"x-ok\": \"line\\nbreak\""
        );
    }

    #[test]
    fn error_bodies_escape_messages() {
        assert_eq!(&error_body("a \"b\"\n")[..], br#"{"error":"a \"b\"\n"}"#);
    }
}
