//! Random and mutated descriptions: nothing may panic, and whatever parses must
//! print to text that parses back to the same value.

use std::net::{IpAddr, Ipv4Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use dialtone_sdp::{
    accept_answer, answer_offer, make_offer, Codec, LocalMedia, SessionDescription,
};

/// splitmix64: deterministic, so a failure is reproducible from its iteration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SEEDS: &[&str] = &[
    "v=0\r\no=- 3917423245 3917423245 IN IP4 192.168.1.20\r\ns=pjmedia\r\nb=AS:117\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 120 9 0 8 96 101\r\nc=IN IP4 192.168.1.20\r\na=sendrecv\r\n\
a=rtpmap:120 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:96 telephone-event/48000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
m=video 4002 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n",
    "v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n\
m=audio 6000 RTP/AVP 0\n",
    "v=0\r\no=- 1 1 IN IP6 2001:db8::10\r\ns=-\r\nc=IN IP6 2001:db8::10\r\nt=0 0\r\n\
m=audio 5004 RTP/AVP 8 0\r\na=ptime:30\r\na=sendonly\r\nm=application 9 TCP/BFCP *\r\n",
    "v=0\r\no=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\ns=SDP\r\ni=x\r\n\
c=IN IP4 224.2.17.12/127\r\nb=CT:128\r\nt=2873397496 2873404696\r\nr=7d 1h 0 25h\r\n\
m=audio 49170/2 RTP/AVP 0\r\ni=voice\r\nb=AS:64\r\nk=prompt\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\n",
];

const ALPHABET: &[&str] = &[
    "0",
    "1",
    "8",
    "9",
    "101",
    "127",
    "128",
    "65535",
    "65536",
    "99999999999999999999",
    "-1",
    " ",
    "  ",
    "\t",
    "/",
    "//",
    ":",
    "=",
    "\n",
    "\r\n",
    "\r",
    "\0",
    "a=",
    "m=",
    "c=",
    "o=",
    "v=0",
    "IN",
    "IP4",
    "IP6",
    "::",
    "0.0.0.0",
    "RTP/AVP",
    "audio",
    "video",
    "PCMU/8000",
    "telephone-event/8000",
    "rtpmap:",
    "ptime:",
    "sendonly",
    "é",
    "\u{feff}",
    "💥",
    "*",
    ".",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    for _ in 0..=rng.below(4) {
        let line = rng.below(lines.len());
        match rng.below(8) {
            0 => {
                lines.remove(line);
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            1 => {
                let copy = lines[line].clone();
                lines.insert(rng.below(lines.len() + 1), copy);
            }
            2 => {
                let other = rng.below(lines.len());
                lines.swap(line, other);
            }
            3 => {
                let chars: Vec<char> = lines[line].chars().collect();
                let cut = rng.below(chars.len() + 1);
                lines[line] = chars[..cut].iter().collect();
            }
            4 | 5 => {
                let mut chars: Vec<char> = lines[line].chars().collect();
                let at = rng.below(chars.len() + 1);
                let insert: Vec<char> = rng.pick(ALPHABET).chars().collect();
                chars.splice(at..at, insert);
                lines[line] = chars.into_iter().collect();
            }
            6 => {
                let mut chars: Vec<char> = lines[line].chars().collect();
                if !chars.is_empty() {
                    let at = rng.below(chars.len());
                    chars[at] = rng.pick(ALPHABET).chars().next().unwrap_or('x');
                }
                lines[line] = chars.into_iter().collect();
            }
            _ => {
                // Replace a whole token so numbers and keywords get swapped for odd ones.
                let mut tokens: Vec<String> = lines[line].split(' ').map(str::to_owned).collect();
                let at = rng.below(tokens.len());
                tokens[at] = (*rng.pick(ALPHABET)).to_owned();
                lines[line] = tokens.join(" ");
            }
        }
    }
    lines.join("\n")
}

fn random_text(rng: &mut Rng) -> String {
    let mut text = if rng.below(2) == 0 {
        "v=0\n".to_owned()
    } else {
        String::new()
    };
    for _ in 0..rng.below(60) {
        let token: &&str = rng.pick(ALPHABET);
        text.push_str(token);
    }
    text
}

fn local() -> LocalMedia {
    LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
        port: 30000,
        codecs: vec![Codec::Pcma, Codec::Pcmu],
        telephone_event: true,
        session_id: 1,
        session_version: 2,
        username: "dialtone".into(),
    }
}

fn check(input: &str, local: &LocalMedia) {
    if let Ok(parsed) = SessionDescription::parse(input) {
        let printed = parsed.to_string();
        assert!(printed.ends_with("\r\n"), "{input:?}");
        let reparsed = SessionDescription::parse(&printed)
            .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}: {e}"));
        assert_eq!(reparsed, parsed, "{input:?} printed as {printed:?}");
    }
    if let Ok((answer, negotiated)) = answer_offer(input, local) {
        let answer = SessionDescription::parse(&answer)
            .unwrap_or_else(|e| panic!("answer to {input:?} does not parse: {e}"));
        let offer = SessionDescription::parse(input).unwrap();
        assert_eq!(answer.media.len(), offer.media.len(), "{input:?}");
        assert_eq!(
            answer.media.iter().filter(|m| m.port != 0).count(),
            1,
            "{input:?}"
        );
        assert!(local.codecs.contains(&negotiated.codec));
    }
    let _ = accept_answer(input, local);
}

fn check_without_panics(input: &str, local: &LocalMedia, iteration: usize) {
    if catch_unwind(AssertUnwindSafe(|| check(input, local))).is_err() {
        panic!("iteration {iteration} failed on {input:?}");
    }
}

#[test]
fn mutated_descriptions_never_panic_and_round_trip() {
    let local = local();
    let mut rng = Rng(0x5d9_2024);
    let mut seeds: Vec<String> = SEEDS.iter().map(|s| (*s).to_owned()).collect();
    seeds.push(make_offer(&local));
    let mut parsed = 0;
    let mut answered = 0;
    for iteration in 0..20_000 {
        let seed = rng.pick(&seeds).clone();
        let input = mutate(&mut rng, &seed);
        check_without_panics(&input, &local, iteration);
        parsed += usize::from(SessionDescription::parse(&input).is_ok());
        answered += usize::from(answer_offer(&input, &local).is_ok());
    }
    assert!(
        answered > 2_000,
        "only {answered} mutated offers were answered"
    );
    // Mutations must leave enough valid input to exercise the printer and the negotiation.
    assert!(parsed > 2_000, "only {parsed} mutated inputs parsed");
}

#[test]
fn random_text_never_panics() {
    let local = local();
    let mut rng = Rng(42);
    for iteration in 0..20_000 {
        let input = random_text(&mut rng);
        check_without_panics(&input, &local, iteration);
    }
}
