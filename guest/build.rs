//! Compiles the intrinsics' text (`src/intrinsics/*.wat`) to binary at build
//! time, into `$OUT_DIR/<name>.wasm`, so that the fuser neither parses WAT at
//! run time nor carries a WAT parser (the guest component is smaller and
//! starts faster). A text that does not parse fails the build.
//!
//! Before parsing, every `{NAME}` in the text is replaced by the value of
//! the constant `NAME` of the runtime's ABI (`src/intrinsics/abi.rs`, which
//! the crate uses too); an unknown `{NAME}` fails the build.

use std::path::Path;

#[allow(dead_code)]
mod abi {
    include!("src/intrinsics/abi.rs");
}

fn main() {
    let src = Path::new("src/intrinsics");
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rerun-if-changed={}", src.display());
    for entry in std::fs::read_dir(src).expect("src/intrinsics exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_none_or(|e| e != "wat") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = substitute(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_stem().expect("a file name");
        let dest = Path::new(&out).join(name).with_extension("wasm");
        std::fs::write(&dest, wasm).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    }
}

/// `text` with every `{NAME}` (upper case, digits, `_`) replaced by the hex
/// value of `abi::NAME`.
fn substitute(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            let value = abi::TABLE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    format!("`{{{name}}}` is not a constant of src/intrinsics/abi.rs")
                })?;
            out.push_str(&format!("{value:#x}"));
            rest = &after[name_len + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}
