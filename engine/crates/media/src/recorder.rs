//! Recording: the recorder unit a media worker feeds, and the one writer
//! thread per engine that owns every recording file.
//!
//! Workers never touch the disk. Each tick a recorder hands its 20 ms frame to
//! the writer over a bounded channel of fixed-size messages (no allocation per
//! frame); when the writer falls behind, frames are dropped and counted rather
//! than stalling the media clock. Opening and closing go over a separate
//! unbounded channel so they are never lost. A close waits until every frame
//! sent before it has been written: the worker sends its last frame before the
//! close, so draining the frame channel once the close is seen is enough.
//!
//! A recording with a [`RecordingBudget`] is charged its file's growth at
//! each refresh (once a second) and when it is finished; one that finds the
//! budget spent is finished there and reported as a `RecorderError`.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Select, Sender, TryRecvError};
use tokio::sync::mpsc::UnboundedSender;

use crate::codec::{PcmFrame, FRAME_SAMPLES};
use crate::recording_budget::RecordingBudget;
use crate::wav::{WavWriter, SAMPLE_RATE};
use crate::{MediaEvent, UnitId};

/// Frames queued for the writer before workers start dropping them: about
/// 160 ms of 500 stereo recordings (each slot holds one stereo frame, ~650 B).
pub const FRAME_QUEUE: usize = 4096;
/// Audio between refreshes (WAV header rewrite, MP3 flush to disk), in
/// samples per channel.
const REFRESH_SAMPLES: u64 = SAMPLE_RATE as u64;
const FILE_BUFFER: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordFormat {
    #[default]
    Wav,
    Mp3,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderSpec {
    pub path: PathBuf,
    pub stereo: bool,
    /// Record this call's two directions instead of the recorder's input.
    pub tap: Option<UnitId>,
    pub format: RecordFormat,
    /// Charged with the file's bytes; `None`: not counted.
    pub budget: Option<RecordingBudget>,
}

/// One 20 ms frame for one recording: mono uses the first 160 samples,
/// stereo all 320 interleaved (left, right).
pub struct FrameMsg {
    pub id: u64,
    pub stereo: bool,
    pub samples: [i16; 2 * FRAME_SAMPLES],
}

pub enum ControlMsg {
    Open {
        id: u64,
        unit: UnitId,
        path: PathBuf,
        stereo: bool,
        format: RecordFormat,
        budget: Option<RecordingBudget>,
    },
    Close {
        id: u64,
    },
    Shutdown,
}

/// The ends of the writer's channels workers and the engine hold.
#[derive(Clone)]
pub struct WriterHandle {
    pub frames: Sender<FrameMsg>,
    pub control: Sender<ControlMsg>,
    pub dropped: Arc<AtomicU64>,
}

impl WriterHandle {
    /// Never blocks: a full queue drops the frame.
    pub fn push(&self, msg: FrameMsg) {
        if self.frames.try_send(msg).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn control(&self, msg: ControlMsg) {
        if self.control.send(msg).is_err() {
            tracing::debug!("recording writer is gone");
        }
    }
}

/// The worker-side state of a recorder unit.
pub struct RecorderUnit {
    pub unit: UnitId,
    pub id: u64,
    pub stereo: bool,
    pub tap: Option<UnitId>,
    pub muted: bool,
}

impl RecorderUnit {
    /// Builds this tick's message from `left`/`right` (`None`: silence).
    /// Mono mixes both with saturation; a graph-input recorder passes its
    /// input as `left` only.
    pub fn frame(&self, left: Option<&PcmFrame>, right: Option<&PcmFrame>) -> FrameMsg {
        let mut msg = FrameMsg {
            id: self.id,
            stereo: self.stereo,
            samples: [0; 2 * FRAME_SAMPLES],
        };
        if self.muted {
            return msg;
        }
        const SILENT: PcmFrame = [0; FRAME_SAMPLES];
        let l = left.unwrap_or(&SILENT);
        let r = right.unwrap_or(&SILENT);
        if self.stereo {
            for ((pair, a), b) in msg.samples.chunks_exact_mut(2).zip(l).zip(r) {
                pair.copy_from_slice(&[*a, *b]);
            }
        } else {
            for ((out, a), b) in msg.samples.iter_mut().zip(l).zip(r) {
                *out = a.saturating_add(*b);
            }
        }
        msg
    }
}

/// The file a recording writes, in its format.
enum Sink {
    Wav(Box<WavWriter<BufWriter<File>>>),
    #[cfg(feature = "mp3")]
    Mp3(crate::mp3::Mp3Writer<BufWriter<File>>),
}

impl Sink {
    fn create(path: &Path, stereo: bool, format: RecordFormat) -> Result<Sink, String> {
        let channels = if stereo { 2 } else { 1 };
        let file = || {
            File::create(path)
                .map(|f| BufWriter::with_capacity(FILE_BUFFER, f))
                .map_err(|e| format!("cannot open {}: {e}", path.display()))
        };
        match format {
            RecordFormat::Wav => WavWriter::new(file()?, channels)
                .map(|w| Sink::Wav(Box::new(w)))
                .map_err(|e| format!("cannot open {}: {e}", path.display())),
            #[cfg(feature = "mp3")]
            RecordFormat::Mp3 => crate::mp3::Mp3Writer::new(file()?, channels)
                .map(Sink::Mp3)
                .map_err(|e| format!("cannot open {}: {e}", path.display())),
            #[cfg(not(feature = "mp3"))]
            RecordFormat::Mp3 => Err("mp3 support not built".into()),
        }
    }

    fn channels(&self) -> u16 {
        match self {
            Sink::Wav(w) => w.channels(),
            #[cfg(feature = "mp3")]
            Sink::Mp3(m) => m.channels(),
        }
    }

    fn frames(&self) -> u64 {
        match self {
            Sink::Wav(w) => w.frames(),
            #[cfg(feature = "mp3")]
            Sink::Mp3(m) => m.frames(),
        }
    }

    fn write_samples(&mut self, samples: &[i16]) -> Result<(), String> {
        match self {
            Sink::Wav(w) => w.write_samples(samples).map_err(|e| e.to_string()),
            #[cfg(feature = "mp3")]
            Sink::Mp3(m) => m.write_samples(samples).map_err(|e| e.to_string()),
        }
    }

    /// Makes what is written so far readable on disk.
    fn refresh(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Wav(w) => w.refresh_header(),
            #[cfg(feature = "mp3")]
            Sink::Mp3(m) => m.flush(),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self {
            Sink::Wav(w) => w.finish().map(drop).map_err(|e| e.to_string()),
            #[cfg(feature = "mp3")]
            Sink::Mp3(m) => m.finish().map(drop).map_err(|e| e.to_string()),
        }
    }
}

struct Recording {
    unit: UnitId,
    sink: Sink,
    since_refresh: u64,
    /// Set after a write error: the file is left as it is and frames ignored.
    failed: bool,
    meter: Option<Meter>,
}

/// Charges a recording's file growth to its budget.
struct Meter {
    path: PathBuf,
    budget: RecordingBudget,
    /// File bytes charged so far.
    charged: u64,
}

impl Meter {
    /// Charges what the file grew by since the last time (its size on disk:
    /// one `stat`, once a second); false once the budget is spent.
    fn charge(&mut self) -> bool {
        let size = std::fs::metadata(&self.path)
            .map(|m| m.len())
            .unwrap_or(self.charged);
        let grown = size.saturating_sub(self.charged);
        self.charged = self.charged.max(size);
        self.budget.charge(grown)
    }
}

pub struct Writer {
    frames: Receiver<FrameMsg>,
    control: Receiver<ControlMsg>,
    events: UnboundedSender<MediaEvent>,
    open: HashMap<u64, Recording>,
    closing: Vec<u64>,
}

/// Starts the writer thread; it runs until `ControlMsg::Shutdown`.
pub fn spawn_writer(
    events: UnboundedSender<MediaEvent>,
) -> std::io::Result<(WriterHandle, std::thread::JoinHandle<()>)> {
    let (ftx, frx) = crossbeam_channel::bounded(FRAME_QUEUE);
    let (ctx, crx) = crossbeam_channel::unbounded();
    let writer = Writer {
        frames: frx,
        control: crx,
        events,
        open: HashMap::new(),
        closing: Vec::new(),
    };
    let thread = std::thread::Builder::new()
        .name("dialtone-recorder".into())
        .spawn(move || writer.run())?;
    let handle = WriterHandle {
        frames: ftx,
        control: ctx,
        dropped: Arc::new(AtomicU64::new(0)),
    };
    Ok((handle, thread))
}

impl Writer {
    fn run(mut self) {
        let (control, frames) = (self.control.clone(), self.frames.clone());
        let mut sel = Select::new();
        let c = sel.recv(&control);
        let f = sel.recv(&frames);
        loop {
            let op = sel.select();
            let alive = match op.index() {
                i if i == c => match op.recv(&control) {
                    Ok(ControlMsg::Shutdown) | Err(_) => false,
                    Ok(msg) => {
                        self.on_control(msg);
                        true
                    }
                },
                i if i == f => match op.recv(&frames) {
                    Ok(frame) => self.on_frame_or_open(&frame),
                    Err(_) => false,
                },
                _ => true,
            };
            if !alive || (!self.closing.is_empty() && !self.settle()) {
                break;
            }
        }
        while let Ok(frame) = self.frames.try_recv() {
            self.on_frame(&frame);
        }
        let ids: Vec<u64> = self.open.keys().copied().collect();
        self.closing.extend(ids);
        self.close_pending();
    }

    /// A frame whose recording is not open yet has its open queued behind
    /// it on the control channel. False on shutdown.
    fn on_frame_or_open(&mut self, frame: &FrameMsg) -> bool {
        let alive = self.open.contains_key(&frame.id) || self.drain_control();
        self.on_frame(frame);
        alive
    }

    /// Writes everything queued, then finishes the recordings asked to
    /// close: every frame sent before a close is then on disk. False on
    /// shutdown.
    fn settle(&mut self) -> bool {
        loop {
            if !self.drain_control() {
                return false;
            }
            let mut any = false;
            while let Ok(frame) = self.frames.try_recv() {
                any = true;
                if !self.on_frame_or_open(&frame) {
                    return false;
                }
            }
            if !any {
                break;
            }
        }
        self.close_pending();
        true
    }

    /// Applies queued control messages; false on shutdown.
    fn drain_control(&mut self) -> bool {
        loop {
            match self.control.try_recv() {
                Ok(ControlMsg::Shutdown) | Err(TryRecvError::Disconnected) => return false,
                Ok(msg) => self.on_control(msg),
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    fn on_control(&mut self, msg: ControlMsg) {
        match msg {
            ControlMsg::Open {
                id,
                unit,
                path,
                stereo,
                format,
                budget,
            } => self.open(id, unit, path, stereo, format, budget),
            ControlMsg::Close { id } => self.closing.push(id),
            ControlMsg::Shutdown => {}
        }
    }

    fn close_pending(&mut self) {
        let ids = std::mem::take(&mut self.closing);
        for id in ids {
            self.close(id);
        }
    }

    fn emit(&self, ev: MediaEvent) {
        let _ = self.events.send(ev);
    }

    fn open(
        &mut self,
        id: u64,
        unit: UnitId,
        path: PathBuf,
        stereo: bool,
        format: RecordFormat,
        budget: Option<RecordingBudget>,
    ) {
        if let Some(budget) = budget.as_ref().filter(|b| b.is_exhausted()) {
            // Asked for just as the budget ran out: no file at all.
            let error = budget.message().to_owned();
            tracing::info!(unit = unit.0, %error, "recording refused");
            self.emit(MediaEvent::RecorderError { unit, error });
            return;
        }
        match Sink::create(&path, stereo, format) {
            Ok(sink) => {
                tracing::debug!(unit = unit.0, path = %path.display(), "recording started");
                let meter = budget.map(|budget| Meter {
                    path,
                    budget,
                    charged: 0,
                });
                self.open.insert(
                    id,
                    Recording {
                        unit,
                        sink,
                        since_refresh: 0,
                        failed: false,
                        meter,
                    },
                );
                self.emit(MediaEvent::RecorderStarted(unit));
            }
            Err(error) => {
                tracing::warn!(unit = unit.0, path = %path.display(), %error, "cannot open recording");
                self.emit(MediaEvent::RecorderError { unit, error });
            }
        }
    }

    fn on_frame(&mut self, frame: &FrameMsg) {
        let Some(rec) = self.open.get_mut(&frame.id) else {
            return;
        };
        if rec.failed {
            return;
        }
        let n = if frame.stereo && rec.sink.channels() == 2 {
            2 * FRAME_SAMPLES
        } else {
            FRAME_SAMPLES
        };
        let mut result = rec
            .sink
            .write_samples(frame.samples.get(..n).unwrap_or(&[]));
        rec.since_refresh += FRAME_SAMPLES as u64;
        let mut refreshed = false;
        if result.is_ok() && rec.since_refresh >= REFRESH_SAMPLES {
            rec.since_refresh = 0;
            result = rec.sink.refresh().map_err(|e| e.to_string());
            refreshed = result.is_ok();
        }
        if let Err(e) = result {
            rec.failed = true;
            let unit = rec.unit;
            tracing::warn!(unit = unit.0, error = %e, "recording write failed; recording stopped");
            self.emit(MediaEvent::RecorderError {
                unit,
                error: format!("write failed: {e}"),
            });
            return;
        }
        let within = !refreshed || rec.meter.as_mut().is_none_or(Meter::charge);
        if !within {
            self.stop_over_budget(frame.id);
        }
    }

    /// The budget is spent: the file is finished (playable, charged) and
    /// the recording reported failed with the budget's message.
    fn stop_over_budget(&mut self, id: u64) {
        let Some(rec) = self.open.remove(&id) else {
            return;
        };
        let Recording {
            unit, sink, meter, ..
        } = rec;
        let finished = sink.finish();
        let Some(mut meter) = meter else { return };
        meter.charge();
        let mut error = meter.budget.message().to_owned();
        if let Err(e) = finished {
            error = format!("{error}; cannot finish recording: {e}");
        }
        tracing::info!(unit = unit.0, %error, "recording stopped: budget spent");
        self.emit(MediaEvent::RecorderError { unit, error });
    }

    fn close(&mut self, id: u64) {
        let Some(rec) = self.open.remove(&id) else {
            return;
        };
        let Recording {
            unit,
            sink,
            failed,
            mut meter,
            ..
        } = rec;
        if failed {
            // What was written stays on disk and counts.
            drop(sink);
            if let Some(m) = meter.as_mut() {
                m.charge();
            }
            return;
        }
        let duration = Duration::from_secs_f64(sink.frames() as f64 / f64::from(SAMPLE_RATE));
        let finished = sink.finish();
        if let Some(m) = meter.as_mut() {
            // The last second and the final header or tag: the recording is
            // over, so going past the budget here stops nothing.
            m.charge();
        }
        match finished {
            Ok(_) => self.emit(MediaEvent::RecorderStopped { unit, duration }),
            Err(e) => self.emit(MediaEvent::RecorderError {
                unit,
                error: format!("cannot finish recording: {e}"),
            }),
        }
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
