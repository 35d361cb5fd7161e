//! Compiles the intrinsics' text (`src/intrinsics/*.wat`) to binary at build
//! time, into `$OUT_DIR/<name>.wasm`, so that the fuser neither parses WAT at
//! run time nor carries a WAT parser (the guest component is smaller and
//! starts faster). A text that does not parse fails the build.

use std::path::Path;

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
        let wasm = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_stem().expect("a file name");
        let dest = Path::new(&out).join(name).with_extension("wasm");
        std::fs::write(&dest, wasm).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    }
}
