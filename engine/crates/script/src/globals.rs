//! VoxEngine's small global helpers: `base64_encode`/`base64_decode`,
//! `str2bytes`/`bytes2str`, `bytes2hex`/`hex2bytes`, `md5`, `sha1`,
//! `sha256`, `uuidgen`, and the `Crypto` namespace (`md5`, `sha1`,
//! `sha256`, `hmac_sha256`). Bytes are arrays of numbers 0–255, as in
//! VoxEngine.

use base64::Engine as _;
use rquickjs::function::Opt;
use rquickjs::{Array, Ctx, Exception, Function, Object, Value};
use sha2::Digest as _;

use crate::limits::MAX_HELPER_BYTES;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    let f = |target: &Object<'js>, name: &str, function: Function<'js>| -> rquickjs::Result<()> {
        target.set(name, function.with_name(name)?)
    };
    f(
        globals,
        "base64_encode",
        Function::new(ctx.clone(), base64_encode)?,
    )?;
    f(
        globals,
        "base64_decode",
        Function::new(ctx.clone(), base64_decode)?,
    )?;
    f(globals, "str2bytes", Function::new(ctx.clone(), str2bytes)?)?;
    f(globals, "bytes2str", Function::new(ctx.clone(), bytes2str)?)?;
    f(globals, "bytes2hex", Function::new(ctx.clone(), bytes2hex)?)?;
    f(globals, "hex2bytes", Function::new(ctx.clone(), hex2bytes)?)?;
    f(globals, "uuidgen", Function::new(ctx.clone(), uuidgen)?)?;
    f(globals, "md5", Function::new(ctx.clone(), md5)?)?;
    f(globals, "sha1", Function::new(ctx.clone(), sha1)?)?;
    f(globals, "sha256", Function::new(ctx.clone(), sha256)?)?;
    let crypto = Object::new(ctx.clone())?;
    f(&crypto, "md5", Function::new(ctx.clone(), md5)?)?;
    f(&crypto, "sha1", Function::new(ctx.clone(), sha1)?)?;
    f(&crypto, "sha256", Function::new(ctx.clone(), sha256)?)?;
    f(
        &crypto,
        "hmac_sha256",
        Function::new(ctx.clone(), hmac_sha256)?,
    )?;
    globals.set("Crypto", crypto)
}

fn too_large(ctx: &Ctx<'_>, what: &str) -> rquickjs::Error {
    Exception::throw_range(ctx, &format!("{what}: more than {MAX_HELPER_BYTES} bytes"))
}

/// A string (its UTF-8 bytes) or an array of numbers 0–255.
fn bytes_of(ctx: &Ctx<'_>, what: &str, value: &Value<'_>) -> rquickjs::Result<Vec<u8>> {
    if let Some(s) = value.as_string() {
        let s = s.to_string()?;
        if s.len() > MAX_HELPER_BYTES {
            return Err(too_large(ctx, what));
        }
        return Ok(s.into_bytes());
    }
    if let Some(array) = value.as_array() {
        if array.len() > MAX_HELPER_BYTES {
            return Err(too_large(ctx, what));
        }
        let mut out = Vec::with_capacity(array.len());
        for item in array.iter::<Value>() {
            let item = item?;
            match item.as_number() {
                Some(n) if (0.0..=255.0).contains(&n) && n.fract() == 0.0 => out.push(n as u8),
                _ => {
                    return Err(Exception::throw_type(
                        ctx,
                        &format!("{what}: bytes must be integers from 0 to 255"),
                    ))
                }
            }
        }
        return Ok(out);
    }
    Err(Exception::throw_type(
        ctx,
        &format!(
            "{what}: expected a string or an array of bytes, not {}",
            value.type_name()
        ),
    ))
}

fn byte_array<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> rquickjs::Result<Array<'js>> {
    let array = Array::new(ctx.clone())?;
    for (i, b) in bytes.iter().enumerate() {
        array.set(i, *b as i32)?;
    }
    Ok(array)
}

fn text_arg(ctx: &Ctx<'_>, what: &str, value: &Value<'_>) -> rquickjs::Result<String> {
    match value.as_string() {
        Some(s) => {
            let s = s.to_string()?;
            if s.len() > MAX_HELPER_BYTES {
                return Err(too_large(ctx, what));
            }
            Ok(s)
        }
        None => Err(Exception::throw_type(
            ctx,
            &format!("{what}: expected a string, not {}", value.type_name()),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
}

fn encoding(ctx: &Ctx<'_>, what: &str, value: Option<Value<'_>>) -> rquickjs::Result<Encoding> {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(Encoding::Utf8);
    };
    let name = text_arg(ctx, what, &value)?.to_ascii_lowercase();
    match name.as_str() {
        "utf-8" | "utf8" => Ok(Encoding::Utf8),
        "latin1" | "iso-8859-1" | "ascii" | "us-ascii" | "binary" => Ok(Encoding::Latin1),
        _ => Err(Exception::throw_type(
            ctx,
            &format!("{what}: unsupported encoding {name:?} (utf-8 or iso-8859-1)"),
        )),
    }
}

fn base64_encode<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    let bytes = bytes_of(&ctx, "base64_encode()", &data)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn base64_decode<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<Array<'js>> {
    const WHAT: &str = "base64_decode()";
    let text = text_arg(&ctx, WHAT, &data)?;
    let cleaned: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.as_bytes()))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.as_bytes()))
        .map_err(|e| Exception::throw_type(&ctx, &format!("{WHAT}: not base64: {e}")))?;
    byte_array(&ctx, &decoded)
}

fn str2bytes<'js>(
    ctx: Ctx<'js>,
    data: Value<'js>,
    enc: Opt<Value<'js>>,
) -> rquickjs::Result<Array<'js>> {
    const WHAT: &str = "str2bytes()";
    let text = text_arg(&ctx, WHAT, &data)?;
    let bytes: Vec<u8> = match encoding(&ctx, WHAT, enc.0)? {
        Encoding::Utf8 => text.into_bytes(),
        // Characters past U+00FF have no Latin-1 byte: `?`, as encoders do.
        Encoding::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
    };
    byte_array(&ctx, &bytes)
}

fn bytes2str<'js>(
    ctx: Ctx<'js>,
    data: Value<'js>,
    enc: Opt<Value<'js>>,
) -> rquickjs::Result<String> {
    const WHAT: &str = "bytes2str()";
    let bytes = bytes_of(&ctx, WHAT, &data)?;
    Ok(match encoding(&ctx, WHAT, enc.0)? {
        Encoding::Utf8 => String::from_utf8_lossy(&bytes).into_owned(),
        Encoding::Latin1 => bytes.iter().map(|b| char::from(*b)).collect(),
    })
}

fn hex(bytes: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(digits[usize::from(b >> 4)]));
        out.push(char::from(digits[usize::from(b & 15)]));
    }
    out
}

fn bytes2hex<'js>(ctx: Ctx<'js>, data: Value<'js>, upper: Opt<bool>) -> rquickjs::Result<String> {
    let bytes = bytes_of(&ctx, "bytes2hex()", &data)?;
    Ok(hex(&bytes, upper.0.unwrap_or(false)))
}

fn hex2bytes<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<Array<'js>> {
    const WHAT: &str = "hex2bytes()";
    let text = text_arg(&ctx, WHAT, &data)?;
    let bad = || Exception::throw_type(&ctx, &format!("{WHAT}: {text:?} is not a hex string"));
    if text.len() % 2 != 0 {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    for pair in text.as_bytes().chunks(2) {
        let s = std::str::from_utf8(pair).map_err(|_| bad())?;
        out.push(u8::from_str_radix(s, 16).map_err(|_| bad())?);
    }
    byte_array(&ctx, &out)
}

fn uuidgen() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn md5<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    let bytes = bytes_of(&ctx, "md5()", &data)?;
    Ok(hex(&md5::Md5::digest(bytes), false))
}

fn sha1<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    let bytes = bytes_of(&ctx, "sha1()", &data)?;
    Ok(hex(&sha1::Sha1::digest(bytes), false))
}

fn sha256<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    let bytes = bytes_of(&ctx, "sha256()", &data)?;
    Ok(hex(&sha2::Sha256::digest(bytes), false))
}

/// HMAC-SHA-256 (RFC 2104) of `data` under `key`, as lower-case hex.
fn hmac_sha256<'js>(ctx: Ctx<'js>, key: Value<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    const WHAT: &str = "Crypto.hmac_sha256()";
    let key = bytes_of(&ctx, WHAT, &key)?;
    let data = bytes_of(&ctx, WHAT, &data)?;
    Ok(hex(&hmac(&key, &data), false))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha2::Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = sha2::Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2.
    #[test]
    fn hmac_sha256_matches_rfc4231() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac, false),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than a block is hashed first (test case 6).
        let key = [0xaa_u8; 131];
        let mac = hmac(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac, false),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
