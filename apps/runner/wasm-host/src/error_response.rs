//! The host's own answers: JSON errors shaped as the platform's (`{"error", "code"}`).

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::executor::ResponseBody;

/// `function_timeout`: past the time limit (504).
pub const FUNCTION_TIMEOUT: &str = "function_timeout";
/// `function_error`: the function failed (500): memory limit, trap, no answer.
pub const FUNCTION_ERROR: &str = "function_error";
/// `unavailable`: the host cannot take the request (503).
pub const UNAVAILABLE: &str = "unavailable";

/// A JSON error answer: `{"error": message, "code": code}`.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
) -> http::Response<ResponseBody> {
    let body = serde_json::json!({ "error": message, "code": code }).to_string();
    let length = body.len();
    let mut response = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}
