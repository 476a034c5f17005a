//! Policy-keeping HTTP clients against live servers on loopback: literal
//! addresses, names checked after resolution with the URL's port, and
//! redirects checked hop by hop. Loopback is where test servers live, so each
//! test allows exactly the server ports it means to reach.
#![cfg(feature = "http")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dialtone_egress::http::{denial, HttpEgress};
use dialtone_egress::{parse_allow_list, EgressPolicy, OwnListeners};
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server answering every request with `response`; counts connections.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn serve(response: impl Fn(u16) -> String + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            let text = response(addr.port());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(text.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Server { addr, hits }
}

fn ok() -> impl Fn(u16) -> String {
    |_| "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into()
}

fn redirect_to(location: String) -> impl Fn(u16) -> String {
    move |_| {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }
}

fn egress(allow: &str) -> HttpEgress {
    let policy = EgressPolicy::new(parse_allow_list(allow).unwrap());
    HttpEgress::new(Arc::new(policy), Duration::from_secs(2)).unwrap()
}

async fn get(egress: &HttpEgress, url: &str) -> Result<String, String> {
    let url = Url::parse(url).unwrap();
    let client = egress.client_for(&url).map_err(|e| e.to_string())?;
    match client.get(url).send().await {
        Ok(resp) => Ok(resp.text().await.unwrap()),
        Err(e) => Err(match denial(&e) {
            Some(d) => d.to_string(),
            None => format!("not a denial: {e:?}"),
        }),
    }
}

#[tokio::test]
async fn an_allow_listed_address_and_port_is_reached_and_its_neighbours_are_not() {
    let allowed = serve(ok()).await;
    let other = serve(ok()).await;
    let e = egress(&allowed.addr.to_string());
    assert_eq!(
        get(&e, &format!("http://{}/", allowed.addr)).await,
        Ok("ok".into())
    );
    let refused = get(&e, &format!("http://{}/", other.addr))
        .await
        .unwrap_err();
    assert!(refused.contains("is loopback (127.0.0.0/8)"), "{refused}");
    assert_eq!(other.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_is_checked_after_resolution_with_the_urls_port() {
    let server = serve(ok()).await;
    let port = server.addr.port();
    let url = format!("http://localhost:{port}/");
    let refused = get(&egress("none"), &url).await.unwrap_err();
    assert!(
        refused.starts_with("denied by the egress policy: "),
        "{refused}"
    );
    assert!(refused.contains("loopback"), "{refused}");
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    // The exact entry admits the name's address at that port only.
    let exact = egress(&format!("127.0.0.1:{port}, [::1]:{port}"));
    assert_eq!(get(&exact, &url).await, Ok("ok".into()));
    let other = egress(&format!("127.0.0.1:{}", port.wrapping_add(1).max(1)));
    assert!(get(&other, &url).await.is_err());
    assert_eq!(
        get(&egress("127.0.0.0/8, ::1"), &url).await,
        Ok("ok".into())
    );
}

#[tokio::test]
async fn a_redirect_to_a_denied_destination_is_not_followed() {
    let target = serve(ok()).await;
    let by_address = serve(redirect_to(format!("http://{}/", target.addr))).await;
    let by_name = serve(redirect_to(format!(
        "http://localhost:{}/",
        target.addr.port()
    )))
    .await;
    let e = egress(&format!("{}, {}", by_address.addr, by_name.addr));
    for from in [&by_address, &by_name] {
        let refused = get(&e, &format!("http://{}/start", from.addr))
            .await
            .unwrap_err();
        assert!(
            refused.contains(&format!("127.0.0.1:{} is loopback", target.addr.port())),
            "{refused}"
        );
        assert_eq!(from.hits.load(Ordering::SeqCst), 1);
    }
    assert_eq!(
        target.hits.load(Ordering::SeqCst),
        0,
        "the target was never reached"
    );
    // Allowed as well: followed.
    let both = egress(&format!(
        "{}, {}, {}",
        by_address.addr, by_name.addr, target.addr
    ));
    assert_eq!(
        get(&both, &format!("http://{}/start", by_name.addr)).await,
        Ok("ok".into())
    );
}

#[tokio::test]
async fn a_redirect_loop_stops() {
    let looping = serve(|port| {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    })
    .await;
    let e = egress(&looping.addr.to_string());
    let url = Url::parse(&format!("http://{}/", looping.addr)).unwrap();
    let err = e
        .client_for(&url)
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(denial(&err).is_none());
    assert_eq!(looping.hits.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn own_listeners_are_refused_by_name_too() {
    let own = serve(ok()).await;
    let policy = EgressPolicy::new(parse_allow_list("127.0.0.0/8, ::1").unwrap())
        .with_own_listeners(OwnListeners::new([own.addr.port()], []));
    let e = HttpEgress::new(Arc::new(policy), Duration::from_secs(2)).unwrap();
    let refused = get(&e, &format!("http://localhost:{}/metrics", own.addr.port()))
        .await
        .unwrap_err();
    assert!(refused.contains("own listeners"), "{refused}");
    assert_eq!(own.hits.load(Ordering::SeqCst), 0);
}
