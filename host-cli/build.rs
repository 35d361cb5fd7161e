//! Builds the Meld guest (crate `meld` in `guest/`) for `wasm32-wasip2` in
//! release mode and leaves it at `$OUT_DIR/meld.wasm`, where `src/lib.rs`
//! embeds it with `include_bytes!`.
//!
//! The guest is built by a nested `cargo build` with a target directory of its
//! own (`<target-dir>/guest`): the outer cargo holds the lock on its own target
//! directory for the whole build, so sharing it would deadlock. Using one guest
//! target directory for every host profile (dev, release, test) means the guest
//! and its dependencies are compiled once, not once per host profile.
//!
//! Environment:
//! - `MELD_GUEST_WASM=path`: embed this prebuilt guest component instead of
//!   building one (it is still checked to be a component).
//! - `MELD_GUEST_TARGET_DIR=dir`: target directory for the nested build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The preamble of a component binary: `\0asm`, then version 0x0d and layer 1.
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// The preamble of a core module binary: `\0asm`, version 1, layer 0.
const MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

fn main() {
    // Cargo always sets CARGO_MANIFEST_DIR and OUT_DIR for build scripts, and
    // host-cli/ lives inside the workspace, so it has a parent: none of these
    // can fail, and none sees Meld's input (this runs at build time).
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());

    for path in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=MELD_GUEST_WASM");
    println!("cargo:rerun-if-env-changed=MELD_GUEST_TARGET_DIR");

    let wasm = match env::var_os("MELD_GUEST_WASM") {
        Some(prebuilt) => {
            let prebuilt = PathBuf::from(prebuilt);
            println!("cargo:rerun-if-changed={}", prebuilt.display());
            prebuilt
        }
        None => build_guest(&workspace, &out_dir),
    };

    let bytes = std::fs::read(&wasm)
        .unwrap_or_else(|e| fail(&format!("cannot read the guest `{}`: {e}", wasm.display())));
    check_component(&wasm, &bytes);
    std::fs::write(out_dir.join("meld.wasm"), &bytes).unwrap_or_else(|e| {
        fail(&format!(
            "cannot write `{}/meld.wasm`: {e}",
            out_dir.display()
        ))
    });
    // The guest's digest, part of the compile-cache key (see `src/lib.rs`).
    let mut h = Fnv128::default();
    h.write(&bytes);
    std::fs::write(out_dir.join("meld.wasm.fnv128"), format!("{:032x}", h.0)).unwrap_or_else(|e| {
        fail(&format!(
            "cannot write `{}/meld.wasm.fnv128`: {e}",
            out_dir.display()
        ))
    });
    // The wasmtime release meld-host is built with, for `--version`.
    let wasmtime = locked_version(&workspace.join("Cargo.lock"), "wasmtime")
        .unwrap_or_else(|| "unknown".to_string());
    std::fs::write(out_dir.join("wasmtime.version"), wasmtime).unwrap_or_else(|e| {
        fail(&format!(
            "cannot write `{}/wasmtime.version`: {e}",
            out_dir.display()
        ))
    });
}

/// The version of the package `name` in the lock file at `lock`, if it is
/// there once (`[[package]]` blocks of `name = "..."` and `version = "..."`).
fn locked_version(lock: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(lock).ok()?;
    let field = |block: &str, key: &str| {
        block.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.trim().strip_prefix('=')?.trim();
            Some(value.trim_matches('"').to_string())
        })
    };
    let mut versions = text
        .split("[[package]]")
        .filter(|block| field(block, "name").as_deref() == Some(name))
        .filter_map(|block| field(block, "version"));
    let version = versions.next()?;
    versions.next().is_none().then_some(version)
}

use std::hash::Hasher;
include!("src/fnv.rs");

/// Runs `cargo build -p meld --release --target wasm32-wasip2` in a target
/// directory of its own and returns the path of the produced `meld.wasm`.
fn build_guest(workspace: &Path, out_dir: &Path) -> PathBuf {
    let target_dir = match env::var_os("MELD_GUEST_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => guest_target_dir(out_dir),
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "-p",
            "meld",
            "--release",
            "--target",
            "wasm32-wasip2",
        ])
        .env("CARGO_TARGET_DIR", &target_dir);
    // Flags meant for the host build must not leak into the wasm build; nor
    // may a wrapper (clippy, coverage) that the outer cargo was run with.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    // Variables cargo sets for build scripts (`TARGET`, `PROFILE`, `OPT_LEVEL`,
    // `CARGO_CFG_*`, ...) describe the host build; drop them too.
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
            || matches!(
                key,
                "TARGET"
                    | "HOST"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "OUT_DIR"
                    | "RUSTC_LINKER"
            )
        {
            cmd.env_remove(key);
        }
    }

    let start = Instant::now();
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo to build the guest: {e}")));
    let elapsed = start.elapsed();
    // Not a `cargo:` directive: kept in the build script's `output` file.
    println!(
        "meld guest build: {:.1}s in {}",
        elapsed.as_secs_f64(),
        target_dir.display()
    );
    if !status.success() {
        fail(&format!(
            "building the guest failed ({status}); run `cargo build -p meld --release --target wasm32-wasip2` to see why \
             (the targets must be installed: `rustup target add wasm32-wasip2 wasm32-unknown-unknown`)"
        ));
    }
    target_dir
        .join("wasm32-wasip2")
        .join("release")
        .join("meld.wasm")
}

/// `<target-dir>/guest`, where `<target-dir>` is the outer build's target
/// directory (the nearest ancestor of `OUT_DIR` holding cargo's
/// `CACHEDIR.TAG`); `$OUT_DIR/guest-target` if there is none.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|dir| dir.join("guest"))
        .unwrap_or_else(|| out_dir.join("guest-target"))
}

fn check_component(path: &Path, bytes: &[u8]) {
    if bytes.starts_with(&COMPONENT_HEADER) {
        return;
    }
    let what = if bytes.starts_with(&MODULE_HEADER) {
        "a core wasm module"
    } else if bytes.starts_with(b"\0asm") {
        "wasm of an unknown version or layer"
    } else {
        "not wasm at all"
    };
    fail(&format!(
        "the guest `{}` is {what}, not a component; meld-host needs the component \
         that `cargo build -p meld --release --target wasm32-wasip2` produces",
        path.display()
    ));
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
