//! Voices by language: what VoxEngine's `Language` and `VoiceList`
//! constants stand for, and how they map onto the configured TTS engine.
//!
//! The constants are descriptors, `vox:LANG:GENDER[:Provider.Name]`
//! (`vox:en-US:female:Amazon.Joanna`). A session resolves one against the
//! engine's catalogue when it speaks: with espeak-ng the language's voice
//! (`en-us`, else the bare language `en`) and a variant for the gender; a
//! language the engine lacks, or a named voice it does not have, falls back
//! (to the language's default voice, or the engine's default) and the
//! session log says so. An HTTP TTS service gets the descriptor without its
//! `vox:` prefix and chooses itself. Any other voice string goes to the
//! engine as it is.

use std::collections::BTreeSet;

/// The prefix of a voice descriptor.
pub const DESCRIPTOR_PREFIX: &str = "vox:";

/// What a descriptor asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceWish<'a> {
    /// BCP 47 tag as written (`en-US`).
    pub language: &'a str,
    /// `female`, `male` or `neutral`.
    pub gender: &'a str,
    /// A provider's named voice (`Amazon.Joanna`), if any.
    pub name: Option<&'a str>,
}

/// Parses `vox:LANG:GENDER[:NAME]`.
pub fn parse_descriptor(voice: &str) -> Option<VoiceWish<'_>> {
    let rest = voice.strip_prefix(DESCRIPTOR_PREFIX)?;
    let mut parts = rest.splitn(3, ':');
    let language = parts.next().filter(|l| !l.is_empty())?;
    let gender = parts
        .next()
        .filter(|g| matches!(*g, "female" | "male" | "neutral"))?;
    let name = parts.next().filter(|n| !n.is_empty());
    Some(VoiceWish {
        language,
        gender,
        name,
    })
}

/// The voices the configured engine has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VoiceCatalogue {
    /// The engine chooses (an HTTP service): descriptors are passed on
    /// without their prefix.
    #[default]
    PassThrough,
    /// espeak-ng: the languages it has, lower case (`en-us`, `en`, `ru`).
    Espeak { languages: BTreeSet<String> },
}

/// A voice resolved for the engine, and what the session log should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedVoice {
    /// `None`: the engine's default voice.
    pub voice: Option<String>,
    pub note: Option<String>,
}

impl VoiceCatalogue {
    /// The catalogue of espeak-ng from its `--voices` listing (the second
    /// column of each line is a language).
    pub fn espeak_from_listing(listing: &str) -> VoiceCatalogue {
        let languages = listing
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().nth(1))
            .map(str::to_ascii_lowercase)
            .collect();
        VoiceCatalogue::Espeak { languages }
    }

    pub fn resolve(&self, voice: &str) -> ResolvedVoice {
        let Some(wish) = parse_descriptor(voice) else {
            return ResolvedVoice {
                voice: Some(voice.to_string()),
                note: None,
            };
        };
        match self {
            VoiceCatalogue::PassThrough => ResolvedVoice {
                voice: Some(voice[DESCRIPTOR_PREFIX.len()..].to_string()),
                note: None,
            },
            VoiceCatalogue::Espeak { languages } => {
                let tag = wish.language.to_ascii_lowercase();
                let primary = tag.split('-').next().unwrap_or(&tag).to_string();
                let variant = match wish.gender {
                    "female" => "+f3",
                    "male" => "+m3",
                    _ => "",
                };
                let found = [tag.clone(), primary]
                    .into_iter()
                    .find(|l| languages.contains(l));
                match (found, wish.name) {
                    (Some(lang), None) => ResolvedVoice {
                        voice: Some(format!("{lang}{variant}")),
                        note: None,
                    },
                    (Some(lang), Some(name)) => ResolvedVoice {
                        voice: Some(format!("{lang}{variant}")),
                        note: Some(format!(
                            "voice {name} is not available: using {lang}{variant}, the {} {} voice of espeak-ng",
                            wish.language, wish.gender
                        )),
                    },
                    (None, _) => ResolvedVoice {
                        voice: None,
                        note: Some(format!(
                            "no {} voice is available: using the default voice",
                            wish.language
                        )),
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str =
        "Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 2  en              --/M      English_(Great_Britain) gmw/en          (en-gb 2)
 5  ru              --/M      Russian            zle/ru
";

    #[test]
    fn descriptors_map_onto_espeak_voices_by_language() {
        let c = VoiceCatalogue::espeak_from_listing(LISTING);
        let r = c.resolve("vox:en-US:female");
        assert_eq!(r.voice.as_deref(), Some("en-us+f3"));
        assert_eq!(r.note, None);
        // en-AU is not there: the bare language is.
        assert_eq!(c.resolve("vox:en-AU:male").voice.as_deref(), Some("en+m3"));
        let named = c.resolve("vox:ru-RU:female:Amazon.Tatyana");
        assert_eq!(named.voice.as_deref(), Some("ru+f3"));
        assert!(named
            .note
            .unwrap()
            .contains("Amazon.Tatyana is not available"));
        let missing = c.resolve("vox:ja-JP:female");
        assert_eq!(missing.voice, None);
        assert!(missing.note.unwrap().contains("no ja-JP voice"));
        // Engine voice names pass as they are.
        assert_eq!(c.resolve("de").voice.as_deref(), Some("de"));
        assert_eq!(
            VoiceCatalogue::PassThrough
                .resolve("vox:en-US:female:Amazon.Joanna")
                .voice
                .as_deref(),
            Some("en-US:female:Amazon.Joanna")
        );
        assert_eq!(parse_descriptor("vox:en-US:robot"), None);
    }
}
