//! Runs the built `meld-host` binary. With the guest as it is today every
//! fuse is rejected, so these tests check the error path: diagnostics on
//! stderr, exit status 1, no output file. The success path is tested in
//! `tests/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_meld-host");

/// A cache directory shared by the tests of this file (kept between test
/// runs: compiling the guest takes a minute or more in a debug build), warmed
/// once so that parallel tests do not all compile the guest at once.
fn cache_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("meld-host-cli-cache");
        let out = Command::new(BIN)
            .args(["fuse", "-", "-o", "-", "--verbose"])
            .env("MELD_CACHE_DIR", &dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "warm-up: {err}");
        assert!(
            err.contains("compiled, cached in") || err.contains("loaded from cache"),
            "warm-up: {err}"
        );
        dir
    })
}

/// A fresh empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("meld-host-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn meld(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("MELD_CACHE_DIR", cache_dir())
        .stdin(Stdio::null());
    cmd
}

fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `text` holds a rendered diagnostic: `error[E` + four digits + `]: `.
fn has_diagnostic(text: &str) -> bool {
    text.match_indices("error[E").any(|(i, _)| {
        let rest = &text.as_bytes()[i + "error[E".len()..];
        rest.len() >= 7 && rest[..4].iter().all(u8::is_ascii_digit) && rest[4..7] == *b"]: "
    })
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// Fuses `bytes` from a file; asserts the error path and that nothing but
/// the input is left in the directory.
fn assert_rejected_file(test: &str, bytes: &[u8]) {
    let dir = scratch(test);
    let input = dir.join("in.wasm");
    let output = dir.join("out.wasm");
    std::fs::write(&input, bytes).unwrap();
    let out = meld(&[
        "fuse",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(has_diagnostic(&err), "no diagnostic in stderr: {err}");
    assert!(
        err.contains(&format!("--> {}", input.display())),
        "stderr: {err}"
    );
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    assert!(!output.exists(), "output file was created");
    assert_eq!(files_in(&dir), ["in.wasm"], "leftover files");
}

#[test]
fn help_explains_meld_and_options() {
    let out = meld(&["--help"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in ["component", "core module", "fuse", "Exit status"] {
        assert!(text.contains(needle), "`--help` lacks {needle:?}:\n{text}");
    }

    let out = meld(&["fuse", "--help"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "<IN>",
        "--output <OUT>",
        "--no-cache",
        "--verbose",
        "--emit <KIND>",
        "cm32p2_memory",
        "--max-memory <SIZE>",
        "--timeout <SECS>",
        "stdin",
        "stdout",
    ] {
        assert!(
            text.contains(needle),
            "`fuse --help` lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn version() {
    let out = meld(&["--version"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("meld-host {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn empty_file_is_rejected() {
    assert_rejected_file("empty", b"");
}

#[test]
fn random_bytes_are_rejected() {
    assert_rejected_file("random", &random_bytes(4096, 0x5eed));
}

#[test]
fn random_bytes_with_wasm_magic_are_rejected() {
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    bytes.extend(random_bytes(1000, 42));
    assert_rejected_file("random-magic", &bytes);
}

#[test]
fn existing_output_is_left_untouched() {
    let dir = scratch("untouched");
    let input = dir.join("in.wasm");
    let output = dir.join("out.wasm");
    std::fs::write(&input, b"").unwrap();
    std::fs::write(&output, b"previous").unwrap();
    let out = meld(&[
        "fuse",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(std::fs::read(&output).unwrap(), b"previous");
    assert_eq!(files_in(&dir), ["in.wasm", "out.wasm"]);
}

#[test]
fn stdin_and_stdout_dash() {
    let dir = scratch("stdin");
    let output = dir.join("out.wasm");
    let out = run_with_stdin(
        meld(&["fuse", "-", "-o", output.to_str().unwrap()]),
        &random_bytes(100, 7),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(has_diagnostic(&err), "stderr: {err}");
    assert!(err.contains("--> <stdin>"), "stderr: {err}");
    assert!(
        files_in(&dir).is_empty(),
        "leftover files: {:?}",
        files_in(&dir)
    );

    // `-o -`: on error nothing at all goes to stdout.
    let out = run_with_stdin(meld(&["fuse", "-", "-o", "-"]), b"");
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(has_diagnostic(&stderr(&out)), "stderr: {}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_input_is_an_io_error() {
    let dir = scratch("missing");
    let output = dir.join("out.wasm");
    let out = meld(&[
        "fuse",
        dir.join("nope.wasm").to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read"),
        "stderr: {}",
        stderr(&out)
    );
    assert!(files_in(&dir).is_empty());
}

#[test]
fn output_is_required() {
    let out = meld(&["fuse", "in.wasm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--output"),
        "stderr: {}",
        stderr(&out)
    );
}

#[test]
fn second_run_uses_the_cache() {
    // `cache_dir()` has run meld-host once already (compiling and writing the
    // cache entry if it was not there).
    let cache = cache_dir();
    let entries = files_in(cache);
    assert_eq!(entries.len(), 1, "cache entries: {entries:?}");
    assert!(
        entries[0].starts_with("guest-") && entries[0].ends_with(".cwasm"),
        "{entries:?}"
    );
    let out = meld(&["fuse", "-", "-o", "-", "--verbose"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("loaded from cache"), "stderr: {err}");
    assert!(has_diagnostic(&err), "stderr: {err}");
    assert_eq!(files_in(cache), entries);
}

#[cfg_attr(
    debug_assertions,
    ignore = "compiles the guest: a minute or more in a debug build"
)]
#[test]
fn no_cache_does_not_touch_the_cache() {
    let dir = scratch("no-cache");
    let cache = dir.join("cache");
    let out = Command::new(BIN)
        .args(["fuse", "-", "-o", "-", "--no-cache", "--verbose"])
        .env("MELD_CACHE_DIR", &cache)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("cache disabled"),
        "stderr: {}",
        stderr(&out)
    );
    assert!(has_diagnostic(&stderr(&out)));
    assert!(!cache.exists());
}

#[test]
fn library_reports_diagnostics() {
    let mut fuser = meld_host::Fuser::with_cache_dir(Some(cache_dir())).unwrap();
    for input in [&b""[..], &random_bytes(64, 1)] {
        let diags = fuser.fuse(input).unwrap().unwrap_err();
        assert!(!diags.is_empty());
        assert!(
            diags
                .iter()
                .any(|d| d.severity == meld_host::Severity::Error)
        );
        for d in &diags {
            assert!(
                d.code.len() == 5 && d.code.starts_with('E'),
                "code {:?}",
                d.code
            );
            assert!(
                has_diagnostic(&meld_host::render(d, "x.wasm"))
                    || d.severity != meld_host::Severity::Error
            );
        }
    }
}

#[test]
fn inspect_prints_the_world_and_the_wiring() {
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/chain.wasm");
    let out = meld(&["inspect", chain.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("export wasi:cli/run@0.2.0;"), "{text}");
    assert!(
        text.contains("component `component 0: example:chain/middle` --[example:chain/middle]--> component `component 1: wasi:cli/run@0.2.0`"),
        "{text}"
    );
}

#[test]
fn inspect_rejects_bad_input_with_a_diagnostic() {
    let out = run_with_stdin(meld(&["inspect", "-"]), b"not wasm at all");
    assert_eq!(out.status.code(), Some(1));
    assert!(has_diagnostic(&stderr(&out)), "{}", stderr(&out));
}

/// `--emit core`: a core module (not a component) with the build target's
/// exports; `--emit` with an unknown kind is a usage error; bad input is
/// refused as for component output.
#[test]
fn emit_core_writes_a_core_module() {
    let dir = scratch("emit-core");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/calc.wasm");
    let output = dir.join("calc.core.wasm");
    let out = meld(&[
        "fuse",
        "--emit",
        "core",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&output).unwrap();
    assert_eq!(&bytes[..8], b"\0asm\x01\0\0\0", "not a core module");
    let module = wasmtime::Module::new(&wasmtime::Engine::default(), &bytes).unwrap();
    let exports: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
    for name in ["cm32p2_memory", "cm32p2_realloc", "cm32p2_initialize"] {
        assert!(
            exports.iter().any(|e| e == name),
            "{name} missing: {exports:?}"
        );
    }

    let out = meld(&[
        "fuse",
        "--emit",
        "bytecode",
        input.to_str().unwrap(),
        "-o",
        "-",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("core"), "{}", stderr(&out));

    let bad = dir.join("bad.wasm");
    std::fs::write(&bad, b"").unwrap();
    let out = meld(&["fuse", "--emit", "core", bad.to_str().unwrap(), "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("E0001"), "{}", stderr(&out));
}

/// `--max-memory` and `--timeout` bound the fuser: running out of either is
/// a diagnostic with its own code (E0012, E0013), exit status 1 and no
/// output file, never a crash; generous limits fuse as usual.
#[test]
fn limits_are_reported_as_diagnostics() {
    let dir = scratch("limits");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/calc.wasm");
    let input = input.to_str().unwrap();
    let output = dir.join("out.wasm");
    let out_path = output.to_str().unwrap();
    for (flags, code) in [
        (&["--max-memory", "2MiB"][..], "E0012"),
        (&["--timeout", "1ms"][..], "E0013"),
    ] {
        let mut args = vec!["fuse", input, "-o", out_path];
        args.extend_from_slice(flags);
        let out = meld(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {err}");
        assert!(err.contains(&format!("error[{code}]")), "{flags:?}: {err}");
        assert!(
            err.contains(flags[0]),
            "{flags:?}: the note names the flag: {err}"
        );
        assert!(!output.exists(), "{flags:?}: an output file was written");
    }
    let out = meld(&[
        "fuse",
        input,
        "-o",
        out_path,
        "--max-memory",
        "1GiB",
        "--timeout",
        "120",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(output.exists());
    for bad in [&["--max-memory", "12parsecs"][..], &["--timeout", "-1"][..]] {
        let mut args = vec!["fuse", input, "-o", "-"];
        args.extend_from_slice(bad);
        let out = meld(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}
