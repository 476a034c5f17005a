//! Inputs the audio_decode fuzz target (fuzz/, see fuzz/README.md) found,
//! replayed through the same entry point, `decode`, so `cargo test` keeps them
//! fixed without cargo-fuzz. Each is also kept under fuzz/regressions/audio_decode/
//! (its first byte picks the hint, as in the fuzz target).

use dialtone_audio::{decode, AudioError};

const HINTS: [Option<&str>; 5] = [None, Some("wav"), Some("mp3"), Some("ogg"), Some("flac")];

fn decode_input(input: &[u8]) -> Result<dialtone_audio::Clip, AudioError> {
    let (hint, bytes) = input.split_first().expect("an input has a hint byte");
    decode(bytes, HINTS[usize::from(*hint) % HINTS.len()])
}

/// 17 bytes: `fLaC` and a PICTURE block whose media type claims 1.6 GB.
/// symphonia allocated the claimed length before finding the block too short.
#[test]
fn audio_decode_flac_picture_length_is_refused_before_allocating() {
    let input =
        include_bytes!("../../../../fuzz/regressions/audio_decode/flac-picture-length-4gib");
    match decode_input(input) {
        Err(AudioError::Decode(msg)) => assert!(msg.contains("overruns"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
