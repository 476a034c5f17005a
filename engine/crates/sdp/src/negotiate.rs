//! RFC 3264 offer/answer for one audio stream of G.711 plus telephone-event.

use std::net::{IpAddr, SocketAddr};

use crate::description::{Attribute, Connection, Field, MediaDescription, Origin};
use crate::{Codec, Direction, LocalMedia, Negotiated, SdpError, SessionDescription};

/// The dynamic payload type we give telephone-event in our own offers.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// The packet time we ask for; RFC 3551 makes 20 ms the G.711 default.
const PTIME_MS: u32 = 20;
/// Every RFC 4733 event we can send and receive: DTMF 0-9, *, #, A-D and flash.
const TELEPHONE_EVENTS: &str = "0-16";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    Codec(Codec),
    TelephoneEvent,
}

/// What one audio section has in common with us.
struct Choice {
    codec: Codec,
    payload_type: u8,
    telephone_event_pt: Option<u8>,
    /// The common formats in the order the section lists them.
    formats: Vec<(u8, Payload)>,
}

/// Builds our SDP offer: one sendrecv audio stream with our codecs in our order
/// of preference, then telephone-event on [`TELEPHONE_EVENT_PT`] if enabled.
pub fn make_offer(local: &LocalMedia) -> String {
    make_offer_directed(local, Direction::SendRecv)
}

/// [`make_offer`] with another direction: `sendonly` puts the peer on hold
/// (RFC 3264 §8.4), `sendrecv` takes it off.
pub fn make_offer_directed(local: &LocalMedia, direction: Direction) -> String {
    let mut formats: Vec<(u8, Payload)> = local_codecs(local)
        .into_iter()
        .map(|c| (c.payload_type(), Payload::Codec(c)))
        .collect();
    if local.telephone_event {
        formats.push((TELEPHONE_EVENT_PT, Payload::TelephoneEvent));
    }
    let audio = audio_section(local.port, &formats, direction);
    local_description(local, vec![audio]).to_string()
}

/// Answers a remote offer (RFC 3264 §6).
///
/// The first RTP/AVP audio stream with a non-zero port and a codec in common is
/// accepted; every other stream is refused with port 0. The chosen codec is the
/// first of ours in the offer's order, and the answer lists all common codecs in
/// that order, plus the offerer's telephone-event/8000 payload type when both
/// sides use it. The answer's direction mirrors the offer's; an offer with
/// `c=0.0.0.0` (hold, RFC 2543 style) is treated as sendonly from the offerer.
pub fn answer_offer(offer: &str, local: &LocalMedia) -> Result<(String, Negotiated), SdpError> {
    answer_offer_directed(offer, local, Direction::SendRecv)
}

/// [`answer_offer`] by a side that wants at most `wish`: the answer's
/// direction is what the offer allows and `wish` allows both (a call we hold
/// answers a `sendrecv` offer `sendonly`, RFC 3264 §6.1).
pub fn answer_offer_directed(
    offer: &str,
    local: &LocalMedia,
    wish: Direction,
) -> Result<(String, Negotiated), SdpError> {
    let offer = SessionDescription::parse(offer)?;
    let supported = local_codecs(local);

    let mut accepted = None;
    let mut saw_audio = false;
    for (index, media) in offer.media.iter().enumerate() {
        if !is_usable_audio(media) {
            continue;
        }
        saw_audio = true;
        let connection = audio_connection(&offer, media)?;
        if let Some(choice) = choose(media, &supported, local.telephone_event) {
            accepted = Some((index, media, connection, choice));
            break;
        }
    }
    let (accepted_index, media, connection, choice) = match accepted {
        Some(accepted) => accepted,
        None if saw_audio => return Err(SdpError::NoCommonCodec),
        None => return Err(SdpError::NoAudio),
    };

    let mut negotiated = negotiated(&offer, media, connection, &choice);
    negotiated.direction = Direction::from_flags(
        negotiated.direction.sends() && wish.sends(),
        negotiated.direction.receives() && wish.receives(),
    );
    let sections = offer
        .media
        .iter()
        .enumerate()
        .map(|(index, offered)| {
            if index == accepted_index {
                audio_section(local.port, &choice.formats, negotiated.direction)
            } else {
                // The formats of a refused stream are ignored, but one is required.
                MediaDescription::new(
                    &offered.media,
                    0,
                    &offered.protocol,
                    offered.formats.clone(),
                )
            }
        })
        .collect();
    let answer = local_description(local, sections).to_string();
    Ok((answer, negotiated))
}

/// The direction of the first audio stream of `sdp` as its author wrote it
/// (`c=0.0.0.0` takes receiving away): what a relayed offer or answer asks
/// of the other leg. `None` when it does not parse or has no audio.
pub fn stated_direction(sdp: &str) -> Option<Direction> {
    let description = SessionDescription::parse(sdp).ok()?;
    let Some(media) = description.media.iter().find(|m| is_audio_avp(m)) else {
        // A browser's description: ICE, not `c=`, says where media goes.
        return crate::webrtc_direction(sdp);
    };
    let mut direction = description.direction_for(media);
    if audio_connection(&description, media).is_ok_and(|c| c.is_hold()) {
        direction = Direction::from_flags(direction.sends(), false);
    }
    Some(direction)
}

/// Reads the answer to an offer made with [`make_offer`].
///
/// The codec is the first in the answer's list that we offered; the answer's
/// direction is mirrored the same way as in [`answer_offer`].
pub fn accept_answer(answer: &str, local: &LocalMedia) -> Result<Negotiated, SdpError> {
    let answer = SessionDescription::parse(answer)?;
    // Our offer has one stream, so the answer's first RTP/AVP audio section is its answer.
    let media = answer
        .media
        .iter()
        .find(|m| is_audio_avp(m))
        .ok_or(SdpError::NoAudio)?;
    if media.port == 0 {
        return Err(SdpError::AudioRejected);
    }
    let connection = audio_connection(&answer, media)?;
    let choice = choose(media, &local_codecs(local), local.telephone_event)
        .ok_or(SdpError::NoCommonCodec)?;
    Ok(negotiated(&answer, media, connection, &choice))
}

/// Our codecs without duplicates; none configured means both G.711 laws.
fn local_codecs(local: &LocalMedia) -> Vec<Codec> {
    let mut codecs: Vec<Codec> = Vec::with_capacity(Codec::ALL.len());
    for codec in &local.codecs {
        if !codecs.contains(codec) {
            codecs.push(*codec);
        }
    }
    if codecs.is_empty() {
        codecs.extend(Codec::ALL);
    }
    codecs
}

fn is_audio_avp(media: &MediaDescription) -> bool {
    // Plain RTP only: SAVP needs SRTP keys, AVPF feedback we would never send.
    media.media.eq_ignore_ascii_case("audio") && media.protocol.eq_ignore_ascii_case("RTP/AVP")
}

fn is_usable_audio(media: &MediaDescription) -> bool {
    is_audio_avp(media) && media.port != 0
}

fn audio_connection<'a>(
    description: &'a SessionDescription,
    media: &'a MediaDescription,
) -> Result<&'a Connection, SdpError> {
    description
        .connection_for(media)
        .ok_or_else(|| SdpError::Parse("no c= line for the audio stream".into()))
}

fn choose(media: &MediaDescription, supported: &[Codec], telephone_event: bool) -> Option<Choice> {
    let mut formats: Vec<(u8, Payload)> = Vec::new();
    for pt in media.payload_types() {
        if formats.iter().any(|(listed, _)| *listed == pt) {
            continue;
        }
        let Some(encoding) = media.encoding(pt) else {
            continue;
        };
        let payload = match Codec::from_rtpmap(&encoding) {
            Some(codec) if supported.contains(&codec) => Payload::Codec(codec),
            Some(_) => continue,
            None if telephone_event && encoding.is_telephone_event(8000) => Payload::TelephoneEvent,
            None => continue,
        };
        // One payload type per encoding keeps the answer unambiguous for our receiver.
        if formats.iter().all(|(_, listed)| *listed != payload) {
            formats.push((pt, payload));
        }
    }
    let (payload_type, codec) = formats.iter().find_map(|(pt, payload)| match payload {
        Payload::Codec(codec) => Some((*pt, *codec)),
        Payload::TelephoneEvent => None,
    })?;
    let telephone_event_pt = formats
        .iter()
        .find(|(_, payload)| *payload == Payload::TelephoneEvent)
        .map(|(pt, _)| *pt);
    Some(Choice {
        codec,
        payload_type,
        telephone_event_pt,
        formats,
    })
}

fn negotiated(
    description: &SessionDescription,
    media: &MediaDescription,
    connection: &Connection,
    choice: &Choice,
) -> Negotiated {
    let mut theirs = description.direction_for(media);
    if connection.is_hold() {
        // They gave no address to send to, so whatever they said, they do not receive.
        theirs = Direction::from_flags(theirs.sends(), false);
    }
    let ptime_ms = description.ptime_for(media).unwrap_or(PTIME_MS);
    Negotiated {
        remote: SocketAddr::new(connection.addr, media.port),
        codec: choice.codec,
        payload_type: choice.payload_type,
        telephone_event_pt: choice.telephone_event_pt,
        ptime_ms,
        direction: theirs.reversed(),
    }
}

fn audio_section(port: u16, formats: &[(u8, Payload)], direction: Direction) -> MediaDescription {
    let numbers = formats.iter().map(|(pt, _)| pt.to_string()).collect();
    let mut section = MediaDescription::new("audio", port, "RTP/AVP", numbers);
    for (pt, payload) in formats {
        match payload {
            Payload::Codec(codec) => section.attributes.push(Attribute::with_value(
                "rtpmap",
                format!("{pt} {}/{}", codec.encoding_name(), codec.clock_rate()),
            )),
            Payload::TelephoneEvent => {
                section.attributes.push(Attribute::with_value(
                    "rtpmap",
                    format!("{pt} telephone-event/8000"),
                ));
                section.attributes.push(Attribute::with_value(
                    "fmtp",
                    format!("{pt} {TELEPHONE_EVENTS}"),
                ));
            }
        }
    }
    section
        .attributes
        .push(Attribute::with_value("ptime", PTIME_MS.to_string()));
    section.attributes.push(Attribute::flag(direction.as_str()));
    section
}

fn local_description(local: &LocalMedia, media: Vec<MediaDescription>) -> SessionDescription {
    let username: String = local
        .username
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let addr_type = match local.addr {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    SessionDescription {
        origin: Origin {
            username: if username.is_empty() {
                "-".into()
            } else {
                username
            },
            session_id: local.session_id.to_string(),
            session_version: local.session_version.to_string(),
            net_type: "IN".into(),
            addr_type: addr_type.into(),
            address: local.addr.to_string(),
        },
        session_name: "-".into(),
        connection: Some(Connection::new(local.addr)),
        fields: vec![Field::new('t', "0 0")],
        attributes: Vec::new(),
        media,
    }
}
