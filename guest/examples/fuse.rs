//! Fuses a component with the native library: `cargo run -p meld --release
//! --example fuse -- IN OUT`. Used to compare the native build with the guest
//! run by `meld-host` (same bytes) and in benchmarks. `IN` may be a
//! component in the text format (a `.wat`).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = &args[..] else {
        eprintln!("usage: fuse IN OUT");
        std::process::exit(2);
    };
    let bytes = std::fs::read(input).unwrap_or_else(|e| {
        eprintln!("error: cannot read {input}: {e}");
        std::process::exit(1)
    });
    let bytes = match wat::parse_bytes(&bytes) {
        Ok(b) => b.into_owned(),
        Err(e) => {
            eprintln!("error: {input}: {e}");
            std::process::exit(1)
        }
    };
    match meld::fuse(&bytes) {
        Ok(out) => std::fs::write(output, out).unwrap_or_else(|e| {
            eprintln!("error: cannot write {output}: {e}");
            std::process::exit(1)
        }),
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            std::process::exit(1);
        }
    }
}
