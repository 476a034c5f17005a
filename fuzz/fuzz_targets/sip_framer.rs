//! `frame_stream` over arbitrary chunkings of one TCP byte stream.
//!
//! Input: one byte `k`, then `k % 16` chunk sizes (each byte + 1, used in turn),
//! then the stream. The stream is framed twice: whole, and as a reader would
//! see it arriving chunk by chunk. Both must cut the same messages and end the
//! same way (an error, or the same bytes left waiting); a run of keep-alive
//! line breaks may arrive split, so consecutive break units are merged. A
//! message cut from the stream must frame to itself when alone.
#![no_main]

use dialtone_sip::{frame_length, frame_stream, Frame};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq, Eq)]
enum Unit {
    Breaks(usize),
    Message(Vec<u8>),
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Error,
    Waiting(Vec<u8>),
}

fn push(units: &mut Vec<Unit>, unit: &[u8]) {
    if unit.iter().all(|b| matches!(b, b'\r' | b'\n')) {
        if let Some(Unit::Breaks(n)) = units.last_mut() {
            *n += unit.len();
            return;
        }
        units.push(Unit::Breaks(unit.len()));
    } else {
        units.push(Unit::Message(unit.to_vec()));
    }
}

/// Frames what `buf` holds; returns false once the stream is found broken.
fn drain(buf: &mut Vec<u8>, units: &mut Vec<Unit>) -> bool {
    loop {
        let verdict = frame_stream(buf);
        match (verdict.clone(), frame_length(buf)) {
            (Ok(Some(n)), Ok(Frame::Breaks(b))) => assert_eq!(n, b),
            (Ok(Some(n)), Ok(Frame::Message(total))) => assert_eq!(n, total),
            (Ok(None), Ok(Frame::Message(total))) => assert!(buf.len() < total),
            (Ok(None), Ok(Frame::Head)) | (Err(_), Err(_)) => {}
            (a, b) => panic!("frame_stream {a:?} disagrees with frame_length {b:?}"),
        }
        match verdict {
            Ok(Some(n)) => {
                assert!(
                    n > 0 && n <= buf.len(),
                    "unit of {n} bytes from {}",
                    buf.len()
                );
                push(units, &buf[..n]);
                buf.drain(..n);
            }
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(k % 16).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let sizes: Vec<usize> = if sizes.is_empty() {
        vec![1]
    } else {
        sizes.iter().map(|&s| usize::from(s) + 1).collect()
    };

    let mut whole_units = Vec::new();
    let mut whole = stream.to_vec();
    let whole_end = if drain(&mut whole, &mut whole_units) {
        End::Waiting(whole)
    } else {
        End::Error
    };

    let mut chunked_units = Vec::new();
    let mut buf = Vec::new();
    let mut at = 0;
    let mut chunked_end = None;
    for &size in sizes.iter().cycle() {
        if at >= stream.len() {
            break;
        }
        let end = (at + size).min(stream.len());
        buf.extend_from_slice(&stream[at..end]);
        at = end;
        if !drain(&mut buf, &mut chunked_units) {
            chunked_end = Some(End::Error);
            break;
        }
    }
    let chunked_end = chunked_end.unwrap_or(End::Waiting(buf));

    assert_eq!(chunked_units, whole_units, "chunking changed the messages");
    assert_eq!(
        chunked_end, whole_end,
        "chunking changed how the stream ends"
    );
    for unit in &whole_units {
        if let Unit::Message(m) = unit {
            assert_eq!(
                frame_stream(m),
                Ok(Some(m.len())),
                "a cut message does not frame alone"
            );
        }
    }
});
