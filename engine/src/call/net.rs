//! `Net.httpRequestAsync` on the engine side: one process-wide HTTP client;
//! each request runs as a job in its own task and its result goes back to
//! the call core, which hands it to the session if it is still live.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use dialtone_calls::HttpJob;
use dialtone_core::messages::{http_codes, Headers, HttpResult};

/// VoxEngine's TCP connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(6);

/// The client every request shares (connection pool, TLS roots).
fn client() -> Result<&'static reqwest::Client, String> {
    static PROVIDER: Once = Once::new();
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    PROVIDER.call_once(|| {
        // Fails only if another provider is installed already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("dialtone/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("HTTP client: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs one request to its end; every failure becomes one of VoxEngine's codes.
pub(super) async fn perform(request: HttpJob) -> HttpResult {
    let timeout = request.timeout;
    // The client's own timeout covers connect, headers and body; this outer
    // one also bounds anything the client does not count.
    match tokio::time::timeout(timeout + Duration::from_millis(250), exchange(request)).await {
        Ok(result) => result,
        Err(_) => HttpResult::failure(
            http_codes::TIMEOUT,
            format!("no complete response within {} s", timeout.as_secs_f64()),
        ),
    }
}

async fn exchange(request: HttpJob) -> HttpResult {
    let client = match client() {
        Ok(client) => client,
        Err(e) => return HttpResult::failure(http_codes::INTERNAL, e),
    };
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
/// the text.
fn failure_of(error: &reqwest::Error) -> HttpResult {
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

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
        let result = perform(get(url, Duration::from_secs(5))).await;
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
        let result = perform(get(url, Duration::from_secs(10))).await;
        assert_eq!(result.code, http_codes::TOO_LARGE);
    }

    #[tokio::test]
    async fn a_closed_port_gives_minus_4_and_a_bad_url_minus_2() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let result = perform(get(format!("http://{addr}/"), Duration::from_secs(5))).await;
        assert_eq!(result.code, http_codes::CONNECTION, "{result:?}");
        let result = perform(get("http//nohost".into(), Duration::from_secs(5))).await;
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
        let result = perform(get(format!("http://{addr}/"), Duration::from_millis(300))).await;
        assert_eq!(result.code, http_codes::TIMEOUT, "{result:?}");
        held.abort();
    }
}
