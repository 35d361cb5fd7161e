//! Cutting a `.wast` file into *units* for the conformance runner
//! ([`crate::conformance`]).
//!
//! A unit is one top-level component: the directive that defines it
//! (`(component …)`, `(component definition $C …)`, or a component inside
//! `(assert_trap …)` / `(assert_unlinkable …)`), plus every later directive
//! that acts on it: `(component instance $i $C)` of it, and every `invoke` /
//! `assert_return` / `assert_trap` / `assert_exhaustion` /
//! `assert_exception` / `assert_suspension` addressed to the current
//! instance while that instance comes from this component. In wasmtime's
//! wast runner every component instance lives in a store of its own, so a
//! unit runs exactly as it would inside the whole file.
//!
//! Components inside `assert_invalid` / `assert_malformed` are not units but
//! [`Invalid`] components (those whose text does not even parse have no
//! bytes and are left out). Top-level core modules, `register` and threads
//! do not occur in the reference tests; [`split`] refuses (panics on) files
//! that use them rather than splitting them wrongly.
//!
//! Two views of the same text are kept in step: the `wast` crate's parse
//! (what each directive is) and [`top_level`], a small scanner that finds
//! the byte range of every top-level s-expression (so that directives are
//! copied verbatim, on their original lines). The scanner knows wast's
//! lexical rules for what may hold an unbalanced parenthesis: strings (with
//! `\"` escapes), line comments `;; …` and nested block comments `(; … ;)`.

use std::collections::HashMap;
use std::fmt::Write as _;

use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, Wat};

/// One `.wast` file.
pub struct File {
    /// Path relative to the conformance folder, `/`-separated.
    pub name: String,
    /// The text.
    pub src: String,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl File {
    /// A file named `name` (relative, `/`-separated) with text `src`.
    pub fn new(name: impl Into<String>, src: impl Into<String>) -> File {
        let src = src.into();
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        File {
            name: name.into(),
            src,
            line_starts,
        }
    }

    /// The 1-based line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    /// The first source line of the directive on `line`, shortened.
    pub fn directive_on(&self, line: usize) -> String {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let text = self.src[start..].lines().next().unwrap_or("").trim();
        shorten(text, 80)
    }
}

/// A component and the directives that concern it.
pub struct Unit {
    /// Index of its [`File`] in the list given to [`split`].
    pub file: usize,
    /// 1-based number of the component within its file.
    pub index: usize,
    /// Line of the defining directive.
    pub line: usize,
    /// Byte range of the defining directive.
    pub def: (usize, usize),
    /// The defining directive re-spelt around other bytes: `header`, the
    /// bytes as a wast string, `trailer`.
    pub header: String,
    /// See `header`.
    pub trailer: String,
    /// The component's binary encoding.
    pub bytes: Vec<u8>,
    /// Byte ranges of the other directives, in order.
    pub rest: Vec<(usize, usize)>,
}

/// A component inside `assert_invalid` / `assert_malformed`.
pub struct Invalid {
    /// Index of its [`File`] in the list given to [`split`].
    pub file: usize,
    /// Line of the directive.
    pub line: usize,
    /// The component's binary encoding.
    pub bytes: Vec<u8>,
}

/// Byte ranges of the top-level s-expressions of a wast text: parentheses
/// inside strings, line comments and (nested) block comments do not count.
///
/// # Panics
/// On unbalanced parentheses.
pub fn top_level(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match (b[i], b.get(i + 1).copied()) {
            (b';', Some(b';')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            (b'(', Some(b';')) => {
                let mut nest = 0usize;
                while i < b.len() {
                    if b[i..].starts_with(b"(;") {
                        nest += 1;
                        i += 2;
                    } else if b[i..].starts_with(b";)") {
                        nest -= 1;
                        i += 2;
                        if nest == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            (b'"', _) => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            (b'(', _) => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            (b')', _) => {
                depth = depth.checked_sub(1).expect("unbalanced `)`");
                if depth == 0 {
                    out.push((start, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    assert_eq!(depth, 0, "unbalanced `(`");
    out
}

/// `bytes` as a wast string, every byte escaped (`"\00\61…"`).
pub fn wast_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3 + 2);
    s.push('"');
    for b in bytes {
        write!(s, "\\{b:02x}").unwrap();
    }
    s.push('"');
    s
}

/// `text` as a wast string: printable ASCII as it is, `"` and `\` escaped,
/// everything else as `\u{…}`.
pub fn wast_text_string(text: &str) -> String {
    let mut s = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c == ' ' || c.is_ascii_graphic() => s.push(c),
            c => write!(s, "\\u{{{:x}}}", c as u32).unwrap(),
        }
    }
    s.push('"');
    s
}

/// The identifier `$name`, quoted (`$"…"`) when `name` has characters a
/// plain identifier cannot hold.
pub fn wast_id(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-./:<=>?@\\^_`|~".contains(c));
    if plain {
        format!("${name}")
    } else {
        format!("${}", wast_text_string(name))
    }
}

fn is_component(q: &QuoteWat<'_>) -> bool {
    matches!(
        q,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    )
}

/// Splits one file (number `file_index` of the caller's list) into units
/// (appended to `units`) and invalid components (appended to `invalid`).
///
/// # Panics
/// When the file does not parse as wast, when the scanner and the parser
/// disagree on the directives, or when the file uses what this runner does
/// not split (top-level core modules, `register`, threads), naming the file
/// and line.
pub fn split(file_index: usize, file: &File, units: &mut Vec<Unit>, invalid: &mut Vec<Invalid>) {
    let name = &file.name;
    let mut lexer = Lexer::new(&file.src);
    // As `WastContext::run_wast` does.
    lexer.allow_confusing_unicode(name.ends_with("names.wast"));
    let buf = ParseBuffer::new_with_lexer(lexer).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ast = parser::parse::<Wast>(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    let extents = top_level(&file.src);
    assert_eq!(
        extents.len(),
        ast.directives.len(),
        "{name}: top-level s-expressions and wast directives differ"
    );

    let first = units.len();
    let mut by_name: HashMap<Option<String>, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    for (mut d, range) in ast.directives.into_iter().zip(extents) {
        let offset = d.span().offset();
        assert!(
            range.0 < offset && offset < range.1,
            "{name}: directive outside its extent"
        );
        let line = file.line_of(range.0);
        let at = format!("{name}:{line}");
        let mut new_unit = |bytes: Vec<u8>, header: String, trailer: String| {
            units.push(Unit {
                file: file_index,
                index: units.len() - first + 1,
                line,
                def: range,
                header,
                trailer,
                bytes,
                rest: Vec::new(),
            });
            units.len() - 1
        };
        match &mut d {
            WastDirective::Module(q) | WastDirective::ModuleDefinition(q) => {
                assert!(
                    is_component(q),
                    "{at}: top-level core modules are not supported"
                );
                let id = q.name().map(|id| id.name().to_string());
                let bytes = q.encode().unwrap_or_else(|e| panic!("{at}: {e}"));
                let definition = matches!(d, WastDirective::ModuleDefinition(_));
                let header = format!(
                    "(component{}{} binary ",
                    if definition { " definition" } else { "" },
                    id.as_deref()
                        .map(|n| format!(" {}", wast_id(n)))
                        .unwrap_or_default()
                );
                let u = new_unit(bytes, header, ")".into());
                if definition {
                    by_name.insert(id, u);
                } else {
                    current = Some(u);
                }
            }
            WastDirective::ModuleInstance { module, .. } => {
                let key = module.map(|id| id.name().to_string());
                let u = *by_name
                    .get(&key)
                    .unwrap_or_else(|| panic!("{at}: no definition named {key:?}"));
                units[u].rest.push(range);
                current = Some(u);
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(w),
                message,
                ..
            } => {
                let (bytes, trailer) = standalone(&at, w, message);
                new_unit(bytes, "(assert_trap (component binary ".into(), trailer);
            }
            WastDirective::AssertUnlinkable {
                module: w, message, ..
            } => {
                let (bytes, trailer) = standalone(&at, w, message);
                new_unit(
                    bytes,
                    "(assert_unlinkable (component binary ".into(),
                    trailer,
                );
            }
            WastDirective::AssertInvalid { module, .. }
            | WastDirective::AssertMalformed { module, .. } => {
                // Text that does not even parse has no bytes to fuse.
                if is_component(module)
                    && let Ok(bytes) = module.encode()
                {
                    invalid.push(Invalid {
                        file: file_index,
                        line,
                        bytes,
                    });
                }
            }
            WastDirective::Invoke(_)
            | WastDirective::AssertReturn { .. }
            | WastDirective::AssertTrap { .. }
            | WastDirective::AssertExhaustion { .. }
            | WastDirective::AssertException { .. }
            | WastDirective::AssertSuspension { .. } => {
                let u = current.unwrap_or_else(|| panic!("{at}: no current component"));
                units[u].rest.push(range);
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {}
            WastDirective::Register { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => {
                panic!("{at}: `register` and threads are not supported by this runner")
            }
        }
    }
}

/// The bytes of a component inside `assert_trap` / `assert_unlinkable`, and
/// the text that closes the directive after them.
fn standalone(at: &str, w: &mut Wat<'_>, message: &str) -> (Vec<u8>, String) {
    assert!(
        matches!(w, Wat::Component(_)),
        "{at}: core modules are not supported"
    );
    let bytes = w.encode().unwrap_or_else(|e| panic!("{at}: {e}"));
    (bytes, format!(") {})", wast_text_string(message)))
}

/// The wast text of a unit, with the original definition or with `fused`
/// (then every `assert_trap` expects any message: [`any_trap`]). Every
/// directive starts on its original line.
pub fn unit_text(file: &File, unit: &Unit, fused: Option<&[u8]>) -> String {
    let mut out = String::new();
    let mut line = 1;
    let def_text = match fused {
        None => file.src[unit.def.0..unit.def.1].to_string(),
        Some(bytes) => any_trap(&format!(
            "{}{}{}",
            unit.header,
            wast_string(bytes),
            unit.trailer
        )),
    };
    let parts = std::iter::once((unit.def.0, def_text)).chain(unit.rest.iter().map(|&(s, e)| {
        let text = &file.src[s..e];
        (
            s,
            if fused.is_some() {
                any_trap(text)
            } else {
                text.to_string()
            },
        )
    }));
    for (start, text) in parts {
        let target = file.line_of(start);
        while line < target {
            out.push('\n');
            line += 1;
        }
        line += text.matches('\n').count();
        out.push_str(&text);
        out.push('\n');
        line += 1;
    }
    out
}

/// For the fused side: an `assert_trap` expects any trap, not wasmtime's
/// message. wasmtime's texts ("unaligned pointer", "invalid variant
/// discriminant") come from its runtime and adapters; in the fused module the
/// same checks run in wasm, where a trap is `unreachable`. The directive still
/// must trap, on the same directive: the empty string is in every text.
/// Other directives are returned as they are.
pub fn any_trap(directive: &str) -> String {
    if !directive.trim_start().starts_with("(assert_trap") {
        return directive.to_string();
    }
    let Some(end) = directive.rfind('"') else {
        return directive.to_string();
    };
    let bytes = directive.as_bytes();
    let mut start = end;
    while start > 0 {
        start -= 1;
        if bytes[start] == b'"' && (start == 0 || bytes[start - 1] != b'\\') {
            return format!("{}\"\"{}", &directive[..start], &directive[end + 1..]);
        }
    }
    directive.to_string()
}

/// `s` on one line (runs of white space as one space), at most `max`
/// characters, with `…` where cut.
pub fn shorten(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        s
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `src` as file `name`; the top-level extents' texts, units and
    /// invalid components.
    fn split_one(name: &str, src: &str) -> (File, Vec<Unit>, Vec<Invalid>) {
        let file = File::new(name, src);
        let (mut units, mut invalid) = (Vec::new(), Vec::new());
        split(0, &file, &mut units, &mut invalid);
        (file, units, invalid)
    }

    fn texts(src: &str) -> Vec<&str> {
        top_level(src)
            .into_iter()
            .map(|(s, e)| &src[s..e])
            .collect()
    }

    /// The texts of a unit's other directives.
    fn rest<'a>(file: &'a File, unit: &Unit) -> Vec<&'a str> {
        unit.rest.iter().map(|&(s, e)| &file.src[s..e]).collect()
    }

    const ADD: &str = r#"(component
  (core module $m (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
  (core instance $i (instantiate $m))
  (func (export "f") (param "x" u32) (result u32) (canon lift (core func $i "f"))))"#;

    #[test]
    fn top_level_finds_each_s_expression() {
        let src = "(a (b c) d)\n  (e)(f (g (h)))\n";
        assert_eq!(texts(src), ["(a (b c) d)", "(e)", "(f (g (h)))"]);
        assert!(top_level("").is_empty());
        assert!(top_level("  \n ;; only a comment\n").is_empty());
    }

    #[test]
    fn top_level_skips_parens_in_strings() {
        let src = r#"(a ")(" "\")(") (b "(;" ";)" ";;")"#;
        assert_eq!(texts(src), [r#"(a ")(" "\")(")"#, r#"(b "(;" ";)" ";;")"#]);
        // An escaped backslash ends before the closing quote.
        let src = r#"(a "\\") (b)"#;
        assert_eq!(texts(src), [r#"(a "\\")"#, "(b)"]);
    }

    #[test]
    fn top_level_skips_parens_in_comments() {
        let src = ";; (unclosed\n(a ;; ) not a close\n b) (; (x ( ;)\n(c (; nested (; ( ;) ) ;) d)";
        assert_eq!(
            texts(src),
            ["(a ;; ) not a close\n b)", "(c (; nested (; ( ;) ) ;) d)"]
        );
        // A quote in a comment opens no string.
        assert_eq!(texts(";; \"\n(a) (; \" ;) (b)"), ["(a)", "(b)"]);
    }

    #[test]
    #[should_panic(expected = "unbalanced `)`")]
    fn top_level_refuses_a_stray_close() {
        top_level("(a))");
    }

    #[test]
    #[should_panic(expected = "unbalanced `(`")]
    fn top_level_refuses_an_unclosed_open() {
        top_level("(a (b)");
    }

    #[test]
    fn wast_strings_and_ids() {
        assert_eq!(wast_string(b"\0a\xff"), r#""\00\61\ff""#);
        assert_eq!(wast_string(b""), r#""""#);
        assert_eq!(wast_text_string(r#"a "b" \ é"#), r#""a \"b\" \\ \u{e9}""#);
        assert_eq!(wast_id("C"), "$C");
        assert_eq!(wast_id("a.b/c"), "$a.b/c");
        assert_eq!(wast_id("a b"), r#"$"a b""#);
        assert_eq!(wast_id(""), r#"$"""#);
    }

    #[test]
    fn a_component_and_its_directives_are_one_unit() {
        let src = format!(
            "{ADD}\n(assert_return (invoke \"f\" (u32.const 1)) (u32.const 2))\n\
             (invoke \"f\" (u32.const 0))\n\
             (assert_trap (invoke \"f\" (u32.const 7)) \"msg\")\n\
             (component)\n(assert_return (invoke \"g\"))\n"
        );
        let (file, units, invalid) = split_one("values/x.wast", &src);
        assert!(invalid.is_empty());
        assert_eq!(units.len(), 2);
        let (a, b) = (&units[0], &units[1]);
        assert_eq!((a.index, a.line, b.index, b.line), (1, 1, 2, 8));
        assert_eq!(&file.src[a.def.0..a.def.1], ADD);
        assert_eq!(a.bytes, wat::parse_str(ADD).unwrap());
        assert_eq!(
            (a.header.as_str(), a.trailer.as_str()),
            ("(component binary ", ")")
        );
        assert_eq!(
            rest(&file, a),
            [
                r#"(assert_return (invoke "f" (u32.const 1)) (u32.const 2))"#,
                r#"(invoke "f" (u32.const 0))"#,
                r#"(assert_trap (invoke "f" (u32.const 7)) "msg")"#,
            ]
        );
        assert_eq!(rest(&file, b), [r#"(assert_return (invoke "g"))"#]);
        assert_eq!(
            file.directive_on(7),
            r#"(assert_trap (invoke "f" (u32.const 7)) "msg")"#
        );
    }

    /// Nested components (and a nested component's own `(component …)`
    /// forms) stay inside the unit of the top-level one.
    #[test]
    fn nested_components_are_one_unit() {
        let src = r#"(component $outer
  (component $inner (component $innermost))
  (instance $i (instantiate $inner)))
(component $second (component))"#;
        let (file, units, _) = split_one("linking/nested.wast", src);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].header, "(component $outer binary ");
        assert_eq!(units[1].header, "(component $second binary ");
        assert_eq!(units[1].line, 4);
        let def = &file.src[units[0].def.0..units[0].def.1];
        assert!(def.ends_with("(instantiate $inner)))"), "{def}");
        assert_eq!(units[0].bytes, wat::parse_str(def).unwrap());
    }

    #[test]
    fn quoted_components_are_units() {
        let src = r#"(component quote "(core module (func (export \"f\")))" "(; ( ;)")
(assert_return (invoke "f"))"#;
        let (file, units, invalid) = split_one("values/quoted.wast", src);
        assert!(invalid.is_empty());
        assert_eq!(units.len(), 1);
        assert_eq!(
            units[0].bytes,
            wat::parse_str(r#"(component (core module (func (export "f"))))"#).unwrap()
        );
        assert_eq!(rest(&file, &units[0]), [r#"(assert_return (invoke "f"))"#]);
    }

    /// `(component definition $C …)` is a unit; each `(component instance
    /// … $C)` and the directives after it join it.
    #[test]
    fn definitions_collect_their_instances() {
        let src = format!(
            "(component definition $A {}\n\
             (component definition $\"B b\" (component))\n\
             (component instance $a1 $A)\n\
             (invoke \"f\" (u32.const 1))\n\
             (component instance $b $\"B b\")\n\
             (invoke \"g\")\n\
             (component instance $a2 $A)\n\
             (assert_return (invoke \"f\" (u32.const 2)) (u32.const 3))\n",
            &ADD["(component".len()..]
        );
        let (file, units, _) = split_one("linking/defs.wast", &src);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].header, "(component definition $A binary ");
        assert_eq!(units[1].header, r#"(component definition $"B b" binary "#);
        assert_eq!(
            rest(&file, &units[0]),
            [
                "(component instance $a1 $A)",
                r#"(invoke "f" (u32.const 1))"#,
                "(component instance $a2 $A)",
                r#"(assert_return (invoke "f" (u32.const 2)) (u32.const 3))"#,
            ]
        );
        assert_eq!(
            rest(&file, &units[1]),
            [r#"(component instance $b $"B b")"#, r#"(invoke "g")"#]
        );
    }

    /// A component inside `assert_trap` / `assert_unlinkable` is a unit of
    /// its own, re-spelt with its message; `assert_invalid` /
    /// `assert_malformed` components are invalid components, unless their
    /// text does not parse.
    #[test]
    fn assert_forms() {
        let src = r#"(assert_trap (component (core module (start 0) (func unreachable)) (core instance (instantiate 0))) "unreachable")
(assert_unlinkable (component (import "x" (func))) "missing \"x\"")
(assert_invalid (component (core instance (instantiate 7))) "unknown module")
(assert_malformed (component quote "(component $a $b)") "bad")
(assert_malformed (component binary "\00asm\0d\00\01\00") "bad")
(assert_invalid (module (func (result i32))) "type mismatch")"#;
        let (file, units, invalid) = split_one("validation/asserts.wast", src);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].header, "(assert_trap (component binary ");
        assert_eq!(units[0].trailer, r#") "unreachable")"#);
        assert_eq!(units[1].header, "(assert_unlinkable (component binary ");
        assert_eq!(units[1].trailer, r#") "missing \"x\"")"#);
        assert!(units.iter().all(|u| u.rest.is_empty()));
        // The quoted text does not parse; the binary one has bytes; the
        // core module is no component.
        assert_eq!(invalid.iter().map(|i| i.line).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(invalid[1].bytes, b"\0asm\x0d\0\x01\0");
        // Re-spelt with other bytes, the directive parses and expects any
        // trap.
        let text = unit_text(&file, &units[0], Some(&units[0].bytes));
        assert_eq!(
            text,
            format!(
                "(assert_trap (component binary {}) \"\")\n",
                wast_string(&units[0].bytes)
            )
        );
        parse_wast(&text);
    }

    /// Directives keep their lines, in the original and the fused text;
    /// only `assert_trap` messages are emptied on the fused side.
    #[test]
    fn unit_texts_keep_lines() {
        let src = format!(
            ";; header\n\n{ADD}\n(assert_return (invoke \"f\" (u32.const 1)) (u32.const 2))\n\n\
             (component)\n(assert_trap (invoke \"f\" (u32.const 7)) \"out of \\\"bounds\\\"\")\n"
        );
        let (file, units, _) = split_one("values/lines.wast", &src);
        let original = unit_text(&file, &units[0], None);
        let fused = unit_text(&file, &units[0], Some(b"\0asm"));
        let lines = |t: &str| -> Vec<(usize, String)> {
            t.lines()
                .enumerate()
                .filter(|(_, l)| l.starts_with('('))
                .map(|(i, l)| (i + 1, l.to_string()))
                .collect()
        };
        assert_eq!(
            lines(&original),
            [
                (3, "(component".to_string()),
                (
                    7,
                    r#"(assert_return (invoke "f" (u32.const 1)) (u32.const 2))"#.into()
                ),
            ]
        );
        assert_eq!(
            lines(&fused),
            [
                (3, r#"(component binary "\00\61\73\6d")"#.to_string()),
                (
                    7,
                    r#"(assert_return (invoke "f" (u32.const 1)) (u32.const 2))"#.into()
                ),
            ]
        );
        // The trap of the other unit, fused, expects any message.
        assert_eq!(
            unit_text(&file, &units[1], Some(b"")).lines().nth(9),
            Some(r#"(assert_trap (invoke "f" (u32.const 7)) "")"#)
        );
        parse_wast(&original);
    }

    #[test]
    fn any_trap_empties_only_the_message() {
        assert_eq!(
            any_trap(r#"(assert_trap (invoke "f" (string.const "a\"b")) "x \"y\" z")"#),
            r#"(assert_trap (invoke "f" (string.const "a\"b")) "")"#
        );
        for other in [
            r#"(assert_return (invoke "f") (string.const "x"))"#,
            r#"(invoke "f")"#,
            "(assert_trap)",
        ] {
            assert_eq!(any_trap(other), other);
        }
    }

    #[test]
    #[should_panic(expected = "core/m.wast:2: top-level core modules are not supported")]
    fn top_level_core_modules_are_refused() {
        split_one("core/m.wast", "(component)\n(module)");
    }

    #[test]
    #[should_panic(expected = "`register` and threads are not supported")]
    fn register_is_refused() {
        split_one("r.wast", r#"(component $c) (register "c" $c)"#);
    }

    #[test]
    #[should_panic(expected = "x.wast:1: no current component")]
    fn an_invoke_needs_a_component() {
        split_one("x.wast", r#"(invoke "f")"#);
    }

    #[test]
    fn shorten_joins_and_cuts() {
        assert_eq!(shorten("a \n  b\tc", 10), "a b c");
        assert_eq!(shorten("abcdef", 3), "abc…");
    }

    fn parse_wast(text: &str) {
        let buf = ParseBuffer::new(text).unwrap();
        parser::parse::<Wast>(&buf).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
}
