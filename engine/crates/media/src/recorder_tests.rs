//! Recorder frames and the writer thread against real files.

use super::*;
use crate::wav::{parse_header, HEADER_LEN};
use std::path::Path;
use std::time::Instant;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(5);

fn unit_rec(stereo: bool, tap: bool) -> RecorderUnit {
    RecorderUnit {
        unit: UnitId(5),
        id: 1,
        stereo,
        tap: tap.then_some(UnitId(1)),
        muted: false,
    }
}

#[test]
fn stereo_puts_inbound_left_and_outbound_right() {
    let inbound = [100i16; FRAME_SAMPLES];
    let outbound = [-7i16; FRAME_SAMPLES];
    let msg = unit_rec(true, true).frame(Some(&inbound), Some(&outbound));
    assert!(msg.stereo);
    for pair in msg.samples.chunks_exact(2) {
        assert_eq!(pair, [100, -7]);
    }
    let only_in = unit_rec(true, true).frame(Some(&inbound), None);
    assert_eq!(&only_in.samples[..4], &[100, 0, 100, 0]);
}

#[test]
fn mono_mixes_with_saturation_and_mute_writes_silence() {
    let a = [30_000i16; FRAME_SAMPLES];
    let b = [10_000i16; FRAME_SAMPLES];
    let msg = unit_rec(false, true).frame(Some(&a), Some(&b));
    assert!(msg.samples[..FRAME_SAMPLES].iter().all(|s| *s == i16::MAX));
    let mut muted = unit_rec(false, true);
    muted.muted = true;
    assert!(muted
        .frame(Some(&a), Some(&b))
        .samples
        .iter()
        .all(|s| *s == 0));
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

fn open(h: &WriterHandle, id: u64, path: &Path, stereo: bool, format: RecordFormat) {
    h.control(ControlMsg::Open {
        id,
        unit: UnitId(id),
        path: path.to_path_buf(),
        stereo,
        format,
        budget: None,
    });
}

fn frame(id: u64, stereo: bool, value: i16) -> FrameMsg {
    FrameMsg {
        id,
        stereo,
        samples: [value; 2 * FRAME_SAMPLES],
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dialtone-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Waits until the file's header accounts for at least `bytes` of audio.
fn wait_header(path: &Path, bytes: u32) -> Vec<u8> {
    let start = Instant::now();
    loop {
        let data = std::fs::read(path).unwrap();
        if parse_header(&data).is_some_and(|i| i.data_len >= bytes) {
            return data;
        }
        assert!(start.elapsed() < WAIT, "header never reached {bytes} bytes");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn header_stays_valid_while_recording_and_a_killed_copy_is_readable() {
    let path = tmp("live.wav");
    let (h, t, mut rx) = writer();
    open(&h, 1, &path, true, RecordFormat::Wav);
    // A frame sent right after the open is not lost to the race.
    h.push(frame(1, true, 7));
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(1)));
    for _ in 0..59 {
        h.push(frame(1, true, 7));
    }
    // 50 frames = 1 s: by then the header was rewritten for what is on disk.
    let copy = wait_header(&path, 50 * 640);
    let info = parse_header(&copy).unwrap();
    assert_eq!((info.channels, info.sample_rate, info.bits), (2, 8000, 16));
    assert_eq!(info.riff_len, info.data_len + 36);
    assert!(
        copy.len() as u64 >= HEADER_LEN + u64::from(info.data_len),
        "everything the header claims is on disk"
    );
    // What a kill -9 right now would leave behind.
    let killed = tmp("killed.wav");
    std::fs::write(&killed, &copy).unwrap();
    if let Ok(out) = std::process::Command::new("soxi")
        .arg("-s")
        .arg(&killed)
        .output()
    {
        let samples: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(samples >= 8000, "sox reads at least the first second");
    }
    h.control(ControlMsg::Close { id: 1 });
    assert_eq!(
        next_event(&mut rx),
        MediaEvent::RecorderStopped {
            unit: UnitId(1),
            duration: Duration::from_millis(1200)
        }
    );
    let done = std::fs::read(&path).unwrap();
    let info = parse_header(&done).unwrap();
    assert_eq!(info.data_len, 60 * 640);
    assert_eq!(done.len() as u64, HEADER_LEN + 60 * 640);
    assert_eq!(&done[44..48], &[7, 0, 7, 0]);
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
}

#[test]
fn close_waits_for_every_frame_sent_before_it() {
    let path = tmp("close.wav");
    let (h, t, mut rx) = writer();
    open(&h, 2, &path, false, RecordFormat::Wav);
    for _ in 0..500 {
        h.push(frame(2, false, 1));
    }
    h.control(ControlMsg::Close { id: 2 });
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(2)));
    let dropped = h.dropped.load(Ordering::Relaxed);
    let MediaEvent::RecorderStopped { duration, .. } = next_event(&mut rx) else {
        panic!("expected RecorderStopped");
    };
    assert_eq!(duration, Duration::from_millis(20) * (500 - dropped as u32));
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
}

#[test]
fn full_disk_and_bad_paths_are_errors_not_panics() {
    let (h, t, mut rx) = writer();
    open(&h, 3, Path::new("/dev/full"), false, RecordFormat::Wav);
    let MediaEvent::RecorderError { unit, error } = next_event(&mut rx) else {
        panic!("expected RecorderError");
    };
    assert_eq!(unit, UnitId(3));
    assert!(error.contains("/dev/full"), "{error}");
    h.push(frame(3, false, 1));
    h.control(ControlMsg::Close { id: 3 });
    open(
        &h,
        4,
        Path::new("/nonexistent-dir/x.wav"),
        false,
        RecordFormat::Wav,
    );
    assert!(matches!(
        next_event(&mut rx),
        MediaEvent::RecorderError {
            unit: UnitId(4),
            ..
        }
    ));
    #[cfg(not(feature = "mp3"))]
    {
        open(&h, 5, &tmp("x.mp3"), false, RecordFormat::Mp3);
        assert_eq!(
            next_event(&mut rx),
            MediaEvent::RecorderError {
                unit: UnitId(5),
                error: "mp3 support not built".into()
            }
        );
    }
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
    assert!(rx.try_recv().is_err(), "no Stopped after an error");
}

#[test]
fn a_write_failure_mid_recording_stops_that_recording_only() {
    // A writer over a device that accepts the header and then fails.
    struct FailAfter(usize);
    impl std::io::Write for FailAfter {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0 < b.len() {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.0 -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl std::io::Seek for FailAfter {
        fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
            Ok(0)
        }
    }
    let mut w = WavWriter::new(FailAfter(44 + 320), 1).unwrap();
    w.write_samples(&[0; 160]).unwrap();
    let err = w.write_samples(&[0; 160]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(28));
}

#[test]
fn shutdown_finishes_open_recordings() {
    let path = tmp("shutdown.wav");
    let (h, t, mut rx) = writer();
    open(&h, 6, &path, false, RecordFormat::Wav);
    h.push(frame(6, false, 3));
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(6)));
    assert!(matches!(
        next_event(&mut rx),
        MediaEvent::RecorderStopped {
            unit: UnitId(6),
            ..
        }
    ));
    let info = parse_header(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(info.data_len, 320);
}

fn budget(used: u64, limit: Option<u64>) -> RecordingBudget {
    RecordingBudget::new(
        Arc::new(AtomicU64::new(used)),
        limit,
        "recording quota exceeded",
    )
}

fn open_with(h: &WriterHandle, id: u64, path: &Path, budget: RecordingBudget) {
    h.control(ControlMsg::Open {
        id,
        unit: UnitId(id),
        path: path.to_path_buf(),
        stereo: false,
        format: RecordFormat::Wav,
        budget: Some(budget),
    });
}

#[test]
fn a_budget_is_charged_the_finished_file_exactly() {
    let path = tmp("charged.wav");
    let (h, t, mut rx) = writer();
    let b = budget(1000, None);
    open_with(&h, 7, &path, b.clone());
    for _ in 0..120 {
        h.push(frame(7, false, 5));
    }
    h.control(ControlMsg::Close { id: 7 });
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(7)));
    assert!(matches!(
        next_event(&mut rx),
        MediaEvent::RecorderStopped { .. }
    ));
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len, HEADER_LEN + 120 * 320);
    assert_eq!(b.used(), 1000 + len, "what was there plus this file");
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
}

#[test]
fn a_spent_budget_stops_the_recording_with_a_playable_file() {
    let path = tmp("over.wav");
    let (h, t, mut rx) = writer();
    // Mono WAV grows 16,000 bytes a second: the second refresh passes 20,000.
    let b = budget(0, Some(20_000));
    open_with(&h, 8, &path, b.clone());
    assert_eq!(next_event(&mut rx), MediaEvent::RecorderStarted(UnitId(8)));
    for _ in 0..200 {
        h.push(frame(8, false, 9));
    }
    let MediaEvent::RecorderError { unit, error } = next_event(&mut rx) else {
        panic!("expected RecorderError");
    };
    assert_eq!(unit, UnitId(8));
    assert_eq!(error, "recording quota exceeded");
    let done = std::fs::read(&path).unwrap();
    let info = parse_header(&done).unwrap();
    assert_eq!(info.data_len, 100 * 320, "finished at the second refresh");
    assert_eq!(done.len() as u64, HEADER_LEN + u64::from(info.data_len));
    assert_eq!(b.used(), done.len() as u64);
    assert!(b.is_exhausted());
    // Frames after the stop and the worker's close change nothing.
    h.push(frame(8, false, 9));
    h.control(ControlMsg::Close { id: 8 });
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
    assert!(rx.try_recv().is_err(), "one event for the stop");
    assert_eq!(std::fs::read(&path).unwrap(), done);
}

#[test]
fn a_recording_opened_with_a_spent_budget_makes_no_file() {
    let path = tmp("refused.wav");
    let _ = std::fs::remove_file(&path);
    let (h, t, mut rx) = writer();
    open_with(&h, 9, &path, budget(500, Some(500)));
    h.push(frame(9, false, 1));
    assert_eq!(
        next_event(&mut rx),
        MediaEvent::RecorderError {
            unit: UnitId(9),
            error: "recording quota exceeded".to_owned()
        }
    );
    h.control(ControlMsg::Close { id: 9 });
    h.control(ControlMsg::Shutdown);
    t.join().unwrap();
    assert!(!path.exists());
}
