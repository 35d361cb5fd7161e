//! Stage 5, **validate**: every output is checked before it is returned.

use crate::diagnostics::{Code, Diagnostic};
use wasmparser::Validator;

/// Validates `bytes` (a component or a core module Meld produced) with the
/// features Meld accepts on input.
///
/// # Errors
/// E0100: an invalid output is a bug in Meld, never returned as bytes.
pub fn validate(bytes: &[u8], what: &str) -> Result<(), Diagnostic> {
    Validator::new_with_features(crate::translate::features())
        .validate_all(bytes)
        .map(|_| ())
        .map_err(|e| {
            Diagnostic::error(
                Code::Internal,
                format!(
                    "internal error: the {what} Meld produced is invalid: {}",
                    e.message()
                ),
            )
            .at(e.offset() as u64)
            .note("this is a bug in Meld; the offset is in the produced bytes, not the input")
        })
}
