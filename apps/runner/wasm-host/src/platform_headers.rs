//! The platform's `x-ignite-*` headers: the execution id the guest sees, the caller's own
//! `x-ignite-*` request headers removed, and the headers the platform adds to each answer.

use std::time::Duration;

use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Request and response: the execution's id (a UUIDv7 unless the runner chose one).
pub const EXECUTION_ID: HeaderName = HeaderName::from_static("x-ignite-execution-id");
/// Response: `true` only for the first request the host serves.
pub const COLD: HeaderName = HeaderName::from_static("x-ignite-cold");
/// Response: the release number (`IGNITE_RELEASE`).
pub const RELEASE: HeaderName = HeaderName::from_static("x-ignite-release");
/// Response: milliseconds from the request's arrival to its answer's head, two decimals.
pub const DURATION_MS: HeaderName = HeaderName::from_static("x-ignite-duration-ms");

/// The request's `x-ignite-execution-id` when it is a usable id (1 to 128 characters of
/// letters, digits and `-_.:`: it goes into log lines), else a new UUIDv7.
pub fn execution_id(headers: &HeaderMap) -> String {
    headers
        .get(EXECUTION_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_usable_id(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

fn is_usable_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Removes every `x-ignite-*` header of a caller's request: only the host says what they mean
/// (read the execution id with [`execution_id`] first).
pub fn strip_platform_headers(headers: &mut HeaderMap) {
    let platform: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-ignite-"))
        .cloned()
        .collect();
    for name in platform {
        headers.remove(name);
    }
}

/// What the guest gets besides the request's own headers: the execution id, and a `host`
/// (wasi:http needs an authority; requests over a unix socket may have none).
pub fn set_guest_headers(headers: &mut HeaderMap, execution_id: &str) {
    if let Ok(value) = HeaderValue::from_str(execution_id) {
        headers.insert(EXECUTION_ID, value);
    }
    if !headers.contains_key(HOST) {
        headers.insert(HOST, HeaderValue::from_static("function"));
    }
}

/// The headers the platform adds to an answer.
pub fn add_response_headers(
    headers: &mut HeaderMap,
    execution_id: &str,
    release: &HeaderValue,
    cold: bool,
    elapsed: Duration,
) {
    if let Ok(value) = HeaderValue::from_str(execution_id) {
        headers.insert(EXECUTION_ID, value);
    }
    headers.insert(
        COLD,
        HeaderValue::from_static(if cold { "true" } else { "false" }),
    );
    headers.insert(RELEASE, release.clone());
    headers.insert(DURATION_MS, milliseconds(elapsed));
}

/// `12.34`: milliseconds with two decimals, as the native serve loop writes them.
pub fn milliseconds(elapsed: Duration) -> HeaderValue {
    let hundredths = elapsed.as_secs() * 100_000 + u64::from(elapsed.subsec_nanos() / 10_000);
    let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
    HeaderValue::from_str(&text).expect("digits and a dot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_runner_id_and_replaces_a_bad_one() {
        let mut headers = HeaderMap::new();
        headers.insert(EXECUTION_ID, HeaderValue::from_static("0198-abc"));
        assert_eq!(execution_id(&headers), "0198-abc");
        headers.insert(EXECUTION_ID, HeaderValue::from_static("has space"));
        let made = execution_id(&headers);
        assert_eq!(uuid::Uuid::parse_str(&made).unwrap().get_version_num(), 7);
        assert_eq!(execution_id(&HeaderMap::new()).len(), 36);
    }

    #[test]
    fn the_guest_sees_no_platform_header_but_its_id() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ignite-function-id",
            HeaderValue::from_static("other/app"),
        );
        headers.insert(
            "x-ignite-internal-token",
            HeaderValue::from_static("secret"),
        );
        headers.insert(EXECUTION_ID, HeaderValue::from_static("forged"));
        headers.insert("x-test", HeaderValue::from_static("kept"));
        strip_platform_headers(&mut headers);
        set_guest_headers(&mut headers, "e1");
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["host", "x-ignite-execution-id", "x-test"]);
        assert_eq!(headers[EXECUTION_ID], "e1");
    }

    #[test]
    fn milliseconds_have_two_decimals() {
        assert_eq!(milliseconds(Duration::from_micros(1_234_567)), "1234.56");
        assert_eq!(milliseconds(Duration::from_micros(50)), "0.05");
    }
}
