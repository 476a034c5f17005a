//! Every supported format decodes to a clean 8 kHz tone of the right length.

mod support;

use dialtone_audio::{decode, AudioError};
use support::{assert_tone, fixture, tone_wav, SampleFormat};

#[test]
fn wav_pcm16_at_common_rates_mono_and_stereo() {
    for rate in [8000, 11025, 16000, 22050, 44100, 48000] {
        for channels in [1, 2] {
            let wav = tone_wav(rate, channels, SampleFormat::I16, 440.0, 0.5);
            let clip = decode(&wav, Some("wav")).unwrap();
            assert_tone(
                &clip,
                440.0,
                0.5,
                0.02,
                &format!("wav {rate} Hz x{channels}"),
            );
        }
    }
}

#[test]
fn wav_1khz_stays_clean() {
    for rate in [16000, 44100, 48000] {
        let wav = tone_wav(rate, 1, SampleFormat::I16, 1000.0, 0.5);
        let clip = decode(&wav, None).unwrap();
        assert_tone(&clip, 1000.0, 0.5, 0.02, &format!("1 kHz at {rate}"));
    }
}

#[test]
fn wav_8bit_and_float() {
    let clip = decode(&tone_wav(8000, 1, SampleFormat::U8, 440.0, 0.5), None).unwrap();
    assert_tone(&clip, 440.0, 0.5, 0.02, "u8 wav");
    let clip = decode(&tone_wav(44100, 2, SampleFormat::F32, 440.0, 0.5), None).unwrap();
    assert_tone(&clip, 440.0, 0.5, 0.02, "f32 wav");
}

#[test]
fn tone_above_telephone_band_does_not_alias() {
    // 5 kHz at 48 kHz would fold to 3 kHz if the low-pass were missing.
    let clip = decode(&tone_wav(48000, 1, SampleFormat::I16, 5000.0, 0.5), None).unwrap();
    let level = support::rms(&clip[800..3200]);
    assert!(level < 30.0, "aliased energy rms {level}");
}

#[test]
fn mp3_fixture() {
    // 44.1 kHz stereo, 0.5 s; gapless info trims the encoder padding.
    let clip = decode(&fixture("tone440.mp3"), Some("mp3")).unwrap();
    assert_tone(&clip, 440.0, 0.5, 0.02, "mp3");
}

#[test]
fn ogg_vorbis_fixture() {
    let clip = decode(&fixture("tone440.ogg"), Some("ogg")).unwrap();
    assert_tone(&clip, 440.0, 0.5, 0.02, "ogg");
}

#[test]
fn flac_fixture() {
    let clip = decode(&fixture("tone440.flac"), Some("flac")).unwrap();
    assert_tone(&clip, 440.0, 0.5, 0.02, "flac");
}

#[test]
fn formats_are_found_without_a_hint() {
    for name in ["tone440.mp3", "tone440.ogg", "tone440.flac"] {
        let clip = decode(&fixture(name), None).unwrap();
        assert!(clip.len() > 3500, "{name}");
    }
}

#[test]
fn garbage_and_empty_input_are_decode_errors() {
    assert!(matches!(decode(b"", None), Err(AudioError::Decode(_))));
    assert!(matches!(
        decode(&[0x55; 5000], None),
        Err(AudioError::Decode(_))
    ));
    let mut wav = tone_wav(8000, 1, SampleFormat::I16, 440.0, 0.1);
    wav.truncate(30);
    assert!(decode(&wav, Some("wav")).is_err());
}

#[test]
fn truncated_wav_keeps_the_audio_it_has() {
    // A header claiming more data than present (a file cut short).
    let mut wav = tone_wav(16000, 1, SampleFormat::I16, 440.0, 0.5);
    wav.truncate(wav.len() / 2);
    let clip = decode(&wav, None).unwrap();
    assert_tone(&clip, 440.0, 0.25, 0.02, "truncated wav");
}
