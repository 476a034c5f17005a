use super::*;
use crate::tones::ToneGenerator;

#[test]
fn dial_tone() {
    let s = ToneScript::parse("350@-13,440@-13;10(*/0/1+2)").unwrap();
    assert_eq!(
        s.components(),
        &[
            Component {
                hz: 350,
                level_dbm0: -13.0
            },
            Component {
                hz: 440,
                level_dbm0: -13.0
            }
        ]
    );
    assert_eq!(s.sections().len(), 1);
    let sec = &s.sections()[0];
    assert_eq!(sec.duration, Some(80_000));
    assert_eq!(
        sec.segments,
        vec![Segment {
            on: None,
            off: Some(0),
            mask: 0b11
        }]
    );
    assert_eq!(s.duration(), Some(Duration::from_secs(10)));
}

#[test]
fn several_segments_and_sections() {
    let s = ToneScript::parse("985@-16,1428@-16,1777@-16;20(.380/0/1,.380/0/2,.380/0/3,0/4/0)")
        .unwrap();
    let segs = &s.sections()[0].segments;
    assert_eq!(segs.len(), 4);
    assert_eq!(segs[0].on, Some(3040));
    assert_eq!(segs[2].mask, 0b100);
    assert_eq!(segs[3].mask, 0);
    assert_eq!(segs[3].off, Some(32_000));

    let s = ToneScript::parse("350@-19,440@-19;2(.1/.1/1+2);10(*/0/1+2)").unwrap();
    assert_eq!(s.duration(), Some(Duration::from_secs(12)));
    assert_eq!(s.samples(), Some(96_000));

    let s = ToneScript::parse("480@-10,620@0;10(.125/.125/1+2)").unwrap();
    assert_eq!(s.sections()[0].segments[0].on, Some(1000));
    assert_eq!(s.components()[1].level_dbm0, 0.0);
}

#[test]
fn endless_sections_and_flexible_spelling() {
    let s = ToneScript::parse("425@-10;*(1/4/1)").unwrap();
    assert_eq!(s.duration(), None);
    let s = ToneScript::parse(" 350 @ -13 , 440@-13.5 ; 10 ( */0/1+2 ) ").unwrap();
    assert_eq!(s.components()[1].level_dbm0, -13.5);
    assert_eq!(s.duration(), Some(Duration::from_secs(10)));
    // Without references a segment is silence.
    let s = ToneScript::parse("440@-10;1(0.5/0.5)").unwrap();
    assert_eq!(s.sections()[0].segments[0].mask, 0);
    // Fractions are kept to the sample.
    let s = ToneScript::parse("440@+3;0.000125(*/0/1)").unwrap();
    assert_eq!(s.samples(), Some(1));
    let s = ToneScript::parse("440@-63;2.(*/0/1)").unwrap();
    assert_eq!(s.samples(), Some(16_000));
}

#[test]
fn invalid_scripts_are_rejected() {
    let cases = [
        "",
        "   ",
        "440@-10",
        "440;10(*/0/1)",
        "@-10;10(*/0/1)",
        "440@;10(*/0/1)",
        "440@-10;10(*/0/2)",
        "440@-10;10(*/0/0+1)",
        "440@-10;10(*/0/1+)",
        "440@-10;10(0/0/1)",
        "440@-10;10(0/0/1,0/0/0)",
        "440@-10;(1/1/1)",
        "440@-10;10(1/1/1",
        "440@-10;10 1/1/1)",
        "440@-10;10((1/1/1))",
        "440@-10;10(1/1/1)x",
        "440@abc;10(1/1/1)",
        "0@-10;10(1/1/1)",
        "4000@-10;10(1/1/1)",
        "99999@-10;10(1/1/1)",
        "440@-70;10(1/1/1)",
        "440@5;10(1/1/1)",
        "440@inf;10(1/1/1)",
        "440@NaN;10(1/1/1)",
        "440@1e1;10(1/1/1)",
        "440@-10;10(1/1/1/1)",
        "440@-10;10(1.2.3/0/1)",
        "440@-10;10(-1/0/1)",
        "440@-10;1e3(1/1/1)",
        "440@-10;99999999(1/1/1)",
        "440@-10;10(1/1/99999999999999999999999)",
        "440@-10;10(0.1234567/1/1)",
        "440@-10;10(./1/1)",
        "440@-10;10()",
        "440@-10;;10(1/1/1)",
        "440.5@-10;10(1/1/1)",
        "1@-1,2@-1,3@-1,4@-1,5@-1,6@-1,7@-1,8@-1,9@-1;1(1/1/1)",
        "440@-10;1(1/1/1);1(1/1/1);1(1/1/1);1(1/1/1);1(1/1/1);1(1/1/1);1(1/1/1);1(1/1/1);1(1/1/1)",
        "440@-10;1(1/1/1,1/1/1,1/1/1,1/1/1,1/1/1,1/1/1,1/1/1,1/1/1,1/1/1)",
    ];
    for c in cases {
        assert!(ToneScript::parse(c).is_err(), "{c:?} parsed");
    }
    assert_eq!(ToneScript::parse(""), Err(ToneError::Empty));
    assert_eq!(ToneScript::parse("440@-10"), Err(ToneError::NoCadence));
    assert!(matches!(
        ToneScript::parse("440@-10;10(0/0/1)"),
        Err(ToneError::EmptyCadence(_))
    ));
    assert_eq!(
        ToneScript::parse(&"1".repeat(2000)),
        Err(ToneError::TooLong)
    );
    // Eight of each is the limit, not over it.
    assert!(ToneScript::parse("1@-1,2@-1,3@-1,4@-1,5@-1,6@-1,7@-1,8@-1;1(1/1/1+8)").is_ok());
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Parses random and mutated scripts; whatever parses must also generate
/// without panicking or stalling.
#[test]
fn fuzz_never_panics() {
    const ALPHABET: &[u8] = b"0123456789@,;()/+*.- x\xc3\xa9";
    const SEEDS: [&str; 4] = [
        "350@-13,440@-13;10(*/0/1+2)",
        "985@-16,1428@-16,1777@-16;20(.380/0/1,.380/0/2,.380/0/3,0/4/0)",
        "350@-19,440@-19;2(.1/.1/1+2);10(*/0/1+2)",
        "425@-10;*(1/4/1)",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    let mut frame = [0i16; 160];
    for i in 0..6000 {
        let bytes: Vec<u8> = if i % 2 == 0 {
            let len = rng.below(48);
            (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect()
        } else {
            let mut b = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(b.len() + 1);
                match rng.below(3) {
                    0 if at < b.len() => {
                        b.remove(at);
                    }
                    1 if at < b.len() => b[at] = ALPHABET[rng.below(ALPHABET.len())],
                    _ => b.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                }
            }
            b
        };
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(script) = ToneScript::parse(&text) {
            parsed += 1;
            let mut g = ToneGenerator::new(script, true);
            for _ in 0..5 {
                g.fill(&mut frame);
            }
        }
    }
    assert!(parsed > 100, "mutations should often stay valid: {parsed}");
}
