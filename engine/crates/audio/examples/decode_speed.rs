//! Prints how long decoding and resampling take for a file given on the
//! command line (or a generated 60 s 44.1 kHz stereo WAV).

use std::time::Instant;

fn synthetic_wav(rate: u32, secs: u32) -> Vec<u8> {
    let frames = rate * secs;
    let mut w = Vec::new();
    let data_len = frames * 4;
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 2] {
        w.extend_from_slice(&v.to_le_bytes());
    }
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 4).to_le_bytes());
    for v in [4u16, 16] {
        w.extend_from_slice(&v.to_le_bytes());
    }
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let s =
            ((i as f64 * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin() * 16000.0) as i16;
        w.extend_from_slice(&s.to_le_bytes());
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

fn main() {
    let (bytes, name) = match std::env::args().nth(1) {
        Some(path) => match std::fs::read(&path) {
            Ok(b) => (b, path),
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        },
        None => (
            synthetic_wav(44100, 60),
            "60 s 44.1 kHz stereo WAV".to_string(),
        ),
    };
    let start = Instant::now();
    match dialtone_audio::decode(&bytes, None) {
        Ok(clip) => println!(
            "{name}: {} samples at 8 kHz in {:?}",
            clip.len(),
            start.elapsed()
        ),
        Err(e) => println!("{name}: {e}"),
    }
}
