//! Two media units joined in memory: the halves of a call between two
//! sessions (`VoxEngine.callConference`), which may live on different media
//! workers.
//!
//! Each half is a unit of its worker's graph. As a sink it takes its input's
//! frame each tick and queues it for the other half; as a source it gives,
//! each tick, the frame the other half queued (nothing when none came, so
//! whoever hears it sends nothing that tick, as for a silent peer). The two
//! workers tick on their own 20 ms clocks; a queue longer than
//! [`MAX_QUEUED`] frames drops its oldest, so the delay stays within a few
//! frames whatever the clocks' phase.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::codec::{Codec, EncodedFrame, EncodedOnce, PcmFrame};
use crate::UnitId;

/// Frames a direction holds at most.
pub const MAX_QUEUED: usize = 3;

/// What both halves share: one queue per direction (`queues[i]` carries
/// half `i`'s frames to the other).
#[derive(Default)]
pub struct LinkShared {
    queues: [Mutex<VecDeque<PcmFrame>>; 2],
}

pub struct LinkEnd {
    unit: UnitId,
    side: usize,
    shared: Arc<LinkShared>,
    /// This tick's frame from the other half.
    heard: PcmFrame,
    has_heard: bool,
    /// This tick's frame encoded, per codec, once asked for.
    encoded: EncodedOnce,
}

/// The two halves of a new link, for units `a` and `b`.
pub fn pair(a: UnitId, b: UnitId) -> (LinkEnd, LinkEnd) {
    let shared = Arc::new(LinkShared::default());
    (
        LinkEnd::new(a, 0, shared.clone()),
        LinkEnd::new(b, 1, shared),
    )
}

impl LinkEnd {
    fn new(unit: UnitId, side: usize, shared: Arc<LinkShared>) -> LinkEnd {
        LinkEnd {
            unit,
            side,
            shared,
            heard: [0; crate::codec::FRAME_SAMPLES],
            has_heard: false,
            encoded: EncodedOnce::default(),
        }
    }

    pub fn unit(&self) -> UnitId {
        self.unit
    }

    /// Start of a tick: takes the other half's next frame, if one came.
    pub fn tick(&mut self) {
        self.encoded.clear();
        let from = 1 - self.side;
        let next = self
            .shared
            .queues
            .get(from)
            .and_then(|q| q.lock().pop_front());
        self.has_heard = next.is_some();
        if let Some(frame) = next {
            self.heard = frame;
        }
    }

    /// This tick's frame from the other half, if any.
    pub fn pcm(&self) -> Option<&PcmFrame> {
        self.has_heard.then_some(&self.heard)
    }

    /// This tick's frame from the other half, encoded as `dst`.
    pub fn render(&mut self, dst: Codec, out: &mut EncodedFrame) -> bool {
        if !self.has_heard {
            return false;
        }
        let heard = &self.heard;
        self.encoded
            .copy_into(dst, out, |enc| dst.encode_frame(heard, enc));
        true
    }

    /// What this half's input gave this tick, for the other half.
    pub fn push(&self, frame: &PcmFrame) {
        if let Some(q) = self.shared.queues.get(self.side) {
            let mut q = q.lock();
            if q.len() >= MAX_QUEUED {
                q.pop_front();
            }
            q.push_back(*frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::FRAME_SAMPLES;

    fn frame(v: i16) -> PcmFrame {
        [v; FRAME_SAMPLES]
    }

    #[test]
    fn frames_cross_in_order_both_ways() {
        let (mut a, mut b) = pair(UnitId(1), UnitId(2));
        a.push(&frame(1));
        a.push(&frame(2));
        b.push(&frame(9));
        b.tick();
        a.tick();
        assert_eq!(b.pcm().map(|f| f[0]), Some(1));
        assert_eq!(a.pcm().map(|f| f[0]), Some(9));
        b.tick();
        a.tick();
        assert_eq!(b.pcm().map(|f| f[0]), Some(2));
        assert_eq!(a.pcm(), None, "nothing came: nothing to give");
        let mut out = [0u8; FRAME_SAMPLES];
        assert!(!a.render(Codec::Pcmu, &mut out));
        assert!(b.render(Codec::Pcma, &mut out));
    }

    #[test]
    fn a_queue_keeps_the_newest_frames() {
        let (a, mut b) = pair(UnitId(1), UnitId(2));
        for v in 1..=10 {
            a.push(&frame(v));
        }
        let mut got = Vec::new();
        for _ in 0..5 {
            b.tick();
            got.push(b.pcm().map(|f| f[0]));
        }
        assert_eq!(got, [Some(8), Some(9), Some(10), None, None]);
    }
}
