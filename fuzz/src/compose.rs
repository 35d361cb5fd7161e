//! Random compositions, written as WAT.
//!
//! A composition is a chain between the host's functions and the outer
//! exports: the outer component imports `h0`, `h1`, … from the host and
//! exports `f0`, `f1`, … of the same types; in between, 0 to 3 inner
//! components each import `f*` and export `f*`, instantiated one after the
//! other, the first with the host's functions. An inner component is one of
//! ([`Link`]):
//!
//! - **forward**: a core module with its own memory and `realloc` lowers each
//!   import and lifts the export with one string encoding (`utf8`, `utf16`
//!   or `latin1+utf16`, chosen per component, so that strings are transcoded
//!   between them); the core function passes its flat parameters (or their
//!   pointer) straight to the lowered import, with a fresh return area when
//!   results go through memory, and returns what it returns — so every value
//!   crosses every boundary twice (lift and lower), whatever its type;
//! - **re-export**: no core module at all, the import exported as is;
//! - **nested**: a component that instantiates a forwarding component inside
//!   itself and exports its exports (an instance of an instance);
//! - **lower-lift**: no core module of its own code: each import lowered
//!   and the lowered core function lifted straight back out;
//! - **faulty forward**: a forward whose function `f{i}` traps after calling
//!   out (`unreachable`), or returns a return area out of bounds (when
//!   results go through memory): the trap must happen at the same call,
//!   fused or not.
//!
//! Records, variants, enums and flags must be named where functions using
//! them are imported or exported: every component imports them as types
//! (`(import "tK" (type (eq …)))`), the outer one from the host. So are
//! the resource types `rK` (`(sub resource)`): handles of them travel the
//! chain like any value; a forwarding component drops the `borrow`
//! parameters it was lent once the call it forwarded returns, as the
//! canonical ABI requires of a borrow's holder.
//!
//! A forwarding component may lift with a `post-return` function that
//! overwrites its whole heap: results must have been read by then.

use crate::types::{Flat, FuncType, Place, Type};
use arbitrary::{Result, Unstructured};
use std::fmt::Write as _;

/// A string encoding of the canonical ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `utf8`.
    Utf8,
    /// `utf16`.
    Utf16,
    /// `latin1+utf16`.
    CompactUtf16,
}

impl Encoding {
    /// Every encoding.
    const ALL: [Encoding; 3] = [Encoding::Utf8, Encoding::Utf16, Encoding::CompactUtf16];

    fn wat(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Utf16 => "utf16",
            Encoding::CompactUtf16 => "latin1+utf16",
        }
    }
}

/// A deliberate fault of a forwarding component, in one function.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Traps (`unreachable`) once the import returned.
    Unreachable,
    /// Returns its return area moved out of bounds (functions whose results
    /// go through memory; others trap as with `Unreachable`).
    BadReturnArea,
}

/// How a forwarding component lifts and lowers.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// The string encoding of its lifts and lowers.
    pub encoding: Encoding,
    /// Whether its lifts have a `post-return` that overwrites its heap.
    pub post_return: bool,
}

/// One inner component of the chain.
#[derive(Clone, Debug)]
pub enum Link {
    /// A core module forwarding every function (see the module docs).
    Forward(Style),
    /// A forward with a fault in function `f{.1}`.
    Faulty(Style, usize, Fault),
    /// Each import lowered and lifted straight back out.
    LowerLift(Encoding),
    /// No core module: the imports exported as they are.
    Reexport,
    /// A component instantiating a forwarding component inside itself.
    Nested(Style),
}

/// A generated composition.
#[derive(Clone, Debug)]
pub struct Composition {
    /// The functions: host import `h{i}` and export `f{i}` have type `funcs[i]`.
    pub funcs: Vec<FuncType>,
    /// How many resource types (`r0`, …) the host gives.
    pub resources: u32,
    /// The inner components, from the host's side outward.
    pub links: Vec<Link>,
}

impl Composition {
    /// A random composition.
    pub fn generate(u: &mut Unstructured<'_>) -> Result<Composition> {
        let resources = if u.ratio(1, 2)? {
            u.int_in_range(1..=2)?
        } else {
            0
        };
        let n = u.int_in_range(1..=3)?;
        let funcs = (0..n)
            .map(|_| FuncType::generate(u, resources))
            .collect::<Result<Vec<_>>>()?;
        let len = u.int_in_range(1..=3)?;
        let mut links = Vec::new();
        for _ in 0..len {
            let encoding = *u.choose(&Encoding::ALL)?;
            let style = Style {
                encoding,
                post_return: u.arbitrary()?,
            };
            links.push(match u.int_in_range(0..=11)? {
                0 => Link::Reexport,
                1 => Link::Nested(style),
                // A lowered function lifted as it is: only where results
                // are flat (the lowering's return pointer is no lift's)
                // and nothing is borrowed (no code would drop the borrow).
                2 if funcs
                    .iter()
                    .all(|f| f.flat_result().is_some() && f.borrows().is_empty()) =>
                {
                    Link::LowerLift(encoding)
                }
                3 => Link::Faulty(
                    style,
                    u.choose_index(funcs.len())?,
                    if u.arbitrary()? {
                        Fault::Unreachable
                    } else {
                        Fault::BadReturnArea
                    },
                ),
                _ => Link::Forward(style),
            });
        }
        // A host function re-exported as it is, with no lift and lower in
        // between, is something wasmtime does not implement (neither runs
        // nor translates it): keep at least one forwarding component.
        if links.iter().all(|l| matches!(l, Link::Reexport)) {
            let encoding = *u.choose(&Encoding::ALL)?;
            links.push(Link::Forward(Style {
                encoding,
                post_return: false,
            }));
        }
        Ok(Composition {
            funcs,
            resources,
            links,
        })
    }

    /// The composition as a component, in WAT.
    pub fn wat(&self) -> String {
        let decls = Decls::new(&self.funcs, self.resources);
        let mut w = String::from("(component\n");
        decls.write(&mut w);
        for (i, _) in self.funcs.iter().enumerate() {
            let _ = writeln!(w, "  (import \"h{i}\" (func $h{i} (type $fn{i})))");
        }
        for (k, link) in self.links.iter().enumerate() {
            let _ = writeln!(w, "  (component $c{k}");
            self.link(&decls, link, &mut w);
            w.push_str("  )\n");
        }
        for k in 0..self.links.len() {
            let _ = write!(w, "  (instance $i{k} (instantiate $c{k}");
            decls.with_types(&mut w);
            for i in 0..self.funcs.len() {
                if k == 0 {
                    let _ = write!(w, " (with \"f{i}\" (func $h{i}))");
                } else {
                    let _ = write!(w, " (with \"f{i}\" (func $i{} \"f{i}\"))", k - 1);
                }
            }
            w.push_str("))\n");
        }
        for i in 0..self.funcs.len() {
            match self.links.len() {
                0 => {
                    let _ = writeln!(w, "  (export \"f{i}\" (func $h{i}))");
                }
                n => {
                    let _ = writeln!(w, "  (export \"f{i}\" (func $i{} \"f{i}\"))", n - 1);
                }
            }
        }
        w.push_str(")\n");
        w
    }

    /// The body of one inner component (imports `t*`, `f*`; exports `f*`).
    fn link(&self, decls: &Decls, link: &Link, w: &mut String) {
        decls.write(w);
        for i in 0..self.funcs.len() {
            let _ = writeln!(w, "  (import \"f{i}\" (func $f{i} (type $fn{i})))");
        }
        match link {
            Link::Reexport => {
                for i in 0..self.funcs.len() {
                    let _ = writeln!(w, "  (export \"f{i}\" (func $f{i}))");
                }
            }
            Link::Forward(style) => self.forward(*style, None, w),
            Link::Faulty(style, f, fault) => self.forward(*style, Some((*f, *fault)), w),
            Link::LowerLift(e) => {
                let opts = options(*e);
                w.push_str(LIBC);
                for i in 0..self.funcs.len() {
                    let _ = writeln!(
                        w,
                        "  (core func $low{i} (canon lower (func $f{i}) {opts}))\n  (func $g{i} (type $fn{i}) (canon lift (core func $low{i}) {opts}))\n  (export \"f{i}\" (func $g{i}))"
                    );
                }
            }
            Link::Nested(style) => {
                w.push_str("  (component $inner\n");
                decls.write(w);
                for i in 0..self.funcs.len() {
                    let _ = writeln!(w, "  (import \"f{i}\" (func $f{i} (type $fn{i})))");
                }
                self.forward(*style, None, w);
                w.push_str("  )\n  (instance $x (instantiate $inner");
                decls.with_types(w);
                for i in 0..self.funcs.len() {
                    let _ = write!(w, " (with \"f{i}\" (func $f{i}))");
                }
                w.push_str("))\n");
                for i in 0..self.funcs.len() {
                    let _ = writeln!(w, "  (export \"f{i}\" (func $x \"f{i}\"))");
                }
            }
        }
    }

    /// A core module forwarding every function, lowered and lifted in
    /// `style` with its own memory and a bump `realloc`; `fault` in one
    /// function.
    fn forward(&self, style: Style, fault: Option<(usize, Fault)>, w: &mut String) {
        let opts = options(style.encoding);
        w.push_str(LIBC);
        for i in 0..self.funcs.len() {
            let _ = writeln!(w, "  (core func $low{i} (canon lower (func $f{i}) {opts}))");
        }
        for k in 0..self.resources {
            let _ = writeln!(w, "  (core func $drop{k} (canon resource.drop $r{k}))");
        }
        w.push_str("  (core module $m\n");
        w.push_str(
            "    (import \"libc\" \"realloc\" (func $realloc (param i32 i32 i32 i32) (result i32)))\n    \
             (import \"libc\" \"mem\" (memory 1))\n    \
             (import \"libc\" \"next\" (global $next (mut i32)))\n",
        );
        for k in 0..self.resources {
            let _ = writeln!(
                w,
                "    (import \"host\" \"drop{k}\" (func $drop{k} (param i32)))"
            );
        }
        for (i, f) in self.funcs.iter().enumerate() {
            let params = flat_list("param", &f.flat_params());
            let (lower_results, retptr) = match f.flat_result() {
                Some(r) => (flat_list("result", &r), ""),
                None => (String::new(), " (param i32)"),
            };
            let _ = writeln!(
                w,
                "    (import \"host\" \"f{i}\" (func $f{i} {params}{retptr} {lower_results}))"
            );
        }
        for (i, f) in self.funcs.iter().enumerate() {
            let flat = f.flat_params();
            let params = flat_list("param", &flat);
            let gets: String = (0..flat.len())
                .map(|p| format!(" (local.get {p})"))
                .collect();
            // The borrows lent to this call, dropped once it returns.
            let drops: String = f
                .borrows()
                .iter()
                .map(|(place, k)| match place {
                    Place::Flat(p) => format!("\n      (call $drop{k} (local.get {p}))"),
                    Place::Memory(o) => {
                        format!("\n      (call $drop{k} (i32.load offset={o} (local.get 0)))")
                    }
                })
                .collect();
            let fault = fault.filter(|(f, _)| *f == i).map(|(_, k)| k);
            let flat_result = f.flat_result();
            let (results, ret) = match &flat_result {
                Some(r) if r.is_empty() => (String::new(), String::new()),
                Some(r) => (
                    format!("{} (local $res {})", flat_list("result", r), r[0].wat()),
                    "\n      (local.set $res)".to_string(),
                ),
                None => ("(result i32)".to_string(), String::new()),
            };
            let _ = write!(
                w,
                "    (func (export \"f{i}\") {params} {results} (local $area i32)"
            );
            match &flat_result {
                Some(r) => {
                    let _ = write!(w, "\n      (call $f{i}{gets}){ret}{drops}");
                    if fault.is_some() {
                        w.push_str("\n      unreachable");
                    } else if !r.is_empty() {
                        w.push_str("\n      (local.get $res)");
                    }
                }
                None => {
                    // A fresh return area: the lowered import writes the
                    // results there, the lift reads them from there.
                    let (size, align) = f.result.as_ref().map_or((0, 1), Type::size_align);
                    let _ = write!(
                        w,
                        "\n      (local.set $area (call $realloc (i32.const 0) (i32.const 0) (i32.const {align}) (i32.const {size})))\n      \
                         (call $f{i}{gets} (local.get $area)){drops}\n      "
                    );
                    w.push_str(&match fault {
                        None => "(local.get $area)".to_string(),
                        Some(Fault::Unreachable) => "unreachable".to_string(),
                        Some(Fault::BadReturnArea) => {
                            "(i32.add (local.get $area) (i32.const 0x7fff0000))".to_string()
                        }
                    });
                }
            }
            w.push_str(")\n");
            if style.post_return {
                // Overwrites every byte allocated so far: the results were
                // read before post-return, or they come out as 0xaa.
                let params = match &flat_result {
                    Some(r) => flat_list("param", r),
                    None => "(param i32)".to_string(),
                };
                let _ = writeln!(
                    w,
                    "    (func (export \"f{i}_post\") {params}\n      \
                     (memory.fill (i32.const 8) (i32.const 0xaa) (i32.sub (global.get $next) (i32.const 8))))"
                );
            }
        }
        w.push_str("  )\n  (core instance $m (instantiate $m (with \"libc\" (instance $libc)) (with \"host\" (instance");
        for i in 0..self.funcs.len() {
            let _ = write!(w, " (export \"f{i}\" (func $low{i}))");
        }
        for k in 0..self.resources {
            let _ = write!(w, " (export \"drop{k}\" (func $drop{k}))");
        }
        w.push_str("))))\n");
        for i in 0..self.funcs.len() {
            let post = if style.post_return {
                format!(" (post-return (core func $m \"f{i}_post\"))")
            } else {
                String::new()
            };
            let _ = writeln!(
                w,
                "  (func $g{i} (type $fn{i}) (canon lift (core func $m \"f{i}\") {opts}{post}))\n  (export \"f{i}\" (func $g{i}))"
            );
        }
    }
}

/// The canonical options of every lift and lower of a component.
fn options(e: Encoding) -> String {
    format!(
        "(memory (core memory $libc \"mem\")) (realloc (core func $libc \"realloc\")) string-encoding={}",
        e.wat()
    )
}

/// `(param i32 i64 …)` / `(result …)`, or nothing.
fn flat_list(kind: &str, flat: &[Flat]) -> String {
    if flat.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = flat.iter().map(|f| f.wat()).collect();
    format!("({kind} {})", names.join(" "))
}

/// Memory and a bump `realloc` (aligned, growing the memory, copying on
/// reallocation; never at address 0).
pub(crate) const LIBC: &str = r#"  (core module $libc
    (memory (export "mem") 1)
    (global $next (export "next") (mut i32) (i32.const 8))
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
        (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1))) (i32.const -1))
          (then unreachable))))
      (memory.copy (local.get $p) (local.get $old)
        (select (local.get $old_size) (local.get $size) (i32.lt_u (local.get $old_size) (local.get $size))))
      (global.set $next (local.get $end))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
"#;

/// The type declarations every component of a composition repeats: the
/// resource types `$rK`, imported as `rK`; each defined type once, children
/// before parents, as `$tK`, nominal ones imported as `tK` (the outer
/// component imports from the host, inner ones from their parent); then
/// the function types `$fnI`.
struct Decls {
    resources: u32,
    types: Vec<Type>,
    funcs: Vec<FuncType>,
}

impl Decls {
    fn new(funcs: &[FuncType], resources: u32) -> Decls {
        let mut types = Vec::new();
        fn visit(t: &Type, out: &mut Vec<Type>) {
            for c in t.children() {
                visit(c, out);
            }
            if t.primitive().is_none() && !out.contains(t) {
                out.push(t.clone());
            }
        }
        for f in funcs {
            f.params
                .iter()
                .chain(&f.result)
                .for_each(|t| visit(t, &mut types));
        }
        Decls {
            resources,
            types,
            funcs: funcs.to_vec(),
        }
    }

    fn name(&self, t: &Type) -> String {
        match t.primitive() {
            Some(p) => p.to_string(),
            None => format!(
                "$t{}",
                self.types.iter().position(|x| x == t).unwrap_or(usize::MAX)
            ),
        }
    }

    fn write(&self, w: &mut String) {
        for k in 0..self.resources {
            let _ = writeln!(w, "  (import \"r{k}\" (type $r{k} (sub resource)))");
        }
        for (k, t) in self.types.iter().enumerate() {
            let def = t.definition(&|c| self.name(c));
            if t.is_nominal() {
                let _ = writeln!(
                    w,
                    "  (type $t{k}' {def})\n  (import \"t{k}\" (type $t{k} (eq $t{k}')))"
                );
            } else {
                let _ = writeln!(w, "  (type $t{k} {def})");
            }
        }
        for (i, f) in self.funcs.iter().enumerate() {
            let params: String = f
                .params
                .iter()
                .enumerate()
                .map(|(p, t)| format!(" (param \"p{p}\" {})", self.name(t)))
                .collect();
            let result = f
                .result
                .as_ref()
                .map(|t| format!(" (result {})", self.name(t)))
                .unwrap_or_default();
            let _ = writeln!(w, "  (type $fn{i} (func{params}{result}))");
        }
    }

    /// ` (with "rK" (type $rK))`, ` (with "tK" (type $tK))` for each
    /// imported type.
    fn with_types(&self, w: &mut String) {
        for k in 0..self.resources {
            let _ = write!(w, " (with \"r{k}\" (type $r{k}))");
        }
        for (k, t) in self.types.iter().enumerate() {
            if t.is_nominal() {
                let _ = write!(w, " (with \"t{k}\" (type $t{k}))");
            }
        }
    }
}
