//! Test helpers: WAV writing, tone measurement and a minimal HTTP/1.1 server.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug)]
pub enum SampleFormat {
    U8,
    I16,
    F32,
}

/// A WAV file holding a sine tone on every channel.
pub fn tone_wav(rate: u32, channels: u16, fmt: SampleFormat, hz: f64, secs: f64) -> Vec<u8> {
    let frames = (rate as f64 * secs).round() as usize;
    let mut data = Vec::new();
    for i in 0..frames {
        let v = 0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin();
        for _ in 0..channels {
            match fmt {
                SampleFormat::U8 => data.push((128.0 + v * 127.0).round() as u8),
                SampleFormat::I16 => data.extend_from_slice(&((v * 32767.0) as i16).to_le_bytes()),
                SampleFormat::F32 => data.extend_from_slice(&(v as f32).to_le_bytes()),
            }
        }
    }
    let (tag, bits): (u16, u16) = match fmt {
        SampleFormat::U8 => (1, 8),
        SampleFormat::I16 => (1, 16),
        SampleFormat::F32 => (3, 32),
    };
    let block = channels * bits / 8;
    let mut w = Vec::with_capacity(44 + data.len());
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&tag.to_le_bytes());
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    w.extend_from_slice(&block.to_le_bytes());
    w.extend_from_slice(&bits.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data.len() as u32).to_le_bytes());
    w.extend_from_slice(&data);
    w
}

pub fn wav_16k_440(secs: f64) -> Vec<u8> {
    tone_wav(16000, 1, SampleFormat::I16, 440.0, secs)
}

/// Power of one frequency over `x` at 8 kHz (Goertzel), normalised so a
/// full-length sine of amplitude A gives about A²/4·N².
pub fn goertzel(x: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest frequency between 100 Hz and 3.9 kHz, in 1 Hz steps
/// around the coarse peak.
pub fn dominant_frequency(x: &[i16]) -> f64 {
    let coarse = (100..3900)
        .step_by(10)
        .map(f64::from)
        .max_by(|a, b| goertzel(x, *a).total_cmp(&goertzel(x, *b)))
        .unwrap();
    ((coarse as i64 - 15)..=(coarse as i64 + 15))
        .map(|f| f as f64)
        .max_by(|a, b| goertzel(x, *a).total_cmp(&goertzel(x, *b)))
        .unwrap()
}

pub fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Asserts `clip` is a clean tone of `hz` lasting `secs`.
pub fn assert_tone(clip: &[i16], hz: f64, secs: f64, tolerance_secs: f64, what: &str) {
    let dur = clip.len() as f64 / 8000.0;
    assert!(
        (dur - secs).abs() <= tolerance_secs,
        "{what}: duration {dur:.4} s, want {secs} s"
    );
    let mid = &clip[clip.len() / 5..clip.len() * 4 / 5];
    let f = dominant_frequency(mid);
    assert!((f - hz).abs() <= 5.0, "{what}: dominant {f} Hz, want {hz}");
    // Energy outside the tone (aliases, distortion) must be small.
    let level = rms(mid);
    assert!(level > 5000.0, "{what}: level {level} too low");
    let n = mid.len() as f64;
    let tone_amp = (goertzel(mid, f)).sqrt() * 2.0 / n;
    let residual = (level.powi(2) - tone_amp.powi(2) / 2.0).max(0.0).sqrt();
    assert!(
        residual < level * 0.05,
        "{what}: residual {residual:.1} vs level {level:.1}"
    );
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Waits, then sends the inner reply.
    After(Duration, Box<Reply>),
    /// Sends headers, then nothing, for ever.
    Stall,
    /// Sends a body of `n` bytes without Content-Length, closing at the end.
    Unsized(usize),
}

impl Reply {
    pub fn ok(body: Vec<u8>) -> Reply {
        Reply::Full {
            status: 200,
            headers: vec![],
            body,
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply::Full {
            status,
            headers: vec![],
            body: vec![],
        }
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// HTTP/1.1 on 127.0.0.1, one request per connection.
pub struct TestServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(handler);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (reqs, h) = (requests.clone(), hits.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (handler, reqs, h) = (handler.clone(), reqs.clone(), h.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, handler, reqs, h).await;
                });
            }
        });
        TestServer {
            addr,
            requests,
            hits,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut sock: TcpStream,
    handler: Handler,
    reqs: Arc<Mutex<Vec<Request>>>,
    hits: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let req = Request {
        method,
        path,
        headers,
        body,
    };
    hits.fetch_add(1, Ordering::SeqCst);
    reqs.lock().push(req.clone());
    let mut reply = handler(&req);
    loop {
        match reply {
            Reply::After(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                sock.write_all(out.as_bytes()).await?;
                sock.write_all(&body).await?;
                return sock.shutdown().await;
            }
            Reply::Stall => {
                sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nRIFF")
                    .await?;
                std::future::pending::<()>().await;
            }
            Reply::Unsized(n) => {
                sock.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    .await?;
                let chunk = vec![0u8; 64 * 1024];
                let mut sent = 0;
                while sent < n {
                    sock.write_all(&chunk).await?;
                    sent += chunk.len();
                }
                return sock.shutdown().await;
            }
        }
    }
}
