//! `customData` as clients write it, in `POST /v1/sessions` and in rules:
//! any JSON value, turned into the text `VoxEngine.customData()` returns.

use super::error::ApiError;
use dialtone_store::MAX_CUSTOM_DATA;
use serde_json::Value;

/// A string as is, any other value as its JSON text, null or absent as the
/// empty string; more than [`MAX_CUSTOM_DATA`] bytes is 413.
pub fn text(value: Option<Value>) -> Result<String, ApiError> {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    if text.len() > MAX_CUSTOM_DATA {
        return Err(ApiError::TooLarge(format!(
            "customData is {} bytes; the limit is {MAX_CUSTOM_DATA}",
            text.len()
        )));
    }
    Ok(text)
}

/// Whether a request gave a `customData` of its own (null counts as none).
pub fn given(value: &Option<Value>) -> bool {
    !matches!(value, None | Some(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_data_is_text_as_is_or_json_and_limited() {
        assert_eq!(text(None).unwrap(), "");
        assert_eq!(text(Some(Value::Null)).unwrap(), "");
        assert_eq!(text(Some(json!("abc"))).unwrap(), "abc");
        assert_eq!(text(Some(json!({"a": [1, 2]}))).unwrap(), r#"{"a":[1,2]}"#);
        assert_eq!(text(Some(json!(5))).unwrap(), "5");
        let big = "x".repeat(MAX_CUSTOM_DATA + 1);
        assert!(matches!(text(Some(json!(big))), Err(ApiError::TooLarge(_))));
        let exact = "x".repeat(MAX_CUSTOM_DATA);
        assert_eq!(text(Some(json!(exact))).unwrap().len(), MAX_CUSTOM_DATA);
    }

    #[test]
    fn only_a_non_null_value_counts_as_given() {
        assert!(!given(&None));
        assert!(!given(&Some(Value::Null)));
        assert!(given(&Some(json!(""))));
        assert!(given(&Some(json!({}))));
    }
}
