//! Canonical JSON exactly as python-tuf signs it (securesystemslib's `encode_canonical`).
//!
//! Why not `olpc-cjson` directly: it normalises strings to Unicode NFC and sorts object keys by
//! their *escaped* bytes, while securesystemslib does neither. For ASCII without quotes or
//! backslashes both agree (a test checks it); for a title in `custom` with a decomposed accent they
//! would not, and python-tuf would reject our signature. So the rules, in full:
//! objects with keys sorted by code point (= UTF-8 byte order), no whitespace, strings written raw
//! with only `"` and `\` escaped, integers only (floats are an error), `true`/`false`/`null`.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// Canonical JSON bytes of `value` (what TUF signatures are computed over).
///
/// Fails only for values canonical JSON cannot express: floating-point numbers.
pub fn canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let value = serde_json::to_value(value).map_err(|error| {
        Error::new(
            ErrorKind::Malformed,
            format!("cannot convert to JSON for canonical encoding: {error}"),
        )
    })?;
    canonical_value(&value)
}

/// Canonical JSON bytes of an already parsed JSON value.
pub fn canonical_value(value: &Value) -> Result<Vec<u8>> {
    let mut output = Vec::with_capacity(256);
    write_value(value, &mut output)?;
    Ok(output)
}

fn write_value(value: &Value, output: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Null => output.extend_from_slice(b"null"),
        Value::Bool(true) => output.extend_from_slice(b"true"),
        Value::Bool(false) => output.extend_from_slice(b"false"),
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                output.extend_from_slice(unsigned.to_string().as_bytes());
            } else if let Some(signed) = number.as_i64() {
                output.extend_from_slice(signed.to_string().as_bytes());
            } else {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!("canonical JSON has no floating-point numbers, found {number}"),
                ));
            }
        }
        Value::String(text) => write_string(text, output),
        Value::Array(items) => {
            output.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    output.push(b',');
                }
                write_value(item, output)?;
            }
            output.push(b']');
        }
        Value::Object(map) => {
            // Sorted explicitly: serde_json's map keeps insertion order when another crate in the
            // build enables its `preserve_order` feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
            output.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    output.push(b',');
                }
                write_string(key, output);
                output.push(b':');
                write_value(item, output)?;
            }
            output.push(b'}');
        }
    }
    Ok(())
}

fn write_string(text: &str, output: &mut Vec<u8>) {
    output.push(b'"');
    for byte in text.bytes() {
        if byte == b'"' || byte == b'\\' {
            output.push(b'\\');
        }
        output.push(byte);
    }
    output.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_securesystemslib_rules() {
        let value = json!({"b": [1, -2, true, null], "a": "x\"y\\z\né", "é": {}, "Z": 0});
        let bytes = canonical_value(&value).unwrap();
        assert_eq!(
            bytes,
            "{\"Z\":0,\"a\":\"x\\\"y\\\\z\né\",\"b\":[1,-2,true,null],\"é\":{}}".as_bytes()
        );
    }

    #[test]
    fn refuses_floats() {
        let error = canonical_value(&json!({"a": 1.5})).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Malformed);
    }

    #[test]
    fn no_unicode_normalisation() {
        // "e" + combining acute accent stays decomposed, as in Python.
        let bytes = canonical_value(&json!("e\u{301}")).unwrap();
        assert_eq!(bytes, "\"e\u{301}\"".as_bytes());
    }

    #[test]
    fn agrees_with_olpc_cjson_on_ascii() {
        let value = json!({"signed": {"_type": "targets", "version": 3, "targets": {"a.pdf": {"length": 12, "hashes": {"sha256": "00ff"}}}, "x": [1, 2, {"k": false}]}});
        let mut expected = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut expected,
            olpc_cjson::CanonicalFormatter::new(),
        );
        value.serialize(&mut serializer).unwrap();
        assert_eq!(canonical_value(&value).unwrap(), expected);
    }
}
