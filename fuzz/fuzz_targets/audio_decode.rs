//! The audio crate's decoder on in-memory bytes, once per container hint
//! (the first byte picks none, wav, mp3, ogg or flac; the content decides in
//! the end), plus the media crate's WAV header reader.
#![no_main]

use dialtone_audio::decode;
use dialtone_media::wav::parse_header;
use libfuzzer_sys::fuzz_target;

const HINTS: [Option<&str>; 5] = [None, Some("wav"), Some("mp3"), Some("ogg"), Some("flac")];

fuzz_target!(|data: &[u8]| {
    let Some((&hint, bytes)) = data.split_first() else {
        return;
    };
    let _ = parse_header(bytes);
    if let Ok(clip) = decode(bytes, HINTS[usize::from(hint) % HINTS.len()]) {
        assert!(!clip.is_empty());
    }
});
