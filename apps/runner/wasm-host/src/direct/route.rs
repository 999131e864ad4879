//! Which function a request on a direct connection is for, as the SDK decides it
//! (`sdk/ignite-rs/ignite/src/serve/native/direct/connection.rs`): the internal route's and the
//! public route's prefixes of this function, the platform's credential, and a request written
//! back out as bytes for the runner.

use http::header::{CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http::uri::PathAndQuery;
use http::{HeaderMap, Uri};
use percent_encoding::percent_decode_str;

/// The runner's invoke route: `/v1/invoke/{org}/{app}{/path}{?query}`.
const INVOKE_PREFIX: &str = "/v1/invoke/";
/// The public route: `/v1/orgs/{org}/apps/{app}/invoke{/path}{?query}`.
const PUBLIC_PREFIX: &str = "/v1/orgs/";

/// The public route's prefix of `org/app`.
pub(super) fn public_prefix(function_id: &str) -> String {
    let (org, app) = function_id.split_once('/').unwrap_or((function_id, ""));
    format!("/v1/orgs/{org}/apps/{app}/invoke")
}

/// Whether an Authorization value presents an Ignite API key (`Bearer ign_…`, as
/// `presentsApiKey` in @ignite/contracts): the platform's credential, which no handler is given.
pub(super) fn presents_api_key(value: &[u8]) -> bool {
    const BEARER: &[u8] = b"bearer";
    if value.len() <= BEARER.len() || !value[..BEARER.len()].eq_ignore_ascii_case(BEARER) {
        return false;
    }
    let rest = &value[BEARER.len()..];
    let token = rest.trim_ascii_start();
    token.len() < rest.len() && token.starts_with(b"ign_")
}

/// An HTTP/1 request's bytes: its body whole, with its length (hyper already read it, and sent
/// any `100 Continue`).
pub(super) fn request_bytes(
    method: &str,
    target: &str,
    version: http::Version,
    headers: &HeaderMap,
    body: &[u8],
) -> Vec<u8> {
    let version = if version == http::Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {target} {version}\r\n").as_bytes());
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == EXPECT {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// `/v1/invoke/{org}/{app}{/path}{?query}` of this function → `{/path}{?query}`.
pub(super) fn route(target: Option<&PathAndQuery>, function_id: &str) -> Result<Uri, String> {
    let target = target.map(PathAndQuery::as_str).unwrap_or("/");
    // The usual case, names as they are: no decoding.
    if let Some(rest) = target
        .strip_prefix(INVOKE_PREFIX)
        .and_then(|rest| rest.strip_prefix(function_id))
    {
        match rest.as_bytes().first() {
            None => return Ok(Uri::from_static("/")),
            Some(b'/') => {
                if let Ok(uri) = rest.parse() {
                    return Ok(uri);
                }
            }
            Some(b'?') => {
                if let Ok(uri) = format!("/{rest}").parse() {
                    return Ok(uri);
                }
            }
            // A longer name that starts the same: decided below.
            Some(_) => {}
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let elsewhere = || {
        format!("this connection is bound to {function_id}; {path} is not one of its invocations: send it on a new connection")
    };
    let rest = path.strip_prefix(INVOKE_PREFIX).ok_or_else(elsewhere)?;
    let (org, after) = rest.split_once('/').ok_or_else(elsewhere)?;
    let (app, sub_path) = match after.find('/') {
        Some(at) => (&after[..at], &after[at..]),
        None => (after, "/"),
    };
    let org = percent_decode_str(org)
        .decode_utf8()
        .map_err(|_| elsewhere())?;
    let app = percent_decode_str(app)
        .decode_utf8()
        .map_err(|_| elsewhere())?;
    let named = function_id
        .split_once('/')
        .is_some_and(|(fn_org, fn_app)| *org == *fn_org && *app == *fn_app);
    if !named {
        return Err(elsewhere());
    }
    let uri = match query {
        Some(query) => format!("{sub_path}?{query}"),
        None => sub_path.to_string(),
    };
    uri.parse().map_err(|_| elsewhere())
}

/// `/v1/orgs/{org}/apps/{app}/invoke{/path}{?query}` of this function (`prefix`: its
/// `/v1/orgs/{org}/apps/{app}/invoke`) → `{/path}{?query}`; None for anything else.
pub(super) fn route_public(
    target: Option<&PathAndQuery>,
    prefix: &str,
    function_id: &str,
) -> Option<Uri> {
    let target = target.map(PathAndQuery::as_str).unwrap_or("/");
    // The usual case, names as they are: no decoding.
    if let Some(rest) = target.strip_prefix(prefix) {
        match rest.as_bytes().first() {
            None => return Some(Uri::from_static("/")),
            Some(b'/') => return rest.parse().ok(),
            Some(b'?') => return format!("/{rest}").parse().ok(),
            // `/invokes`, or a longer app name that starts the same: decided below.
            Some(_) => {}
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let rest = path.strip_prefix(PUBLIC_PREFIX)?;
    let (org, rest) = rest.split_once('/')?;
    let (app, rest) = rest.strip_prefix("apps/")?.split_once('/')?;
    let sub_path = rest.strip_prefix("invoke")?;
    if !(sub_path.is_empty() || sub_path.starts_with('/')) {
        return None;
    }
    let org = percent_decode_str(org).decode_utf8().ok()?;
    let app = percent_decode_str(app).decode_utf8().ok()?;
    let named = function_id
        .split_once('/')
        .is_some_and(|(fn_org, fn_app)| *org == *fn_org && *app == *fn_app);
    if !named {
        return None;
    }
    let sub_path = if sub_path.is_empty() { "/" } else { sub_path };
    let uri = match query {
        Some(query) => format!("{sub_path}?{query}"),
        None => sub_path.to_string(),
    };
    uri.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;
    use http::HeaderValue;

    fn routed(target: &str) -> Result<String, String> {
        let pq: PathAndQuery = target.parse().unwrap();
        route(Some(&pq), "acme/hello").map(|uri| uri.to_string())
    }

    #[test]
    fn strips_the_invoke_prefix_of_this_function() {
        assert_eq!(routed("/v1/invoke/acme/hello").unwrap(), "/");
        assert_eq!(routed("/v1/invoke/acme/hello?x=1").unwrap(), "/?x=1");
        assert_eq!(
            routed("/v1/invoke/acme/hello/orders/42?name=ada").unwrap(),
            "/orders/42?name=ada"
        );
        assert_eq!(routed("/v1/invoke/ac%6De/hello/").unwrap(), "/");
    }

    fn routed_public(target: &str) -> Option<String> {
        let pq: PathAndQuery = target.parse().unwrap();
        route_public(Some(&pq), "/v1/orgs/acme/apps/hello/invoke", "acme/hello")
            .map(|uri| uri.to_string())
    }

    #[test]
    fn strips_the_public_prefix_of_this_function() {
        assert_eq!(
            routed_public("/v1/orgs/acme/apps/hello/invoke").as_deref(),
            Some("/")
        );
        assert_eq!(
            routed_public("/v1/orgs/acme/apps/hello/invoke?x=1").as_deref(),
            Some("/?x=1")
        );
        assert_eq!(
            routed_public("/v1/orgs/acme/apps/hello/invoke/orders/42?name=ada").as_deref(),
            Some("/orders/42?name=ada")
        );
        assert_eq!(
            routed_public("/v1/orgs/ac%6De/apps/hello/invoke/").as_deref(),
            Some("/")
        );
        for target in [
            "/v1/orgs/acme/apps/other/invoke",
            "/v1/orgs/acme/apps/hello2/invoke",
            "/v1/orgs/acme/apps/hello/invokes",
            "/v1/orgs/acme/apps/hello",
            "/v1/orgs/other/apps/hello/invoke",
            "/v1/invoke/acme/hello",
            "/healthz",
        ] {
            assert_eq!(routed_public(target), None, "{target}");
        }
    }

    #[test]
    fn knows_an_ignite_key_from_other_credentials() {
        assert!(presents_api_key(b"Bearer ign_abc"));
        assert!(presents_api_key(b"bearer \tign_abc"));
        assert!(!presents_api_key(b"Bearer eyJhbGciOi"));
        assert!(!presents_api_key(b"Basic aWduXzp4"));
        assert!(!presents_api_key(b"Bearerign_abc"));
        assert!(!presents_api_key(b"Bearer"));
    }

    #[test]
    fn writes_a_request_back_out_with_its_body_whole() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(EXPECT, HeaderValue::from_static("100-continue"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer ign_x"));
        let bytes = request_bytes(
            "POST",
            "/v1/orgs/a/apps/b/invoke?x=1",
            http::Version::HTTP_11,
            &headers,
            b"{}",
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "POST /v1/orgs/a/apps/b/invoke?x=1 HTTP/1.1\r\ncontent-type: application/json\r\nauthorization: Bearer ign_x\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn refuses_what_is_not_this_function() {
        for target in [
            "/v1/invoke/acme/other",
            "/v1/invoke/acme",
            "/healthz",
            "/v1/invoke/acme/hello2/x",
            "/v1/invoke/%FF/hello",
        ] {
            let error = routed(target).unwrap_err();
            assert!(error.contains("bound to acme/hello"), "{target}: {error}");
        }
    }
}
