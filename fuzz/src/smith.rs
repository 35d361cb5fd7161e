//! Random core modules (`wasm-smith`) wrapped into components, with random
//! calls: Meld must carry arbitrary core code through fusion unchanged.
//!
//! The module has no imports, exports 1 to 4 functions of random types that
//! can be lifted without a memory (`i32`, `i64`, `f32`, `f64` parameters,
//! at most one result; wasm-smith's `exports` option) and is made to
//! terminate (`ensure_termination`: a fuel global checked in every loop and
//! function, trapping when it runs out). The component instantiates it and
//! lifts each export as `f0`, `f1`, … (`u32`, `u64`, `f32`, `f64`). A run
//! instantiates the component (a
//! start function may trap) and makes the calls in order on that instance,
//! so memory, globals and tables carry state from call to call.

use crate::oracle::{Message, Observed};
use arbitrary::{Result, Unstructured};
use wasm_encoder::{
    ComponentBuilder, ComponentExportKind, ComponentValType, ExportKind, PrimitiveValType,
};
use wasmparser::{ExternalKind, ValType};
use wasmtime::component::{Component, Linker, Val};

/// A lifted function: its export name in the core module and core type.
#[derive(Clone, Debug)]
pub struct Lifted {
    /// The core module's export.
    pub export: String,
    /// Parameter types.
    pub params: Vec<ValType>,
    /// The result type, if any.
    pub result: Option<ValType>,
}

/// A generated case: the component and the calls (`f{index}`, arguments).
#[derive(Clone, Debug)]
pub struct Case {
    /// The component's bytes.
    pub component: Vec<u8>,
    /// The lifted functions, `f0`, `f1`, ….
    pub funcs: Vec<Lifted>,
    /// The calls, in order.
    pub calls: Vec<(usize, Vec<Val>)>,
}

/// The features of the generated modules: what wasmtime runs by default and
/// Meld fuses (reference types, SIMD, tail calls, multiple memories; no GC
/// proposal, threads, exceptions, 64-bit memories or wide arithmetic), with
/// up to 2 memories and 2 tables, and `exports` to generate.
fn config(exports: Vec<u8>) -> wasm_smith::Config {
    wasm_smith::Config {
        exports: Some(exports),
        max_imports: 0,
        min_funcs: 1,
        max_funcs: 12,
        max_instructions: 60,
        max_memories: 2,
        max_tables: 2,
        max_memory32_bytes: 1 << 20,
        gc_enabled: false,
        exceptions_enabled: false,
        memory64_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// The component type of a liftable core type.
fn lifted(t: ValType) -> Option<PrimitiveValType> {
    Some(match t {
        ValType::I32 => PrimitiveValType::U32,
        ValType::I64 => PrimitiveValType::U64,
        ValType::F32 => PrimitiveValType::F32,
        ValType::F64 => PrimitiveValType::F64,
        _ => return None,
    })
}

/// A module that declares the exports to generate: `f0` … of random
/// liftable types.
fn exports(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    const TYPES: [&str; 4] = ["i32", "i64", "f32", "f64"];
    let mut wat = String::from("(module");
    for i in 0..u.int_in_range(1..=4)? {
        wat.push_str(&format!(" (func (export \"f{i}\")"));
        for _ in 0..u.int_in_range(0..=5)? {
            wat.push_str(&format!(" (param {})", u.choose(&TYPES)?));
        }
        if u.ratio(3, 4)? {
            wat.push_str(&format!(" (result {})", u.choose(&TYPES)?));
        }
        wat.push_str(" unreachable)");
    }
    wat.push(')');
    wat::parse_str(&wat).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// A random value of a liftable core type.
fn value(u: &mut Unstructured<'_>, t: ValType) -> Result<Val> {
    Ok(match t {
        ValType::I32 => Val::U32(u.arbitrary()?),
        ValType::I64 => Val::U64(u.arbitrary()?),
        ValType::F32 => Val::Float32(f32::from_bits(u.arbitrary()?)),
        _ => Val::Float64(f64::from_bits(u.arbitrary()?)),
    })
}

/// A random case; `Ok(None)` when `engine` does not take the module (a
/// feature left out) or it exports nothing liftable.
pub fn generate(u: &mut Unstructured<'_>, engine: &wasmtime::Engine) -> Result<Option<Case>> {
    let bytes = module(u)?;
    if wasmtime::Module::validate(engine, &bytes).is_err() {
        return Ok(None);
    }
    let Some(funcs) = liftable(&bytes) else {
        return Ok(None);
    };
    if funcs.is_empty() {
        return Ok(None);
    }
    let mut calls = Vec::new();
    for _ in 0..u.int_in_range(1..=6)? {
        let f = u.choose_index(funcs.len())?;
        let args = funcs[f]
            .params
            .iter()
            .map(|t| value(u, *t))
            .collect::<Result<_>>()?;
        calls.push((f, args));
    }
    Ok(Some(Case {
        component: wrap(&bytes, &funcs),
        funcs,
        calls,
    }))
}

/// A random module (see the module docs).
fn module(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut module = wasm_smith::Module::new(config(exports(u)?), u)?;
    module
        .ensure_termination(1000)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(module.to_bytes())
}

/// A random module wrapped into a component as [`generate`] does, for
/// fuzzing the fuser alone: no calls, and no check that wasmtime takes it.
pub fn component(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let bytes = module(u)?;
    let funcs = liftable(&bytes).unwrap_or_default();
    Ok(wrap(&bytes, &funcs))
}

/// The module's exported functions that can be lifted without a memory,
/// `None` when the module does not validate.
fn liftable(module: &[u8]) -> Option<Vec<Lifted>> {
    let types = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(module)
        .ok()?;
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let wasmparser::Payload::ExportSection(exports) = payload.ok()? else {
            continue;
        };
        for export in exports {
            let export = export.ok()?;
            if export.kind != ExternalKind::Func {
                continue;
            }
            let ty = types[types.as_ref().core_function_at(export.index)].unwrap_func();
            if ty.results().len() > 1
                || ty
                    .params()
                    .iter()
                    .chain(ty.results())
                    .any(|t| lifted(*t).is_none())
            {
                continue;
            }
            out.push(Lifted {
                export: export.name.to_string(),
                params: ty.params().to_vec(),
                result: ty.results().first().copied(),
            });
        }
    }
    Some(out)
}

/// The component: the module, one instance of it, each function lifted
/// and exported as `f{i}`.
fn wrap(module: &[u8], funcs: &[Lifted]) -> Vec<u8> {
    let mut b = ComponentBuilder::default();
    let m = b.core_module_raw(None, module);
    let instance = b.core_instantiate(None, m, Vec::<(&str, wasm_encoder::ModuleArg)>::new());
    for (i, f) in funcs.iter().enumerate() {
        let core = b.core_alias_export(None, instance, &f.export, ExportKind::Func);
        let (ty, mut enc) = b.type_function(None);
        let params: Vec<(String, ComponentValType)> = f
            .params
            .iter()
            .enumerate()
            .map(|(p, t)| {
                let t = lifted(*t).unwrap_or(PrimitiveValType::U32);
                (format!("p{p}"), ComponentValType::Primitive(t))
            })
            .collect();
        enc.params(params.iter().map(|(n, t)| (n.as_str(), *t)));
        enc.result(f.result.and_then(lifted).map(ComponentValType::Primitive));
        let func = b.lift_func(None, core, ty, Vec::new());
        b.export(&*format!("f{i}"), ComponentExportKind::Func, func, None);
    }
    b.finish()
}

/// Runs `case`'s calls on the component `bytes`: a trap while
/// instantiating (a start function) or calling ends the run.
///
/// # Errors
/// When the component does not compile or a function is missing.
pub fn run(engine: &wasmtime::Engine, bytes: &[u8], case: &Case) -> anyhow::Result<Vec<Observed>> {
    let component = Component::new(engine, bytes)?;
    let linker = Linker::<()>::new(engine);
    let mut store = wasmtime::Store::new(engine, ());
    let instance = match linker.instantiate(&mut store, &component) {
        Ok(i) => i,
        Err(e) => return Ok(vec![Observed::Trapped(Message(format!("{e:#}")))]),
    };
    let mut out = Vec::new();
    for (f, args) in &case.calls {
        let func = instance
            .get_func(&mut store, format!("f{f}"))
            .ok_or_else(|| anyhow::anyhow!("no export f{f}"))?;
        let mut results = vec![Val::Bool(false); usize::from(case.funcs[*f].result.is_some())];
        match func.call(&mut store, args, &mut results) {
            Ok(()) => out.push(Observed::Returned {
                host_saw: None,
                result: results.pop(),
            }),
            Err(e) => {
                out.push(Observed::Trapped(Message(format!("{e:#}"))));
                break;
            }
        }
    }
    Ok(out)
}
