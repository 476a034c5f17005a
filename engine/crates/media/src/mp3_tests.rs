//! MP3 recordings decoded back: pitch, length, channels, and what a killed
//! process leaves on disk.

use super::*;
use crate::recorder::{spawn_writer, ControlMsg, FrameMsg, RecordFormat, WriterHandle};
use crate::{MediaEvent, UnitId};
use std::f64::consts::TAU;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(5);
const RATE: f64 = 8000.0;

fn tone(freq: f64, n: usize, from: usize) -> Vec<i16> {
    (from..from + n)
        .map(|i| (8000.0 * (TAU * freq * i as f64 / RATE).sin()) as i16)
        .collect()
}

/// Decoded audio: per-channel samples and the stream's rate.
struct Decoded {
    rate: u32,
    channels: Vec<Vec<f32>>,
}

impl Decoded {
    fn seconds(&self) -> f64 {
        self.channels[0].len() as f64 / f64::from(self.rate)
    }
}

/// Decodes with gapless trimming on, as a player that reads the Info tag
/// does.
fn decode(bytes: Vec<u8>) -> Decoded {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &opts, &MetadataOptions::default())
        .unwrap();
    let mut format = probed.format;
    let track = format.default_track().unwrap().clone();
    let mut dec = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .unwrap();
    let mut rate = 0;
    let mut channels: Vec<Vec<f32>> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(DecodeError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("demux: {e}"),
        };
        let buf = dec.decode(&packet).unwrap();
        let spec = *buf.spec();
        rate = spec.rate;
        let n = spec.channels.count();
        channels.resize(n, Vec::new());
        let mut sb = SampleBuffer::<f32>::new(buf.capacity() as u64, spec);
        sb.copy_interleaved_ref(buf);
        for frame in sb.samples().chunks_exact(n) {
            for (ch, s) in channels.iter_mut().zip(frame) {
                ch.push(*s);
            }
        }
    }
    Decoded { rate, channels }
}

/// The strongest frequency (20 Hz steps) in the middle of `x`, by Goertzel.
fn dominant(x: &[f32], rate: u32) -> f64 {
    let mid = &x[x.len() / 4..x.len() * 3 / 4];
    let power = |f: f64| {
        let k = 2.0 * (TAU * f / f64::from(rate)).cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for v in mid {
            let s = f64::from(*v) + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - k * s1 * s2
    };
    (5..195)
        .map(|i| f64::from(i) * 20.0)
        .max_by(|a, b| power(*a).total_cmp(&power(*b)))
        .unwrap()
}

fn encode(channels: u16, samples: &[i16]) -> Vec<u8> {
    let mut w = Mp3Writer::new(Cursor::new(Vec::new()), channels).unwrap();
    for frame in samples.chunks(FRAME_SAMPLES * usize::from(channels)) {
        w.write_samples(frame).unwrap();
    }
    assert_eq!(w.frames() as usize, samples.len() / usize::from(channels));
    w.finish().unwrap().into_inner()
}

#[test]
fn mono_tone_round_trips_with_its_pitch_and_length() {
    let bytes = encode(1, &tone(1000.0, 24_000, 0));
    // 32 kbps: about 4 KB per second.
    assert!((11_000..14_000).contains(&bytes.len()), "{}", bytes.len());
    let d = decode(bytes);
    assert_eq!((d.rate, d.channels.len()), (8000, 1));
    assert!((d.seconds() - 3.0).abs() <= 0.1, "{} s", d.seconds());
    assert_eq!(dominant(&d.channels[0], d.rate), 1000.0);
}

#[test]
fn stereo_keeps_left_and_right_apart() {
    let (left, right) = (tone(440.0, 16_000, 0), tone(1000.0, 16_000, 0));
    let interleaved: Vec<i16> = left
        .iter()
        .zip(&right)
        .flat_map(|(l, r)| [*l, *r])
        .collect();
    let d = decode(encode(2, &interleaved));
    assert_eq!((d.rate, d.channels.len()), (8000, 2));
    assert!((d.seconds() - 2.0).abs() <= 0.1, "{} s", d.seconds());
    assert_eq!(dominant(&d.channels[0], d.rate), 440.0);
    assert_eq!(dominant(&d.channels[1], d.rate), 1000.0);
}

#[test]
fn an_odd_sample_in_stereo_input_is_ignored_not_a_panic() {
    let mut w = Mp3Writer::new(Cursor::new(Vec::new()), 2).unwrap();
    w.write_samples(&[1, 2, 3]).unwrap();
    assert_eq!(w.frames(), 1);
    w.write_samples(&[]).unwrap();
    assert!(!w.finish().unwrap().into_inner().is_empty());
}

fn writer() -> (
    WriterHandle,
    std::thread::JoinHandle<()>,
    UnboundedReceiver<MediaEvent>,
) {
    let (tx, rx) = unbounded_channel();
    let (h, t) = spawn_writer(tx).unwrap();
    (h, t, rx)
}

fn next_event(rx: &mut UnboundedReceiver<MediaEvent>) -> MediaEvent {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if let Ok(ev) = rx.try_recv() {
            return ev;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("no recorder event within {WAIT:?}");
}

fn open(h: &WriterHandle, id: u64, path: &Path, stereo: bool) {
    h.control(ControlMsg::Open {
        id,
        unit: UnitId(id),
        path: path.to_path_buf(),
        stereo,
        format: RecordFormat::Mp3,
        budget: None,
    });
}

fn tone_frame(id: u64, index: usize) -> FrameMsg {
    let mut samples = [0; 2 * FRAME_SAMPLES];
    let t = tone(1000.0, FRAME_SAMPLES, index * FRAME_SAMPLES);
    samples[..FRAME_SAMPLES].copy_from_slice(&t);
    FrameMsg {
        id,
        stereo: false,
        samples,
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dialtone-mp3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Samples sox decodes from `path`, when sox with MP3 support is installed.
fn sox_samples(path: &Path) -> Option<usize> {
    let out = std::process::Command::new("sox")
        .arg(path)
        .args(["-t", "s16", "-"])
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout.len() / 2)
}

#[test]
fn the_writer_thread_records_mp3_and_a_killed_copy_plays() {
    let path = tmp("live.mp3");
    let (h, t, mut rx) = writer();
    open(&h, 1, &path, false);
    for i in 0..100 {
        h.push(tone_frame(1, i));
    }
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(1)));
    // 100 frames = 2 s, flushed to disk at each second: what a kill -9
    // leaves once the second flush is done (no Info tag yet).
    let start = Instant::now();
    let copy = loop {
        let data = std::fs::read(&path).unwrap();
        if data.len() >= 7_000 {
            break data;
        }
        assert!(start.elapsed() < WAIT, "only {} bytes on disk", data.len());
        std::thread::sleep(Duration::from_millis(2));
    };
    let killed_path = tmp("killed.mp3");
    std::fs::write(&killed_path, &copy).unwrap();
    if let Some(samples) = sox_samples(&killed_path) {
        assert!(samples >= 12_000, "sox reads {samples} samples");
    }
    let killed = decode(copy);
    assert!(killed.seconds() >= 1.5, "{} s", killed.seconds());
    assert_eq!(dominant(&killed.channels[0], killed.rate), 1000.0);
    h.control(ControlMsg::Close { id: 1 });
    assert_eq!(
        next_event(&mut rx),
        MediaEvent::RecorderStopped {
            unit: UnitId(1),
            duration: Duration::from_secs(2)
        }
    );
    if let Some(samples) = sox_samples(&path) {
        // sox does not trim the encoder delay and padding the Info tag names.
        assert!(
            (16_000..=18_000).contains(&samples),
            "sox reads {samples} samples"
        );
    }
    let done = decode(std::fs::read(&path).unwrap());
    assert!((done.seconds() - 2.0).abs() <= 0.1, "{} s", done.seconds());
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
}

#[test]
fn full_disk_and_bad_paths_are_recorder_errors() {
    let (h, t, mut rx) = writer();
    open(&h, 2, Path::new("/nonexistent-dir/x.mp3"), false);
    let MediaEvent::RecorderError { unit, error } = next_event(&mut rx) else {
        panic!("expected RecorderError");
    };
    assert_eq!(unit, UnitId(2));
    assert!(error.contains("cannot open"), "{error}");
    // /dev/full opens; the first encoded frame written fails.
    open(&h, 3, Path::new("/dev/full"), false);
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(3)));
    for i in 0..50 {
        h.push(tone_frame(3, i));
    }
    let MediaEvent::RecorderError { unit, error } = next_event(&mut rx) else {
        panic!("expected RecorderError");
    };
    assert_eq!(unit, UnitId(3));
    assert!(error.contains("write failed"), "{error}");
    h.control(ControlMsg::Close { id: 3 });
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
    assert!(rx.try_recv().is_err(), "no Stopped after an error");
}

/// Encoder cost; run with `--release -- --ignored --nocapture`.
#[test]
#[ignore]
fn encode_cost_per_second_of_audio() {
    for channels in [1u16, 2] {
        let secs = 60;
        let samples: Vec<i16> = tone(1000.0, 8000 * secs * usize::from(channels), 0);
        let start = Instant::now();
        let bytes = encode(channels, &samples);
        let per_sec = start.elapsed() / secs as u32;
        println!(
            "mp3 {channels} ch: {per_sec:?} per second of audio ({:.3} % of a core), {} B/s",
            per_sec.as_secs_f64() * 100.0,
            bytes.len() / secs
        );
    }
    // Resident memory of live encoders, each past its first second.
    let rss_kib = || {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4
    };
    let second = tone(1000.0, 8000, 0);
    let before = rss_kib();
    let live: Vec<_> = (0..200)
        .map(|_| {
            let mut w = Mp3Writer::new(Cursor::new(Vec::with_capacity(8192)), 1).unwrap();
            w.write_samples(&second).unwrap();
            w
        })
        .collect();
    println!(
        "mp3 mono encoder: ~{} KiB resident each",
        (rss_kib() - before) / live.len() as u64
    );
}
