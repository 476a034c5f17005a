//! RTP in: `RtpPacket::parse`, RFC 4733 `EventPayload::parse` and
//! `DtmfReceiver`, SIP INFO digits (`parse_info`), and a live `Endpoint`'s
//! receive path (`on_datagram`: parse, latch, jitter buffer, DTMF) with ticks;
//! and the statistics (`rtcp::Stats`): every record is also read as RTCP
//! from the peer, and as RTP arriving at some time, and our own reports are
//! built and read back.
//!
//! Input: one configuration byte, then records `[control][length]` + bytes.
//! Control: bits 0-1 the source address, 2-4 the time step before the packet,
//! 5 a media tick after it, 6 a re-INVITE to another remote first.
//!
//! Properties: a parsed packet's fields, written back with `RtpHeader`, parse
//! to the same fields and payload; an event payload written back parses equal.
#![no_main]

use std::net::{SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dialtone_media::codec::{EncodedFrame, PcmFrame, FRAME_SAMPLES};
use dialtone_media::dtmf::{parse_info, DtmfReceiver, EventPayload};
use dialtone_media::endpoint::{Counters, Endpoint};
use dialtone_media::rtcp::Stats;
use dialtone_media::rtp::{RtpExtension, RtpHeader, RtpPacket};
use dialtone_media::{Codec, RtpParams, UnitId};
use libfuzzer_sys::fuzz_target;

const STEPS_MS: [u64; 8] = [0, 1, 5, 20, 40, 100, 1000, 3000];
const CONTENT_TYPES: [&str; 4] = [
    "application/dtmf-relay",
    "application/dtmf",
    "Application/DTMF-Relay; charset=utf-8",
    "text/plain",
];

fn socket() -> UdpSocket {
    static SOCKET: OnceLock<UdpSocket> = OnceLock::new();
    SOCKET
        .get_or_init(|| UdpSocket::bind("127.0.0.1:0").expect("bind a loopback socket"))
        .try_clone()
        .expect("clone the socket")
}

fn source(n: u8) -> SocketAddr {
    let port = 40_000 + u16::from(n % 4) * 2;
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn check_packet(data: &[u8]) {
    let Ok(pkt) = RtpPacket::parse(data) else {
        return;
    };
    assert!(pkt.header_len() <= data.len());
    assert!(pkt.payload().len() <= data.len() - pkt.header_len());
    let csrcs: Vec<u32> = pkt.csrcs().collect();
    assert_eq!(csrcs.len(), pkt.csrc_count());
    let header = RtpHeader {
        marker: pkt.marker(),
        payload_type: pkt.payload_type(),
        sequence: pkt.sequence(),
        timestamp: pkt.timestamp(),
        ssrc: pkt.ssrc(),
        csrcs: &csrcs,
        extension: pkt.extension(),
    };
    let mut out = vec![0u8; header.wire_len() + pkt.payload().len()];
    let n = header
        .write_packet(pkt.payload(), 0, &mut out)
        .unwrap_or_else(|e| panic!("a parsed header does not write: {e}"));
    let again = RtpPacket::parse(&out[..n]).expect("a written packet parses");
    assert_eq!(again.marker(), pkt.marker());
    assert_eq!(again.payload_type(), pkt.payload_type());
    assert_eq!(again.sequence(), pkt.sequence());
    assert_eq!(again.timestamp(), pkt.timestamp());
    assert_eq!(again.ssrc(), pkt.ssrc());
    assert!(again.csrcs().eq(csrcs.iter().copied()));
    assert_eq!(again.extension(), pkt.extension());
    assert_eq!(again.payload(), pkt.payload());
    let _: Option<RtpExtension> = again.extension();

    if let Ok(event) = EventPayload::parse(pkt.payload()) {
        assert_eq!(EventPayload::parse(&event.write()), Ok(event));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, mut rest)) = data.split_first() else {
        return;
    };
    let codec = if config & 1 == 0 {
        Codec::Pcmu
    } else {
        Codec::Pcma
    };
    let params = |remote: SocketAddr| RtpParams {
        remote,
        codec,
        payload_type: if config & 2 == 0 {
            codec.payload_type()
        } else {
            96
        },
        telephone_event_pt: (config & 4 == 0).then_some(101),
        send: true,
    };
    let start = Instant::now();
    let mut now = start;
    let mut ep = Endpoint::new(
        UnitId(1),
        socket(),
        "127.0.0.1:30000".parse().unwrap(),
        Duration::from_secs(2),
    );
    if config & 8 == 0 {
        ep.configure(params(source(0)), now);
    }
    ep.set_tone_detection(config & 16 == 0);
    let mut counters = Counters::default();
    let mut events = Vec::new();
    let mut receiver = DtmfReceiver::new();
    let mut remote = 0u8;
    let mut stats = Stats::new();
    let mut peer = Stats::new();
    let mut report = Vec::new();
    let epoch = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);

    while let [control, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (packet, next) = tail.split_at(len);
        rest = next;

        check_packet(packet);
        let _ = EventPayload::parse(packet);
        let ts = packet
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let _ = receiver.on_packet(ts, packet.get(4..).unwrap_or_default());
        let _ = parse_info(CONTENT_TYPES[usize::from(*control % 4)], packet);

        now += Duration::from_millis(STEPS_MS[usize::from(control >> 2 & 7)]);
        if control & 0x40 != 0 {
            remote = remote.wrapping_add(1);
            ep.configure(params(source(remote)), now);
        }
        ep.on_datagram(packet, source(*control), now, &mut counters, &mut events);
        let wall = epoch + now.duration_since(start);
        stats.on_rtcp(packet, 0x1234, wall);
        if let Ok(pkt) = RtpPacket::parse(packet) {
            stats.on_packet(pkt.ssrc(), pkt.sequence(), pkt.timestamp(), wall);
            peer.on_packet(0x1234, pkt.sequence(), pkt.timestamp(), wall);
        }
        if control & 0x80 != 0 {
            // Our report, read by the peer, and the peer's read by us.
            stats.build_report(0x1234, wall, 0, u64::from(*control), 1000, &mut report);
            peer.on_rtcp(&report, 0x9999, wall);
            peer.build_report(0x9999, wall, 0, 0, 0, &mut report);
            stats.on_rtcp(&report, 0x1234, wall);
            let r = stats.report(1);
            assert!(r.loss_ppm <= 1_000_000);
        }
        if control & 0x20 != 0 {
            ep.on_tick(now, Duration::from_secs(1), &mut events);
            let mut pcm: PcmFrame = [0; FRAME_SAMPLES];
            let _ = ep.frame_pcm(&mut pcm);
            let mut out: EncodedFrame = [0; FRAME_SAMPLES];
            let _ = ep.render(Codec::Pcma, &mut out, &mut pcm);
        }
        events.clear();
    }
    assert!(counters.dropped <= counters.packets_in);
});
