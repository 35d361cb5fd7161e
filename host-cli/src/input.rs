//! Reading an input: a path or `-` (stdin), in the WebAssembly binary or text
//! format, as `wasm-tools` and `wasmtime` accept it.
//!
//! Text (WAT) is converted to the binary format here, in meld-host, so that the
//! guest (the fuser) stays free of a text parser: the guest only ever sees
//! binary bytes. Byte offsets in the guest's diagnostics then refer to that
//! binary; a WAT parse error reports its offset in the text itself.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;

use crate::{Diagnostic, Severity};

/// Diagnostic code of input text that looks like WAT but does not parse.
pub const TEXT_PARSE_CODE: &str = "E0014";

/// What an input's bytes look like, before any parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// They start with the wasm magic `\0asm`.
    Binary,
    /// UTF-8 text whose first token (after whitespace and comments) is `(`.
    Text,
    /// UTF-8 text that is not WAT (a WIT file, a shell script, ...).
    OtherText,
    /// Neither wasm nor UTF-8 text.
    Unknown,
}

impl Format {
    /// Classifies `bytes` (`wat::Detect`, plus whether they are text at all).
    pub fn of(bytes: &[u8]) -> Format {
        match wat::Detect::from_bytes(bytes) {
            wat::Detect::WasmBinary => Format::Binary,
            wat::Detect::WasmText => Format::Text,
            wat::Detect::Unknown if !bytes.is_empty() && std::str::from_utf8(bytes).is_ok() => {
                Format::OtherText
            }
            wat::Detect::Unknown => Format::Unknown,
        }
    }

    /// A note for a diagnostic that says the bytes are not wasm: whether they
    /// look like text, and so why they were not read as WAT either. `None`
    /// for binary and WAT, which the diagnostic already covers.
    pub fn not_wasm_note(self) -> Option<&'static str> {
        match self {
            Format::Binary | Format::Text => None,
            Format::OtherText => Some(
                "the input is text, but not WebAssembly text: WAT starts with `(component` or `(module`",
            ),
            Format::Unknown => Some(
                "the input is not text either (not UTF-8), so it is neither the binary nor the text format of WebAssembly",
            ),
        }
    }
}

/// An input read and, if it was text, converted to binary.
#[derive(Debug, Clone)]
pub struct Input {
    /// How diagnostics name it: its path, or `<stdin>`.
    pub name: String,
    /// The binary bytes (the text converted when [`Input::format`] is
    /// [`Format::Text`]; else the bytes as read).
    pub bytes: Vec<u8>,
    /// What the bytes read looked like.
    pub format: Format,
}

/// Why an input could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file (or stdin) could not be read: an I/O error, as a message.
    Io(String),
    /// The input is WAT that does not parse: a diagnostic with code
    /// [`TEXT_PARSE_CODE`] and the byte offset in the text.
    Text(Box<Diagnostic>),
}

/// Whether `path` is `-`, which means stdin (or stdout for an output).
pub fn is_dash(path: &Path) -> bool {
    path.as_os_str() == OsStr::new("-")
}

/// How diagnostics name `path`: the path, or `<stdin>` for `-`.
pub fn display_name(path: &Path) -> String {
    if is_dash(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads `path` (`-` for stdin) and converts WAT to binary.
///
/// # Errors
/// [`ReadError::Io`] when the bytes cannot be read, [`ReadError::Text`] when
/// they are WAT that does not parse. Bytes that are neither are returned as
/// they are, for the consumer to diagnose (with [`Format::not_wasm_note`]).
pub fn read(path: &Path) -> Result<Input, ReadError> {
    let name = display_name(path);
    let bytes = if is_dash(path) {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    }
    .map_err(|e| ReadError::Io(format!("cannot read `{name}`: {e}")))?;
    from_bytes(name, bytes)
}

/// Converts `bytes` read from the input called `name` as [`read`] does.
///
/// # Errors
/// As [`read`], without I/O.
pub fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Input, ReadError> {
    let format = Format::of(&bytes);
    let bytes = if format == Format::Text {
        parse_text(&bytes).map_err(|d| ReadError::Text(Box::new(d)))?
    } else {
        bytes
    };
    Ok(Input {
        name,
        bytes,
        format,
    })
}

/// Parses WAT (a `(component ...)` or `(module ...)`) to binary, as the `wat`
/// crate does, keeping the error's byte offset and line/column.
fn parse_text(bytes: &[u8]) -> Result<Vec<u8>, Diagnostic> {
    // `Format::Text` is only given for UTF-8.
    let text = std::str::from_utf8(bytes).map_err(|e| text_error(e.to_string(), None, ""))?;
    let parse = || -> Result<Vec<u8>, wast::Error> {
        let buffer = wast::parser::ParseBuffer::new(text)?;
        let mut wat: wast::Wat = wast::parser::parse(&buffer)?;
        wat.encode()
    };
    parse().map_err(|e| {
        let span = e.span();
        let (line, col) = span.linecol_in(text);
        text_error(e.message(), Some((span.offset(), line, col)), text)
    })
}

/// The diagnostic of WAT that does not parse; `at` is (byte offset, 0-based
/// line, 0-based column).
fn text_error(message: String, at: Option<(usize, usize, usize)>, text: &str) -> Diagnostic {
    let mut notes = Vec::new();
    if let Some((_, line, col)) = at {
        let source = text.lines().nth(line).unwrap_or("").trim_end();
        notes.push(format!(
            "at line {}, column {}: `{source}`",
            line + 1,
            col + 1
        ));
    }
    Diagnostic {
        severity: Severity::Error,
        code: TEXT_PARSE_CODE.to_string(),
        message: format!("the input is WebAssembly text (WAT) that does not parse: {message}"),
        offset: at.map(|(offset, _, _)| offset as u64),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(Format::of(b"\0asm\x0d\0\x01\0"), Format::Binary);
        assert_eq!(Format::of(b"  ;; hi\n(component)"), Format::Text);
        assert_eq!(Format::of(b"(; block ;) (module)"), Format::Text);
        assert_eq!(Format::of(b"package a:b;"), Format::OtherText);
        assert_eq!(Format::of(b"\x7fELF\x02\x01\x01\0\xff"), Format::Unknown);
        assert_eq!(Format::of(b""), Format::Unknown);
        assert!(
            Format::OtherText
                .not_wasm_note()
                .unwrap()
                .contains("is text")
        );
        assert!(
            Format::Unknown
                .not_wasm_note()
                .unwrap()
                .contains("not text")
        );
    }

    #[test]
    fn text_is_converted() {
        let input = from_bytes("a.wat".into(), b"(component)".to_vec()).unwrap();
        assert_eq!(input.format, Format::Text);
        assert_eq!(input.bytes, b"\0asm\x0d\0\x01\0");
        let binary = b"\0asm\x01\0\0\0".to_vec();
        assert_eq!(
            from_bytes("b".into(), binary.clone()).unwrap().bytes,
            binary
        );
    }

    #[test]
    fn text_errors_have_offsets() {
        let text = b"(component\n  (core module (func (result i32) i32.const x))\n)";
        let Err(ReadError::Text(d)) = from_bytes("a.wat".into(), text.to_vec()) else {
            panic!("bad WAT parsed");
        };
        assert_eq!(d.code, TEXT_PARSE_CODE);
        let x = text.iter().position(|&b| b == b'x').unwrap();
        assert_eq!(d.offset, Some(x as u64));
        let col = x - text.iter().position(|&b| b == b'\n').unwrap();
        assert_eq!(
            d.notes,
            [format!(
                "at line 2, column {col}: `  (core module (func (result i32) i32.const x))`"
            )]
        );
    }
}
