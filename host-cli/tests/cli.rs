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
        "--wat",
        "text format (WAT)",
        "symbolic link",
    ] {
        assert!(
            text.contains(needle),
            "`fuse --help` lacks {needle:?}:\n{text}"
        );
    }

    for (cmd, needles) in [
        (
            "run",
            &["--invoke <CALL>", "WAVE", "traps exits with 2"][..],
        ),
        (
            "inspect",
            &["--json", "fused_by", "nested compositions"][..],
        ),
    ] {
        let out = meld(&[cmd, "--help"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        for needle in needles {
            assert!(
                text.contains(needle),
                "`{cmd} --help` lacks {needle:?}:\n{text}"
            );
        }
    }
}

#[test]
fn version_names_meld_the_guest_and_wasmtime() {
    let out = meld(&["--version"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], format!("meld-host {}", env!("CARGO_PKG_VERSION")));
    let digest = lines[1]
        .split("fnv1a-128 ")
        .nth(1)
        .and_then(|rest| rest.get(..32))
        .unwrap_or_else(|| panic!("no digest: {text}"));
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    assert!(lines[1].starts_with(&format!("guest:    meld {}", env!("CARGO_PKG_VERSION"))));
    assert_eq!(lines[2], "wasmtime: 48.0.8");

    // `-V` on one line, the identity that internal errors note.
    let out = meld(&["-V"]).output().unwrap();
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "meld-host {} (guest {digest}, wasmtime 48.0.8)",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(stdout(&out).trim(), meld_host::identity());
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
        text.contains("//   component 0 --[example:chain/leaf]--> component 1\n"),
        "{text}"
    );
    assert!(
        text.contains("//   component 1 --[example:chain/middle]--> component 2\n"),
        "{text}"
    );
    assert!(
        text.contains("//   wasi:cli/run@0.2.0 <-- component 2\n"),
        "{text}"
    );
}

#[test]
fn inspect_rejects_bad_input_with_a_diagnostic() {
    let out = run_with_stdin(meld(&["inspect", "-"]), b"not wasm at all");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(has_diagnostic(&err), "{err}");
    assert!(err.contains("error: could not inspect `<stdin>`"), "{err}");
    assert!(!err.contains("could not fuse"), "{err}");
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

// ---------------------------------------------------------------------------
// Output paths: what `-o PATH` writes through, and what it replaces.

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// The fused bytes of `examples/calc.wasm`, written to a regular file once.
fn calc_fused() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = scratch("calc-reference");
        let out_path = dir.join("calc.fused.wasm");
        let out = fuse_to(&example("calc.wasm"), &out_path);
        assert!(out.status.success(), "{}", stderr(&out));
        let bytes = std::fs::read(&out_path).unwrap();
        assert!(bytes.starts_with(b"\0asm\x0d\0\x01\0"), "not a component");
        bytes
    })
}

fn fuse_to(input: &Path, output: &Path) -> Output {
    meld(&[
        "fuse",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
    .output()
    .unwrap()
}

#[test]
fn output_to_a_fifo_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let expected = calc_fused();
    let dir = scratch("fifo");
    let fifo = dir.join("out.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = fuse_to(&example("calc.wasm"), &fifo);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = reader.join().unwrap();
    assert_eq!(read.len(), expected.len());
    assert!(read == expected, "the reader got other bytes");
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    assert_eq!(files_in(&dir), ["out.fifo"], "leftover files");
}

#[test]
fn output_through_a_symlink_writes_its_target() {
    let expected = calc_fused();
    let dir = scratch("symlink");
    std::fs::create_dir_all(dir.join("real")).unwrap();
    let target = dir.join("real/out.wasm");
    std::fs::write(&target, b"previous").unwrap();
    let link = dir.join("link.wasm");
    std::os::unix::fs::symlink("real/out.wasm", &link).unwrap();
    let out = fuse_to(&example("calc.wasm"), &link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("real/out.wasm")
    );
    assert!(std::fs::read(&target).unwrap() == expected);
    assert_eq!(files_in(&dir.join("real")), ["out.wasm"], "leftover files");

    // A dangling link creates its target; the link stays.
    let dangling = dir.join("dangling.wasm");
    std::os::unix::fs::symlink("real/new.wasm", &dangling).unwrap();
    let out = fuse_to(&example("calc.wasm"), &dangling);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(dir.join("real/new.wasm")).unwrap() == expected);

    // On an error the target is untouched.
    let bad = dir.join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x0d\0\x01\0\x99").unwrap();
    let out = fuse_to(&bad, &link);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(std::fs::read(&target).unwrap() == expected);
}

/// A character device is written, never replaced: a stand-in for
/// `/dev/null` made with `mknod` (same major/minor) in a scratch directory,
/// so that the test never risks the system's own. Needs root (CAP_MKNOD),
/// which CI has; elsewhere the test says it skipped.
#[test]
fn output_to_a_character_device_is_written_in_place() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let _ = calc_fused();
    let dir = scratch("chardev");
    let null = dir.join("null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .output()
        .unwrap();
    if !made.status.success() {
        let root = Command::new("id").arg("-u").output().unwrap();
        assert_ne!(
            stdout(&root).trim(),
            "0",
            "mknod failed as root: {}",
            stderr(&made)
        );
        eprintln!("skipped: mknod needs root: {}", stderr(&made));
        return;
    }
    let before = std::fs::symlink_metadata(&null).unwrap();
    let out = fuse_to(&example("calc.wasm"), &null);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = std::fs::symlink_metadata(&null).unwrap();
    assert!(
        after.file_type().is_char_device(),
        "replaced: {:?}",
        after.file_type()
    );
    assert_eq!((after.ino(), after.rdev()), (before.ino(), before.rdev()));
    assert_eq!(files_in(&dir), ["null"], "leftover files");
    // The system's own /dev/null, through its path, stays a device too.
    let out = fuse_to(&example("calc.wasm"), Path::new("/dev/null"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

/// `/dev/stdout` names a descriptor (here a pipe): written in place.
#[test]
fn output_to_dev_stdout_goes_to_stdout() {
    let expected = calc_fused();
    let out = meld(&[
        "fuse",
        example("calc.wasm").to_str().unwrap(),
        "-o",
        "/dev/stdout",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == expected, "stdout holds other bytes");
}

#[test]
fn output_replaces_a_regular_file_atomically_and_keeps_its_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let expected = calc_fused();
    let dir = scratch("regular");
    let output = dir.join("out.wasm");
    std::fs::write(&output, b"previous").unwrap();
    std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&output).unwrap();
    let out = fuse_to(&example("calc.wasm"), &output);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = std::fs::metadata(&output).unwrap();
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    assert_ne!(after.ino(), before.ino(), "written in place, not replaced");
    assert!(std::fs::read(&output).unwrap() == expected);
    assert_eq!(files_in(&dir), ["out.wasm"], "leftover files");
}

#[test]
fn output_to_a_directory_is_an_error() {
    let dir = scratch("directory");
    let out = fuse_to(&example("calc.wasm"), &dir);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert!(files_in(&dir).is_empty());
}

// ---------------------------------------------------------------------------
// run --invoke

#[test]
fn run_invoke_calls_a_library_composition_before_and_after_fusing() {
    // res-export.wat: two inner components, the outer world exports
    // `meld:t/api` (a resource and functions); not a command.
    let input = fixture("res-export.wat");
    let dir = scratch("invoke-library");
    let fused = dir.join("fused.wasm");
    let out = fuse_to(&input, &fused);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in [&input, &fused] {
        let out = meld(&["run", "--invoke", "drops()", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        assert_eq!(stdout(&out), "0\n", "{}", file.display());

        // Not a command: without --invoke, a rendered error naming what it
        // exports, exit 1.
        let out = meld(&["run", file.to_str().unwrap()]).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with("error: this component is not a command"),
            "{err}"
        );
        assert!(err.contains(&format!("--> {}", file.display())), "{err}");
        assert!(err.contains("`meld:t/api#drops`"), "{err}");

        // No such function; wrong arguments.
        let out = meld(&["run", "--invoke", "nope()", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("no function named `nope`"),
            "{}",
            stderr(&out)
        );
        let out = meld(&["run", "--invoke", "drops(1)", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("arguments"), "{}", stderr(&out));
    }
}

#[test]
fn run_invoke_runs_the_bench_example() {
    let input = example("bench.wasm");
    let dir = scratch("invoke-bench");
    let fused = dir.join("bench.fused.wasm");
    let out = fuse_to(&input, &fused);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut results = Vec::new();
    for file in [&input, &fused] {
        let out = meld(&["run", "--invoke", "run(mix, 3)", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        let text = stdout(&out);
        let checksum: u64 = text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a u64: {text:?}"));
        results.push(checksum);
    }
    assert_eq!(results[0], results[1], "fused and unfused differ");
    assert_ne!(results[0], 0);
}

/// A component that traps when called: exit status 2 and a rendered
/// message naming the function and the trap.
#[test]
fn run_invoke_reports_a_trap_with_exit_status_2() {
    let dir = scratch("invoke-trap");
    let wat = dir.join("trap.wat");
    std::fs::write(
        &wat,
        r#"(component
             (core module $m (func (export "boom") (result i32) unreachable))
             (core instance $i (instantiate $m))
             (func (export "boom") (result u32) (canon lift (core func $i "boom"))))"#,
    )
    .unwrap();
    let out = meld(&["run", "--invoke", "boom()", wat.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: the component trapped in `boom`"),
        "{err}"
    );
    assert!(err.contains("unreachable"), "{err}");
    assert!(stdout(&out).is_empty());

    // Not a component at all: exit 1.
    let core = dir.join("core.wat");
    std::fs::write(&core, "(module)").unwrap();
    let out = meld(&["run", core.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("core module, not a component"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_a_command_and_its_exit_status() {
    let out = meld(&["run", example("calc.wasm").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!out.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// WAT input and output

#[test]
fn wat_input_fuses_like_its_binary() {
    let wat = fixture("res-export.wat");
    let dir = scratch("wat-input");
    let binary = dir.join("res-export.wasm");
    std::fs::write(&binary, wat::parse_file(&wat).unwrap()).unwrap();
    let (from_text, from_binary) = (dir.join("a.wasm"), dir.join("b.wasm"));
    assert!(fuse_to(&wat, &from_text).status.success());
    assert!(fuse_to(&binary, &from_binary).status.success());
    assert!(std::fs::read(&from_text).unwrap() == std::fs::read(&from_binary).unwrap());

    // Inspect reads text too.
    let out = meld(&["inspect", wat.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 components"), "{}", stdout(&out));
}

#[test]
fn fuse_t_prints_the_output_as_wat() {
    let dir = scratch("wat-output");
    let out = meld(&[
        "fuse",
        "-t",
        fixture("res-export.wat").to_str().unwrap(),
        "-o",
        "-",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("(component"),
        "{}",
        &text[..text.len().min(200)]
    );
    // The text parses back to a valid component that runs like the binary.
    let back = dir.join("back.wat");
    std::fs::write(&back, &text).unwrap();
    let out = meld(&["run", "--invoke", "drops()", back.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0\n");
}

#[test]
fn text_that_is_not_wasm_is_diagnosed_as_such() {
    let dir = scratch("not-wasm-text");
    // WAT with a syntax error: E0014 with the byte offset and line.
    let bad = dir.join("bad.wat");
    std::fs::write(&bad, "(component\n  (core module (func i32.const x)))\n").unwrap();
    for cmd in ["fuse", "inspect", "run"] {
        let mut args = vec![cmd, bad.to_str().unwrap()];
        if cmd == "fuse" {
            args.extend(["-o", "-"]);
        }
        let out = meld(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            err.contains("error[E0014]: the input is WebAssembly text (WAT) that does not parse"),
            "{cmd}: {err}"
        );
        let offset = "(component\n  (core module (func i32.const ".len();
        assert!(err.contains(&format!("@ byte {offset:#x}")), "{cmd}: {err}");
        assert!(err.contains("at line 2, column 32"), "{cmd}: {err}");
        assert!(err.contains(&format!("could not {cmd}")), "{cmd}: {err}");
    }
    // Text that is not WAT (a WIT file), and bytes that are not text.
    let wit = dir.join("world.wit");
    std::fs::write(&wit, "package a:b;\nworld w {}\n").unwrap();
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, random_bytes(64, 3)).unwrap();
    for (file, note) in [
        (&wit, "the input is text, but not WebAssembly text"),
        (&junk, "not text either"),
    ] {
        for cmd in ["fuse", "inspect", "run"] {
            let mut args = vec![cmd, file.to_str().unwrap()];
            if cmd == "fuse" {
                args.extend(["-o", "-"]);
            }
            let out = meld(&args).output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
            assert!(err.contains(note), "{cmd} {}: {err}", file.display());
        }
    }
}

// ---------------------------------------------------------------------------
// inspect

#[test]
fn inspect_looks_through_nested_compositions() {
    let out = meld(&["inspect", example("chain.wasm").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("// 3 components:"), "{text}");
    assert!(text.contains("between components"), "{text}");
    // The WASI fan-out: one group for the users, one line per package.
    assert!(
        text.contains(
            "// from the host (users <-- imports):\n//   component 0, component 1, component 2 <--\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\n//     wasi:io/{error, poll, streams}@0.2.6\n"),
        "{text}"
    );
    assert!(!text.contains("fused by"), "{text}");

    let out = meld(&["inspect", "--json", example("chain.wasm").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    let components: Vec<&str> = nodes
        .iter()
        .filter(|n| n["kind"] == "component")
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(components.len(), 3, "{components:?}");
    assert!(
        json["world"]
            .as_str()
            .unwrap()
            .contains("export wasi:cli/run@0.2.0;")
    );
    assert!(json["fused_by"].is_null());
    let inner: Vec<&str> = json["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let kind =
                |id: &serde_json::Value| nodes[id.as_u64().unwrap() as usize]["kind"].clone();
            kind(&e["source"]) == "component" && kind(&e["target"]) == "component"
        })
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(inner, ["example:chain/leaf", "example:chain/middle"]);
}

#[test]
fn inspect_says_a_fused_file_is_fused() {
    let dir = scratch("inspect-fused");
    let fused = dir.join("chain.fused.wasm");
    assert!(fuse_to(&example("chain.wasm"), &fused).status.success());
    let out = meld(&["inspect", fused.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("// fused by meld {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("// 1 component:"), "{text}");
}
