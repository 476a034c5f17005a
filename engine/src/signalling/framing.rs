//! Cutting one TCP connection's bytes into SIP messages in linear time: the
//! head of a message is searched only in bytes not searched yet, and once
//! the head is complete the message's length is known, so a message that
//! arrives a byte at a time costs no more than one that arrives at once.

use dialtone_sip::{frame_length, Frame, ParseError};

/// Bytes below which the whole buffer is simply framed again (cheap), so
/// garbage is refused as soon as its first line shows it.
const SMALL: usize = 4096;

#[derive(Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Bytes at the start of `buf` known to hold no end of head.
    searched: usize,
    /// The length of the message at the start of `buf`, once its head is in.
    total: Option<usize>,
}

impl StreamFramer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held and not yet cut into messages.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, or keep-alive line breaks; `None` when more
    /// bytes are needed; an error when the stream cannot be SIP.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, ParseError> {
        if let Some(total) = self.total {
            return Ok((self.buf.len() >= total).then(|| self.take(total)));
        }
        let starts_with_break = self.buf.first().is_some_and(|b| matches!(b, b'\r' | b'\n'));
        if !starts_with_break && self.buf.len() > SMALL && !self.head_in_new_bytes() {
            return Ok(None);
        }
        match frame_length(&self.buf)? {
            Frame::Breaks(n) => Ok(Some(self.take(n))),
            Frame::Message(total) if self.buf.len() >= total => Ok(Some(self.take(total))),
            Frame::Message(total) => {
                self.total = Some(total);
                Ok(None)
            }
            Frame::Head => {
                self.searched = self.buf.len();
                Ok(None)
            }
        }
    }

    /// Whether an empty line ends the head in the bytes added since the
    /// last search (looking back 3 bytes for a CRLFCRLF split across reads).
    fn head_in_new_bytes(&mut self) -> bool {
        let from = self.searched.saturating_sub(3);
        let window = &self.buf[from..];
        // Exactly what ends a head (a line break, then CRLF or LF), so the
        // whole buffer is framed once per message, however it is chunked.
        let found =
            window.windows(3).any(|w| w == b"\n\r\n") || window.windows(2).any(|w| w == b"\n\n");
        if !found {
            self.searched = self.buf.len();
        }
        found
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len());
        self.total = None;
        self.searched = 0;
        self.buf.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Vec<u8> {
        format!(
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn messages_come_out_whole_whatever_the_chunking() {
        let one = message("hello");
        let two = message(&"x".repeat(10_000));
        let stream: Vec<u8> = [b"\r\n\r\n".as_slice(), &one, &two, &one].concat();
        for chunk in [1, 2, 3, 7, 100, 5000, stream.len()] {
            let mut framer = StreamFramer::default();
            let mut got = Vec::new();
            for part in stream.chunks(chunk) {
                framer.push(part);
                while let Some(m) = framer.next_message().expect("frames") {
                    got.push(m);
                }
            }
            // Keep-alive breaks come out as they arrive, the messages whole.
            let breaks: usize = got
                .iter()
                .filter(|m| m.iter().all(|b| matches!(b, b'\r' | b'\n')))
                .map(Vec::len)
                .sum();
            let messages: Vec<&Vec<u8>> = got
                .iter()
                .filter(|m| !m.iter().all(|b| matches!(b, b'\r' | b'\n')))
                .collect();
            assert_eq!(breaks, 4, "chunk {chunk}");
            assert_eq!(messages, [&one, &two, &one], "chunk {chunk}");
            assert_eq!(framer.buffered(), 0);
        }
    }

    #[test]
    fn garbage_is_refused_early() {
        let mut framer = StreamFramer::default();
        framer.push(b"\x00\x01\x02 not sip\r\n");
        assert!(framer.next_message().is_err());
    }

    #[test]
    fn a_large_message_a_byte_at_a_time_is_searched_once() {
        // A 60 KiB message one byte per read: past the small prefix, a read
        // only looks at its own bytes until the head is complete.
        let big = message(&"y".repeat(60_000));
        let mut framer = StreamFramer::default();
        let mut got = None;
        for b in &big {
            framer.push(std::slice::from_ref(b));
            if let Some(m) = framer.next_message().expect("frames") {
                got = Some(m);
            }
            if framer.total.is_none() && framer.buffered() > SMALL {
                assert!(framer.searched >= framer.buffered() - 1);
            }
        }
        assert_eq!(got.as_deref(), Some(big.as_slice()));
    }
}
