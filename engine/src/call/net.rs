//! `Net.httpRequestAsync` on the engine side: each request runs as a job in
//! its own task, with a client that keeps to the egress policy (checked
//! for the URL, for every address its host resolves to and for every
//! redirect), and its result goes back to the call core, which hands it to
//! the session if it is still live.

use std::time::Duration;

use dialtone_calls::HttpJob;
use dialtone_core::messages::{http_codes, Headers, HttpResult};
use dialtone_egress::http::{denial, EgressError, HttpEgress};

/// VoxEngine's TCP connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(6);

/// Runs one request to its end; every failure becomes one of VoxEngine's codes.
pub(super) async fn perform(http: &HttpEgress, request: HttpJob) -> HttpResult {
    let timeout = request.timeout;
    // The client's own timeout covers connect, headers and body; this outer
    // one also bounds anything the client does not count.
    match tokio::time::timeout(
        timeout + Duration::from_millis(250),
        exchange(http, request),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => HttpResult::failure(
            http_codes::TIMEOUT,
            format!("no complete response within {} s", timeout.as_secs_f64()),
        ),
    }
}

async fn exchange(http: &HttpEgress, request: HttpJob) -> HttpResult {
    let url = match reqwest::Url::parse(&request.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
        Ok(_) => {
            return HttpResult::failure(http_codes::MALFORMED_URL, "not an http(s) URL with a host")
        }
        Err(e) => return HttpResult::failure(http_codes::MALFORMED_URL, format!("bad URL: {e}")),
    };
    let method = match reqwest::Method::from_bytes(request.method.as_bytes()) {
        Ok(method) => method,
        Err(_) => {
            return HttpResult::failure(
                http_codes::INTERNAL,
                format!("bad method {:?}", request.method),
            )
        }
    };
    let client = match http.client_for(&url) {
        Ok(client) => client,
        // A connection error to the script: the address is unreachable to it.
        Err(EgressError::Denied(denied)) => {
            return HttpResult::failure(http_codes::CONNECTION, denied.to_string())
        }
        Err(EgressError::NotHttp) => {
            return HttpResult::failure(http_codes::MALFORMED_URL, "not an http(s) URL with a host")
        }
        Err(e @ EgressError::Client(_)) => {
            return HttpResult::failure(http_codes::INTERNAL, e.to_string())
        }
    };
    let mut builder = client.request(method, url).timeout(request.timeout);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(e) => return failure_of(&e),
    };
    let code = i32::from(response.status().as_u16());
    let headers: Headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    if response
        .content_length()
        .is_some_and(|n| n > http_codes::MAX_BODY as u64)
    {
        return too_large();
    }
    // Read chunk by chunk so a body over the limit is cut off, not buffered.
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > http_codes::MAX_BODY {
                    return too_large();
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return failure_of(&e),
        }
    }
    HttpResult {
        code,
        headers,
        text: String::from_utf8_lossy(&body).into_owned(),
        error: None,
    }
}

fn too_large() -> HttpResult {
    HttpResult::failure(
        http_codes::TOO_LARGE,
        format!(
            "the response body is larger than {} bytes",
            http_codes::MAX_BODY
        ),
    )
}

/// Maps a client error to VoxEngine's code, keeping the whole cause chain as
/// the text. A destination the egress policy denies (a name's addresses, a
/// redirect) is a connection error with the policy's reason as the text.
fn failure_of(error: &reqwest::Error) -> HttpResult {
    if let Some(denied) = denial(error) {
        return HttpResult::failure(http_codes::CONNECTION, denied.to_string());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    let code = if error.is_timeout() {
        http_codes::TIMEOUT
    } else if error.is_redirect() {
        http_codes::TOO_MANY_REDIRECTS
    } else if error.is_builder() {
        http_codes::MALFORMED_URL
    } else if error.is_connect() {
        // The resolver's failures surface as connect errors; the cause text
        // is the only place that tells them apart.
        if text.contains("dns error") || text.contains("failed to lookup address") {
            http_codes::HOST_NOT_FOUND
        } else {
            http_codes::CONNECTION
        }
    } else if error.is_request() || error.is_body() || error.is_decode() {
        http_codes::NETWORK
    } else {
        http_codes::UNKNOWN
    };
    HttpResult::failure(code, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialtone_egress::{parse_allow_list, EgressPolicy};
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn egress(allow: &str) -> HttpEgress {
        let policy = EgressPolicy::new(parse_allow_list(allow).unwrap());
        HttpEgress::new(Arc::new(policy), CONNECT_TIMEOUT).unwrap()
    }

    /// The test servers live on loopback.
    fn loopback() -> HttpEgress {
        egress("127.0.0.0/8")
    }

    fn get(url: String, timeout: Duration) -> HttpJob {
        HttpJob {
            session: dialtone_core::SessionId::new(),
            id: 1,
            url,
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            timeout,
        }
    }

    /// Serves one connection with `response` (written after reading the request head).
    async fn serve_once(response: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let _ = socket.write_all(&response).await;
            let _ = socket.shutdown().await;
        });
        format!("http://{addr}/x")
    }

    #[tokio::test]
    async fn a_response_gives_its_status_headers_and_text() {
        let url = serve_once(
            b"HTTP/1.1 404 Not Found\r\nX-A: b\r\nContent-Length: 4\r\n\r\nnope".to_vec(),
        )
        .await;
        let result = perform(&loopback(), get(url, Duration::from_secs(5))).await;
        assert_eq!(result.code, 404);
        assert_eq!(result.text, "nope");
        assert!(result.headers.contains(&("x-a".into(), "b".into())));
        assert_eq!(result.error, None);
    }

    #[tokio::test]
    async fn a_body_over_2_mb_gives_minus_9_even_without_a_length() {
        let mut response = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        response.resize(response.len() + http_codes::MAX_BODY + 1, b'a');
        let url = serve_once(response).await;
        let result = perform(&loopback(), get(url, Duration::from_secs(10))).await;
        assert_eq!(result.code, http_codes::TOO_LARGE);
    }

    #[tokio::test]
    async fn a_closed_port_gives_minus_4_and_a_bad_url_minus_2() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let result = perform(
            &loopback(),
            get(format!("http://{addr}/"), Duration::from_secs(5)),
        )
        .await;
        assert_eq!(result.code, http_codes::CONNECTION, "{result:?}");
        let result = perform(
            &loopback(),
            get("http//nohost".into(), Duration::from_secs(5)),
        )
        .await;
        assert_eq!(result.code, http_codes::MALFORMED_URL);
    }

    #[tokio::test]
    async fn a_silent_server_gives_minus_7() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts and never answers.
        let held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
            drop(socket);
        });
        let result = perform(
            &loopback(),
            get(format!("http://{addr}/"), Duration::from_millis(300)),
        )
        .await;
        assert_eq!(result.code, http_codes::TIMEOUT, "{result:?}");
        held.abort();
    }

    /// Serves `response` to every connection and counts them.
    async fn serve_counting(response: String) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 2048];
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (addr, hits)
    }

    const HELLO: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

    fn assert_denied(result: &HttpResult, what: &str) {
        assert_eq!(result.code, http_codes::CONNECTION, "{what}: {result:?}");
        let error = result.error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with("denied by the egress policy: "),
            "{what}: {error}"
        );
    }

    #[tokio::test]
    async fn loopback_metadata_and_names_of_loopback_are_refused_by_default() {
        let (addr, hits) = serve_counting(HELLO.into()).await;
        let deny = egress("none");
        let second = Duration::from_secs(5);
        for url in [
            format!("http://{addr}/"),
            format!("http://localhost:{}/", addr.port()),
            format!("http://[::ffff:127.0.0.1]:{}/", addr.port()),
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
        ] {
            assert_denied(&perform(&deny, get(url.clone(), second)).await, &url);
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent");
    }

    #[tokio::test]
    async fn an_allow_listed_server_is_reached_by_address_and_by_name() {
        let (addr, hits) = serve_counting(HELLO.into()).await;
        let allow = egress(&format!("{addr}, [::1]:{}", addr.port()));
        for url in [
            format!("http://{addr}/"),
            format!("http://localhost:{}/", addr.port()),
        ] {
            let result = perform(&allow, get(url.clone(), Duration::from_secs(5))).await;
            assert_eq!((result.code, result.text.as_str()), (200, "hello"), "{url}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_redirect_from_an_allowed_server_to_a_denied_one_is_refused() {
        let (target, target_hits) = serve_counting(HELLO.into()).await;
        for location in [
            format!("http://{target}/secret"),
            format!("http://localhost:{}/secret", target.port()),
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ] {
            let (start, start_hits) = serve_counting(format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ))
            .await;
            // Only the first server's port is allowed.
            let result = perform(
                &egress(&start.to_string()),
                get(format!("http://{start}/"), Duration::from_secs(5)),
            )
            .await;
            assert_denied(&result, &location);
            assert_eq!(start_hits.load(Ordering::SeqCst), 1);
        }
        assert_eq!(
            target_hits.load(Ordering::SeqCst),
            0,
            "the redirect was not followed"
        );
    }
}
