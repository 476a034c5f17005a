//! `Language` (VoxEngine's legacy voice constants) and `VoiceList` (voices
//! by provider). Their values are voice descriptors (`vox:en-US:female`,
//! `vox:en-US:female:Amazon.Joanna`) that `say` and `createTTSPlayer`
//! resolve against the configured TTS engine's voices by language
//! (`dialtone_core::voices`); a voice the engine lacks falls back to its
//! language's default, and the session log says so.

use rquickjs::{Ctx, Object, Value};

/// `Language` members: (name, BCP 47 tag, gender).
pub(crate) const LANGUAGES: &[(&str, &str, &str)] = &[
    ("US_ENGLISH_FEMALE", "en-US", "female"),
    ("US_ENGLISH_MALE", "en-US", "male"),
    ("UK_ENGLISH_FEMALE", "en-GB", "female"),
    ("UK_ENGLISH_MALE", "en-GB", "male"),
    ("AU_ENGLISH_FEMALE", "en-AU", "female"),
    ("AU_ENGLISH_MALE", "en-AU", "male"),
    ("IN_ENGLISH_FEMALE", "en-IN", "female"),
    ("RU_RUSSIAN_FEMALE", "ru-RU", "female"),
    ("RU_RUSSIAN_MALE", "ru-RU", "male"),
    ("DE_GERMAN_FEMALE", "de-DE", "female"),
    ("DE_GERMAN_MALE", "de-DE", "male"),
    ("FR_FRENCH_FEMALE", "fr-FR", "female"),
    ("FR_FRENCH_MALE", "fr-FR", "male"),
    ("CA_FRENCH_FEMALE", "fr-CA", "female"),
    ("ES_SPANISH_FEMALE", "es-ES", "female"),
    ("ES_SPANISH_MALE", "es-ES", "male"),
    ("US_SPANISH_FEMALE", "es-US", "female"),
    ("US_SPANISH_MALE", "es-US", "male"),
    ("MX_SPANISH_FEMALE", "es-MX", "female"),
    ("IT_ITALIAN_FEMALE", "it-IT", "female"),
    ("IT_ITALIAN_MALE", "it-IT", "male"),
    ("BR_PORTUGUESE_FEMALE", "pt-BR", "female"),
    ("BR_PORTUGUESE_MALE", "pt-BR", "male"),
    ("PT_PORTUGUESE_FEMALE", "pt-PT", "female"),
    ("PT_PORTUGUESE_MALE", "pt-PT", "male"),
    ("NL_DUTCH_FEMALE", "nl-NL", "female"),
    ("NL_DUTCH_MALE", "nl-NL", "male"),
    ("PL_POLISH_FEMALE", "pl-PL", "female"),
    ("PL_POLISH_MALE", "pl-PL", "male"),
    ("SV_SWEDISH_FEMALE", "sv-SE", "female"),
    ("NO_NORWEGIAN_FEMALE", "nb-NO", "female"),
    ("DK_DANISH_FEMALE", "da-DK", "female"),
    ("DK_DANISH_MALE", "da-DK", "male"),
    ("FI_FINNISH_FEMALE", "fi-FI", "female"),
    ("TR_TURKISH_FEMALE", "tr-TR", "female"),
    ("CZ_CZECH_FEMALE", "cs-CZ", "female"),
    ("JP_JAPANESE_FEMALE", "ja-JP", "female"),
    ("JP_JAPANESE_MALE", "ja-JP", "male"),
    ("KR_KOREAN_FEMALE", "ko-KR", "female"),
    ("CN_CHINESE_FEMALE", "zh-CN", "female"),
    ("HK_CHINESE_FEMALE", "zh-HK", "female"),
    ("TW_CHINESE_FEMALE", "zh-TW", "female"),
    ("ARABIC_FEMALE", "ar-SA", "female"),
    ("ARABIC_MALE", "ar-SA", "male"),
    ("HI_HINDI_FEMALE", "hi-IN", "female"),
    ("UA_UKRAINIAN_FEMALE", "uk-UA", "female"),
];

/// Named voices by provider: (provider, voice, BCP 47 tag, gender).
const NAMED: &[(&str, &str, &str, &str)] = &[
    ("Amazon", "Joanna", "en-US", "female"),
    ("Amazon", "Matthew", "en-US", "male"),
    ("Amazon", "Amy", "en-GB", "female"),
    ("Amazon", "Brian", "en-GB", "male"),
    ("Amazon", "Tatyana", "ru-RU", "female"),
    ("Amazon", "Maxim", "ru-RU", "male"),
    ("Amazon", "Marlene", "de-DE", "female"),
    ("Amazon", "Hans", "de-DE", "male"),
    ("Amazon", "Celine", "fr-FR", "female"),
    ("Amazon", "Mathieu", "fr-FR", "male"),
    ("Amazon", "Conchita", "es-ES", "female"),
    ("Amazon", "Enrique", "es-ES", "male"),
    ("Amazon", "Carla", "it-IT", "female"),
    ("Amazon", "Giorgio", "it-IT", "male"),
    ("Amazon", "Camila", "pt-BR", "female"),
    ("Amazon", "Mizuki", "ja-JP", "female"),
    ("Google", "Wavenet_A", "en-US", "male"),
    ("Google", "Wavenet_C", "en-US", "female"),
    ("Google", "Wavenet_F", "en-US", "female"),
    ("Google", "Wavenet_B", "en-GB", "male"),
    ("Google", "Wavenet_A", "de-DE", "female"),
    ("Google", "Wavenet_A", "ru-RU", "female"),
    ("Microsoft", "JennyNeural", "en-US", "female"),
    ("Microsoft", "GuyNeural", "en-US", "male"),
    ("Microsoft", "SoniaNeural", "en-GB", "female"),
    ("Microsoft", "KatjaNeural", "de-DE", "female"),
    ("Microsoft", "SvetlanaNeural", "ru-RU", "female"),
    ("Yandex", "alena", "ru-RU", "female"),
    ("Yandex", "filipp", "ru-RU", "male"),
];

fn member(tag: &str) -> String {
    tag.replace('-', "_")
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    crate::lazy::define(ctx, globals, "Language", language)?;
    crate::lazy::define(ctx, globals, "VoiceList", voice_list)
}

fn language<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let language = Object::new(ctx.clone())?;
    for (name, tag, gender) in LANGUAGES {
        language.set(*name, format!("vox:{tag}:{gender}"))?;
    }
    Ok(language.into_value())
}

fn voice_list<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let list = Object::new(ctx.clone())?;
    // VoiceList.Default: every language of `Language`, by gender.
    let default = Object::new(ctx.clone())?;
    for (_, tag, gender) in LANGUAGES {
        let capital = if *gender == "female" {
            "Female"
        } else {
            "Male"
        };
        default.set(
            format!("{}_{capital}", member(tag)),
            format!("vox:{tag}:{gender}"),
        )?;
    }
    list.set("Default", default)?;
    for provider in ["Amazon", "Google", "Microsoft", "Yandex"] {
        let voices = Object::new(ctx.clone())?;
        for (_, name, tag, gender) in NAMED.iter().filter(|v| v.0 == provider) {
            voices.set(
                format!("{}_{name}", member(tag)),
                format!("vox:{tag}:{gender}:{provider}.{name}"),
            )?;
        }
        list.set(provider, voices)?;
    }
    Ok(list.into_value())
}
