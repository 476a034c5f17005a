//! The few SIP messages the load client needs, over UDP: INVITE, ACK, BYE,
//! and responses to what dialtone may send us (BYE, OPTIONS).

use std::net::SocketAddr;

/// A parsed SIP message (headers by lowercase full name; compact forms
/// expanded).
pub struct Msg<'a> {
    first: &'a str,
    headers: Vec<(String, &'a str)>,
    body: &'a str,
}

fn full_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "i" => "call-id".into(),
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "m" => "contact".into(),
        "l" => "content-length".into(),
        "c" => "content-type".into(),
        _ => lower,
    }
}

impl<'a> Msg<'a> {
    pub fn parse(data: &'a [u8]) -> Option<Msg<'a>> {
        let text = std::str::from_utf8(data).ok()?;
        let (head, body) = match text.find("\r\n\r\n") {
            Some(i) => (&text[..i], &text[i + 4..]),
            None => (text, ""),
        };
        let mut lines = head.split("\r\n");
        let first = lines.next()?.trim();
        let mut headers = Vec::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                headers.push((full_name(name), value.trim()));
            }
        }
        let body = match headers.iter().find(|(n, _)| n == "content-length") {
            Some((_, v)) => {
                let len: usize = v.parse().ok()?;
                body.get(..len).unwrap_or(body)
            }
            None => body,
        };
        Some(Msg { first, headers, body })
    }

    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &'a str> + '_ {
        let name = name.to_string();
        self.headers.iter().filter(move |(n, _)| *n == name).map(|(_, v)| *v)
    }

    pub fn status(&self) -> Option<u16> {
        let rest = self.first.strip_prefix("SIP/2.0 ")?;
        rest.get(..3)?.parse().ok()
    }

    pub fn method(&self) -> Option<&'a str> {
        if self.first.starts_with("SIP/2.0") {
            return None;
        }
        self.first.split(' ').next()
    }

    pub fn cseq_method(&self) -> Option<&'a str> {
        self.header("cseq")?.split_whitespace().nth(1)
    }

    pub fn body(&self) -> &'a str {
        self.body
    }
}

/// The URI inside `<...>` of a header value (or the value up to `;`).
pub fn uri_of(value: &str) -> Option<String> {
    if let (Some(a), Some(b)) = (value.find('<'), value.find('>')) {
        if a < b {
            return Some(value[a + 1..b].to_string());
        }
    }
    let v = value.split(';').next()?.trim();
    (!v.is_empty()).then(|| v.to_string())
}

pub struct Dialog<'a> {
    pub call_id: &'a str,
    pub from_tag: &'a str,
    pub branch: &'a str,
    /// The To header of the 2xx (with dialtone's tag).
    pub to: Option<&'a str>,
    pub id: usize,
}

fn from_header(d: &Dialog, local: SocketAddr) -> String {
    format!("<sip:load-{}@{}>;tag={}", d.id, local, d.from_tag)
}

pub fn invite(d: &Dialog, local: SocketAddr, user: &str, target: SocketAddr, sdp: &str) -> String {
    format!(
        "INVITE sip:{user}@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: <sip:{user}@{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:load-{id}@{local}>\r\n\
         User-Agent: dialtone-webrtc-load\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {len}\r\n\r\n{sdp}",
        branch = d.branch,
        from = from_header(d, local),
        call_id = d.call_id,
        id = d.id,
        len = sdp.len(),
    )
}

/// ACK of a non-2xx final response: same branch as the INVITE, To of the
/// response.
pub fn ack_failure(d: &Dialog, local: SocketAddr, resp: &Msg) -> String {
    let to = resp.header("to").unwrap_or("");
    let uri = uri_of(to).unwrap_or_default();
    format!(
        "ACK {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 ACK\r\n\
         Content-Length: 0\r\n\r\n",
        branch = d.branch,
        from = from_header(d, local),
        call_id = d.call_id,
    )
}

/// ACK of the 2xx, or BYE: a request inside the dialog.
pub fn in_dialog(d: &Dialog, local: SocketAddr, method: &str, cseq: u32, target: &str, branch: &str) -> String {
    format!(
        "{method} {target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:load-{id}@{local}>\r\n\
         Content-Length: 0\r\n\r\n",
        from = from_header(d, local),
        to = d.to.unwrap_or(""),
        call_id = d.call_id,
        id = d.id,
    )
}

/// A response without body to a request from dialtone.
pub fn response(req: &Msg, code: u16, reason: &str) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for via in req.all("via") {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    for name in ["from", "to", "call-id", "cseq"] {
        let value = req.header(name).unwrap_or("");
        let label = match name {
            "from" => "From",
            "to" => "To",
            "call-id" => "Call-ID",
            _ => "CSeq",
        };
        out.push_str(&format!("{label}: {value}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// xorshift64*: tags, branches and Call-IDs only need to be unique.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
