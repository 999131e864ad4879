//! [`Request`]: the invocation's HTTP request and its JSON body.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::error::{Error, Result};

/// What an empty request body means: the empty JSON object.
const EMPTY_BODY: &[u8] = b"{}";

/// The request of one invocation: its JSON body and its HTTP method, path, query and headers.
///
/// The serve loop has already checked that the body is JSON (a body that is not gets a 400
/// and the handler is not called); an empty body counts as `{}`.
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Order {
///     item: String,
///     quantity: u32,
/// }
///
/// #[ignite::main]
/// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
///     let order: Order = req.body()?;
///     let dry_run = req.query_param("dry_run").is_some_and(|v| v == "true");
///     Ok(json!({
///         "item": order.item,
///         "quantity": order.quantity,
///         "dry_run": dry_run,
///         "method": req.method(),
///         "path": req.path(),
///         "user_agent": req.header("user-agent"),
///     }))
/// }
/// ```
pub struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    /// Builds a request from its HTTP parts, checking that the body is JSON.
    ///
    /// The error is the message for the caller's 400.
    pub(crate) fn decode(
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> std::result::Result<Request, String> {
        let request = Request {
            method,
            uri,
            headers,
            body,
        };
        match serde_json::from_slice::<IgnoredAny>(request.json()) {
            Ok(IgnoredAny) => Ok(request),
            Err(error) => Err(format!("request body is not valid JSON: {error}")),
        }
    }

    /// One field of the JSON body (an object), deserialized into `T`.
    ///
    /// Fails with `field "<key>" is missing` when the body has no such field (unless `T` is an
    /// `Option`, which is then `None`), and with a message naming the field and the type
    /// mismatch otherwise, e.g. `field "count": expected u32, found string "x"`.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     let count: u32 = req.field("count")?; // 500 {"error": "field \"count\" is missing"}
    ///     let note: Option<String> = req.field("note")?; // None when absent
    ///     let name: String = req.field("name").unwrap_or_else(|_| "anonymous".to_string());
    ///     Ok(json!({ "count": count, "note": note, "name": name }))
    /// }
    /// ```
    pub fn field<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        // Fast path: one pass over the raw body, no intermediate `Value`.
        let mut deserializer = serde_json::Deserializer::from_slice(self.json());
        let lookup = de::Deserializer::deserialize_map(
            &mut deserializer,
            FieldVisitor::<T> {
                key,
                marker: PhantomData,
            },
        );
        match lookup {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {
                if let Ok(value) = T::deserialize(MissingField) {
                    return Ok(value);
                }
            }
            Err(_) => {}
        }
        // Slow path, through a `Value`, for a precise message.
        self.field_slow(key).map_err(Error::msg)
    }

    fn field_slow<T: DeserializeOwned>(&self, key: &str) -> std::result::Result<T, String> {
        let body: serde_json::Value = match serde_json::from_slice(self.json()) {
            Ok(body) => body,
            Err(error) => {
                return Err(format!(
                    "field {key:?}: request body is not valid JSON: {error}"
                ))
            }
        };
        let object = match &body {
            serde_json::Value::Object(object) => object,
            other => {
                return Err(format!(
                    "field {key:?} is missing: the request body is {}, not an object",
                    json_kind(other)
                ))
            }
        };
        match object.get(key) {
            None => Err(format!("field {key:?} is missing")),
            Some(value) => T::deserialize(value)
                .map_err(|error| format!("field {key:?}: {}", describe_mismatch(&error))),
        }
    }

    /// The whole JSON body deserialized into `T` (an empty body is `{}`).
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Input {
    ///     numbers: Vec<i64>,
    /// }
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     let input: Input = req.body()?;
    ///     Ok(json!({ "sum": input.numbers.iter().sum::<i64>() }))
    /// }
    /// ```
    pub fn body<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(self.json()).map_err(|error| {
            let location = if error.line() > 0 {
                format!(" (at line {} column {})", error.line(), error.column())
            } else {
                String::new()
            };
            Error::msg(format!(
                "invalid request body: {}{location}",
                describe_mismatch(&error)
            ))
        })
    }

    /// The body exactly as received (possibly empty; [`Request::body`] and [`Request::field`]
    /// read an empty body as `{}`).
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     Ok(json!({ "bytes": req.raw().len() }))
    /// }
    /// ```
    pub fn raw(&self) -> &[u8] {
        &self.body
    }

    /// The HTTP method, e.g. `"POST"`.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     if req.method() != "POST" {
    ///         return Err(Error::msg(format!("{} is not supported", req.method())));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    /// The path of the request URL, e.g. `"/orders/42"` (still percent-encoded, as sent).
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     let segments: Vec<&str> = req.path().split('/').filter(|s| !s.is_empty()).collect();
    ///     Ok(json!({ "segments": segments }))
    /// }
    /// ```
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string (after `?`, not decoded), if the URL has one.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     Ok(json!({ "query": req.query() }))
    /// }
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The first value of query parameter `name`, percent-decoded (`+` decodes to a space, as
    /// in HTML forms; invalid UTF-8 is replaced with U+FFFD). `None` when absent.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     // GET /search?q=caf%C3%A9+au+lait  →  "café au lait"
    ///     let q = req.query_param("q").unwrap_or_default();
    ///     Ok(json!({ "q": q }))
    /// }
    /// ```
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_params()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// Every query parameter in order, percent-decoded like [`Request::query_param`].
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     let tags: Vec<String> = req
    ///         .query_params()
    ///         .filter(|(key, _)| key == "tag")
    ///         .map(|(_, value)| value.into_owned())
    ///         .collect();
    ///     Ok(json!({ "tags": tags }))
    /// }
    /// ```
    pub fn query_params(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
    }

    /// The first value of header `name` (case-insensitive). `None` when absent or when the
    /// value is not visible ASCII text.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     // Matches "Authorization", "authorization", "AUTHORIZATION"...
    ///     let authorized = req.header("Authorization") == Some("Bearer let-me-in");
    ///     Ok(json!({ "authorized": authorized }))
    /// }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Every header as `(lower-case name, value)`, skipping values that are not visible ASCII
    /// text. A repeated header appears once per value.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    ///     let names: Vec<&str> = req.headers().map(|(name, _)| name).collect();
    ///     Ok(json!({ "header_names": names }))
    /// }
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
    }

    /// The body as JSON text: the raw body, or `{}` when it is empty.
    fn json(&self) -> &[u8] {
        if self.body.is_empty() {
            EMPTY_BODY
        } else {
            &self.body
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// `"a string"`, `"an array"`...: the kind of a JSON value, for messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Rewrites serde's `invalid type: string "x", expected u32` as
/// `expected u32, found string "x"`, without serde_json's position suffix.
fn describe_mismatch(error: &serde_json::Error) -> String {
    let mut message = error.to_string();
    if error.line() > 0 {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some((found, expected)) = rest.and_then(|rest| rest.split_once(", expected ")) {
        return format!("expected {expected}, found {found}");
    }
    message
}

/// Looks for one key in a JSON object, deserializing only its value.
struct FieldVisitor<'k, T> {
    key: &'k str,
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(matches) = map.next_key_seed(KeyMatches(self.key))? {
            if matches && found.is_none() {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes a map key into "is it the key we look for", without allocating.
struct KeyMatches<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyMatches<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyMatches<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> std::result::Result<bool, E> {
        Ok(key == self.0)
    }
}

/// What a missing field deserializes from: only `Option`s (as `None`) accept it.
struct MissingField;

impl<'de> de::Deserializer<'de> for MissingField {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(
        self,
        _visitor: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        Err(de::Error::custom("missing field"))
    }

    fn deserialize_option<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> Request {
        Request::decode(
            Method::POST,
            Uri::from_static("/"),
            HeaderMap::new(),
            Bytes::copy_from_slice(body.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn field_reads_one_value() {
        let req = request(r#"{"a": {"b": [1, 2]}, "message": "hi \"there\"", "n": 3}"#);
        assert_eq!(req.field::<String>("message").unwrap(), "hi \"there\"");
        assert_eq!(req.field::<u8>("n").unwrap(), 3);
        assert_eq!(
            req.field::<serde_json::Value>("a").unwrap(),
            serde_json::json!({"b": [1, 2]})
        );
        assert_eq!(req.field::<Option<u8>>("absent").unwrap(), None);
        assert_eq!(req.field::<Option<u8>>("n").unwrap(), Some(3));
    }

    #[test]
    fn field_errors_name_the_field_and_the_problem() {
        let req = request(r#"{"count": "x", "n": -1, "list": [1]}"#);
        assert_eq!(
            req.field::<u32>("count").unwrap_err().to_string(),
            r#"field "count": expected u32, found string "x""#
        );
        assert_eq!(
            req.field::<String>("message").unwrap_err().to_string(),
            r#"field "message" is missing"#
        );
        assert_eq!(
            req.field::<serde_json::Value>("message")
                .unwrap_err()
                .to_string(),
            r#"field "message" is missing"#
        );
        assert_eq!(
            req.field::<u8>("n").unwrap_err().to_string(),
            r#"field "n": expected u8, found integer `-1`"#
        );
        assert_eq!(
            req.field::<String>("list").unwrap_err().to_string(),
            r#"field "list": expected a string, found sequence"#
        );
        let req = request("[1, 2]");
        assert_eq!(
            req.field::<u8>("x").unwrap_err().to_string(),
            r#"field "x" is missing: the request body is an array, not an object"#
        );
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        let req = request("");
        assert_eq!(req.raw(), b"");
        assert_eq!(
            req.body::<serde_json::Value>().unwrap(),
            serde_json::json!({})
        );
        assert!(req.field::<String>("message").is_err());
    }

    #[test]
    fn invalid_json_is_rejected() {
        let error = Request::decode(
            Method::POST,
            Uri::from_static("/"),
            HeaderMap::new(),
            Bytes::from_static(b"{not json"),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "request body is not valid JSON: key must be a string at line 1 column 2"
        );
        assert!(Request::decode(
            Method::POST,
            Uri::from_static("/"),
            HeaderMap::new(),
            Bytes::from_static(b"{} trailing"),
        )
        .is_err());
    }

    #[test]
    fn body_errors_are_readable() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Input {
            count: u32,
        }
        let req = request(r#"{"count": "x"}"#);
        assert_eq!(
            req.body::<Input>().unwrap_err().to_string(),
            r#"invalid request body: expected u32, found string "x" (at line 1 column 13)"#
        );
        let req = request("{}");
        assert_eq!(
            req.body::<Input>().unwrap_err().to_string(),
            "invalid request body: missing field `count` (at line 1 column 2)"
        );
    }

    #[test]
    fn http_accessors() {
        let mut headers = HeaderMap::new();
        headers.insert("x-custom-header", "Value".parse().unwrap());
        let req = Request::decode(
            Method::GET,
            Uri::from_static("/a/b?name=J%C3%BCrgen&x=a+b&x=second&empty"),
            headers,
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(req.method(), "GET");
        assert_eq!(req.path(), "/a/b");
        assert_eq!(req.query_param("name").as_deref(), Some("Jürgen"));
        assert_eq!(req.query_param("x").as_deref(), Some("a b"));
        assert_eq!(req.query_param("empty").as_deref(), Some(""));
        assert_eq!(req.query_param("nope"), None);
        assert_eq!(req.header("X-Custom-Header"), Some("Value"));
        assert_eq!(req.header("x-custom-header"), Some("Value"));
        assert_eq!(req.header("not a header name"), None);
        assert_eq!(req.headers().count(), 1);
    }
}
