//! Compiles the intrinsics' text (`src/intrinsics/*.wat`) to binary at build
//! time, into `$OUT_DIR/<name>.wasm`, so that the fuser neither parses WAT at
//! run time nor carries a WAT parser (the guest component is smaller and
//! starts faster). A text that does not parse fails the build.
//!
//! The async runtime (`async-runtime/`, a `no_std` Rust crate without
//! dependencies) is compiled with rustc alone for `wasm32-unknown-unknown`
//! into `$OUT_DIR/async_runtime.wasm` (paths remapped, so the bytes do not
//! depend on where the checkout is).
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
    compile_async_runtime(Path::new(&out));
}

/// Compiles `async-runtime/src/lib.rs` to `out/async_runtime.wasm`.
fn compile_async_runtime(out: &Path) {
    let dir = Path::new("async-runtime/src");
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(dir).expect("async-runtime/src exists") {
        println!(
            "cargo:rerun-if-changed={}",
            entry.expect("readable directory entry").path().display()
        );
    }
    let src = std::fs::canonicalize(dir).expect("async-runtime/src exists");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let dest = out.join("async_runtime.wasm");
    let status = std::process::Command::new(rustc)
        .args([
            "--edition=2024",
            "--crate-type=cdylib",
            "--crate-name=meld_async_runtime",
            "--target=wasm32-unknown-unknown",
            "-Copt-level=s",
            "-Clto=fat",
            "-Ccodegen-units=1",
            "-Cpanic=abort",
            "-Cdebuginfo=0",
            "-Cstrip=symbols",
            // The runtime's own stack: its deepest use is the scheduler's
            // nested loops, a few hundred bytes a level.
            "-Clink-arg=-zstack-size=65536",
        ])
        .arg(format!(
            "--remap-path-prefix={}=meld-async-runtime",
            src.display()
        ))
        .arg(src.join("lib.rs"))
        .arg("-o")
        .arg(&dest)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("running rustc");
    if !status.success() {
        panic!(
            "compiling the async runtime failed; is the target installed? \
             (rustup target add wasm32-unknown-unknown)"
        );
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
