//! Planning the async runtime (phase 2b): when the translation uses
//! component-model async, the glue, the runtime and its initialisation,
//! every adapter's `[prepare-call]`, the shims of the async built-ins; then,
//! as the builder instantiates FACT's adapter modules, each async adapter's
//! thunks, and as memories appear, their event writers. See
//! `intrinsics/ASYNC.md` and [`crate::intrinsics::async_glue`].

use super::*;
use crate::intrinsics::async_glue::{self as glue, Builtin, OuterExport, Prepare, Thunks};
use crate::intrinsics::async_runtime::{self as art, GlueFunc};
use crate::link::plan::UnwindPlan;
use wasmparser::{Operator, Parser, Payload, TypeRef};
use wasmtime_environ::component::{
    RuntimeCallbackIndex, RuntimeComponentInstanceIndex, TypeFutureTableIndex,
    TypeStreamTableIndex, UnsafeIntrinsic,
};

/// An async adapter found in a FACT adapter module.
#[derive(Clone, Debug)]
struct Adapter {
    /// Dense number in the glue's tables.
    index: u32,
    /// FACT's name suffix: the module exports `adapter{n}`.
    n: String,
    /// The callee instance (FACT's `callee_instance` constant).
    callee: u32,
    /// The start-call it calls: the lift's callback and post-return.
    callback: Option<RuntimeCallbackIndex>,
    post_return: Option<RuntimePostReturnIndex>,
    /// Signatures of `[async-start]`, the callee, `[async-return]`.
    start: CoreSig,
    callee_sig: CoreSig,
    ret: CoreSig,
    retptr: Option<u32>,
}

/// A key for the built-in shims: a trampoline, or one of the context
/// intrinsics and the `task_may_block` global, which are not trampolines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Trampoline(TrampolineIndex),
    Context(UnsafeIntrinsic),
}

/// Phase 2b of the planner: the async runtime, planned.
pub(super) struct AsyncRuntime {
    glue: InstanceId,
    runtime: InstanceId,
    prepares: InstanceId,
    /// (adapter module, import position) → export of `prepares`.
    prepare_at: HashMap<(StaticModuleIndex, usize), u32>,
    builtins: InstanceId,
    builtin_of: HashMap<Key, u32>,
    /// The async adapters of each FACT adapter module, by the module.
    adapters: HashMap<StaticModuleIndex, Vec<Adapter>>,
    /// Those modules without their `ref.func`s ([`null_func_refs`]).
    rewritten: HashMap<StaticModuleIndex, Vec<u8>>,
    n_adapters: u32,
    /// Outer exports lifted with the async ABI → their number in the glue's
    /// tables (after the adapters).
    outer_index: HashMap<ExportIndex, u32>,
    /// The resource runtime's borrow-scope functions (enter, exit, park), if
    /// it exists.
    scope: Option<(Ref, Ref, Ref)>,
    /// Memories that `waitable-set.wait` / `poll` write events into.
    writer_memories: HashSet<u32>,
    n_memories: u32,
}

use wasmtime_environ::component::StaticModuleIndex;

fn unsupported(what: &str) -> Diagnostic {
    async_unsupported(what)
}

/// The core signature of trampoline `tr`, without FACT's leading `funcref`
/// parameters (`skip` of them).
pub(super) fn trampoline_sig(
    t: &Translation,
    tr: TrampolineIndex,
    skip: usize,
) -> Result<CoreSig, Diagnostic> {
    let ty = t.component.trampolines[tr];
    let f = t.types.module_types()[ty]
        .as_func()
        .ok_or_else(|| internal("trampoline type is not a function"))?;
    let conv = |v: &wasmtime_environ::WasmValType| {
        use wasmtime_environ::WasmValType as W;
        match v {
            W::I32 => Ok(wasm_encoder::ValType::I32),
            W::I64 => Ok(wasm_encoder::ValType::I64),
            W::F32 => Ok(wasm_encoder::ValType::F32),
            W::F64 => Ok(wasm_encoder::ValType::F64),
            _ => Err(internal("an async trampoline with a reference or vector")),
        }
    };
    Ok(CoreSig::new(
        f.params()
            .iter()
            .skip(skip)
            .map(conv)
            .collect::<Result<_, _>>()?,
        f.results().iter().map(conv).collect::<Result<_, _>>()?,
    ))
}

/// A FACT adapter module's imports and the async adapters in it.
fn analyse_module(
    t: &Translation,
    module: StaticModuleIndex,
    args: &[CoreDef],
    next: &mut u32,
    prepares: &mut Vec<(usize, Prepare)>,
) -> Result<Vec<Adapter>, Diagnostic> {
    let bytes = &t.modules[module];
    let bad =
        |e: wasmparser::BinaryReaderError| internal(&format!("reading an adapter module: {e}"));
    // Function index → (import module, name) for imports; types of all.
    let mut imports: Vec<(String, String)> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut types: Vec<wasmparser::FuncType> = Vec::new();
    let mut exports: HashMap<String, u32> = HashMap::new();
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(bad)? {
            Payload::TypeSection(s) => {
                for ty in s.into_iter_err_on_gc_types() {
                    types.push(ty.map_err(bad)?);
                }
            }
            Payload::ImportSection(s) => {
                for imp in s.into_imports() {
                    let imp = imp.map_err(bad)?;
                    if let TypeRef::Func(ty) = imp.ty {
                        imports.push((imp.module.to_string(), imp.name.to_string()));
                        func_types.push(ty);
                    }
                }
            }
            Payload::FunctionSection(s) => {
                for ty in s {
                    func_types.push(ty.map_err(bad)?);
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.map_err(bad)?;
                    if e.kind == wasmparser::ExternalKind::Func {
                        exports.insert(e.name.to_string(), e.index);
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            _ => {}
        }
    }
    // Every import of the module (any kind) in order, to find its argument.
    let position = |module: &str, name: &str| -> Option<usize> {
        let mut i = 0;
        for payload in Parser::new(0).parse_all(bytes) {
            if let Ok(Payload::ImportSection(s)) = payload {
                for imp in s.into_imports().flatten() {
                    if imp.module == module && imp.name == name {
                        return Some(i);
                    }
                    i += 1;
                }
            }
        }
        None
    };
    let arg_of = |module: &str, name: &str| position(module, name).and_then(|i| args.get(i));
    let sig_of = |f: u32| -> Result<CoreSig, Diagnostic> {
        let ty = &types[func_types[f as usize] as usize];
        let conv = |v: &wasmparser::ValType| match v {
            wasmparser::ValType::I32 => Ok(wasm_encoder::ValType::I32),
            wasmparser::ValType::I64 => Ok(wasm_encoder::ValType::I64),
            wasmparser::ValType::F32 => Ok(wasm_encoder::ValType::F32),
            wasmparser::ValType::F64 => Ok(wasm_encoder::ValType::F64),
            _ => Err(internal("an adapter signature with a reference or vector")),
        };
        Ok(CoreSig::new(
            ty.params().iter().map(conv).collect::<Result<_, _>>()?,
            ty.results().iter().map(conv).collect::<Result<_, _>>()?,
        ))
    };
    let n_imported = imports.len() as u32;
    let mut out = Vec::new();
    for (i, (m, name)) in imports.iter().enumerate() {
        let Some(n) = name.strip_prefix("[prepare-call]adapter") else {
            continue;
        };
        if m != "sync" {
            continue;
        }
        let Some(CoreDef::Trampoline(tr)) = arg_of(m, name) else {
            return Err(internal("a prepare-call import without its trampoline"));
        };
        let Trampoline::PrepareCall { memory } = t.trampolines[*tr] else {
            return Err(internal("a prepare-call import of another trampoline"));
        };
        let adapter_name = format!("adapter{n}");
        let main = *exports
            .get(&adapter_name)
            .ok_or_else(|| internal("an adapter module without its adapter export"))?;
        let body = main
            .checked_sub(n_imported)
            .and_then(|i| bodies.get(i as usize))
            .ok_or_else(|| internal("an adapter export that is not a defined function"))?;
        // The constants FACT passes to prepare-call, and the start-call
        // the adapter calls (with the last constant before it, the flags).
        let mut consts: Vec<i64> = Vec::new();
        let mut prepare_consts = None;
        let mut start_call = None;
        let mut reader = body.get_operators_reader().map_err(bad)?;
        while !reader.eof() {
            match reader.read().map_err(bad)? {
                Operator::I32Const { value } => consts.push(i64::from(value as u32)),
                Operator::Call { function_index } if function_index < n_imported => {
                    let (im, iname) = &imports[function_index as usize];
                    if function_index == i as u32 {
                        prepare_consts = Some(consts.clone());
                    } else if iname.starts_with("[start-call]") && (im == "sync" || im == "async") {
                        start_call = Some((im.clone(), iname.clone(), consts.last().copied()));
                    }
                    consts.clear();
                }
                Operator::Call { .. } => consts.clear(),
                _ => {}
            }
        }
        let pc =
            prepare_consts.ok_or_else(|| internal("an adapter that never prepares its call"))?;
        // caller, callee, task_return_type, callee_async, encoding, result count
        if pc.len() < 6 {
            return Err(internal("an adapter's prepare-call constants"));
        }
        let k = &pc[pc.len() - 6..];
        let (callee, rc) = (k[1] as u32, k[5] as u32);
        let (sm, sn, flags) =
            start_call.ok_or_else(|| internal("an adapter that never starts its call"))?;
        let Some(CoreDef::Trampoline(st)) = arg_of(&sm, &sn) else {
            return Err(internal("a start-call import without its trampoline"));
        };
        let (callback, post_return) = match t.trampolines[*st] {
            Trampoline::SyncStartCall { callback: None } => {
                return Err(super::stackful_unsupported(
                    "an async lift without a callback",
                ));
            }
            Trampoline::SyncStartCall { callback } => (callback, None),
            Trampoline::AsyncStartCall {
                callback,
                post_return,
            } => {
                if callback.is_none() && flags == Some(1) {
                    return Err(super::stackful_unsupported(
                        "an async lift without a callback",
                    ));
                }
                (callback, post_return)
            }
            _ => return Err(internal("a start-call import of another trampoline")),
        };
        let lower = trampoline_sig(t, *tr, 2)?;
        let lower_params: Vec<_> = lower.params[6..].to_vec();
        let retptr = match rc {
            0xffff_fffe => Some(lower_params.len() as u32 - 1),
            0xffff_ffff => None,
            n if n > 1 => Some(lower_params.len() as u32 - 1),
            _ => None,
        };
        let find = |name: String| -> Result<u32, Diagnostic> {
            exports
                .get(&name)
                .copied()
                .ok_or_else(|| internal(&format!("an adapter module without `{name}`")))
        };
        let index = *next;
        *next += 1;
        // FACT's prepare-call trampolines are interned: adapters with the
        // same lower signature and lift memory share one. Each adapter's
        // own import is resolved by its position instead.
        let at = position(m, name).ok_or_else(|| internal("a prepare-call import"))?;
        prepares.push((
            at,
            Prepare {
                adapter: index,
                callback: callback.is_some(),
                return_memory: memory.map_or(0, |m| m.as_u32() + 1),
                params: lower_params,
            },
        ));
        out.push(Adapter {
            index,
            n: n.to_string(),
            callee,
            callback,
            post_return,
            start: sig_of(find(format!("[async-start]{adapter_name}"))?)?,
            callee_sig: sig_of(find(format!("[adapter-callee]{adapter_name}"))?)?,
            ret: sig_of(find(format!("[async-return]{adapter_name}"))?)?,
            retptr,
        });
    }
    Ok(out)
}

/// `bytes`, a FACT adapter module, with every `ref.func` replaced by
/// `ref.null func`.
///
/// FACT takes a `ref.func` only to pass the adapter's helpers and callee to
/// `[prepare-call]` and `[start-call]` (`fact/trampoline.rs`), which the
/// runtime's glue implements without those references (it calls the
/// helpers directly, by name). wasmtime runs each `ref.func` as a libcall
/// that looks the function up: on a round trip of an async call that was
/// most of the time spent outside guest code.
fn null_func_refs(bytes: &[u8]) -> Result<Vec<u8>, Diagnostic> {
    use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder};
    struct NullFuncRefs;
    impl Reencode for NullFuncRefs {
        type Error = std::convert::Infallible;
        fn instruction<'a>(
            &mut self,
            op: Operator<'a>,
        ) -> Result<wasm_encoder::Instruction<'a>, Error> {
            match op {
                Operator::RefFunc { .. } => Ok(wasm_encoder::Instruction::RefNull(
                    wasm_encoder::HeapType::FUNC,
                )),
                op => RoundtripReencoder.instruction(op),
            }
        }
    }
    let mut module = wasm_encoder::Module::new();
    NullFuncRefs
        .parse_core_module(&mut module, Parser::new(0), bytes)
        .map_err(|e| internal(&format!("rewriting an adapter module: {e}")))?;
    Ok(module.finish())
}

fn item(instance: InstanceId, name: &str) -> Ref {
    Ref {
        instance,
        item: Item::Name(name.into()),
    }
}

impl AsyncRuntime {
    /// Plans the async runtime of `t`, which uses async (translated with
    /// `concurrency_support`).
    ///
    /// # Errors
    /// E0007 for what is not fused yet: streams and futures with a payload
    /// type, error contexts; E0015 for what needs a stack of its own: the
    /// `thread.*` built-ins but `thread.yield`, stackful lifts.
    pub(super) fn plan(
        t: &Translation,
        flags: &[InstanceId],
        resources: Option<&ResourceRuntime>,
        host: &HostTable,
        plan: &mut Plan<'_>,
    ) -> Result<AsyncRuntime, Diagnostic> {
        let c = &t.component;
        let mut adapters = HashMap::new();
        let mut rewritten = HashMap::new();
        let mut prepares = Vec::new();
        let mut prepare_at = HashMap::new();
        let mut next = 0;
        for init in &c.initializers {
            if let GlobalInitializer::InstantiateModule(InstantiateModule::Static(m, args), _) =
                init
            {
                if adapters.contains_key(m) {
                    return Err(internal("a FACT adapter module instantiated twice"));
                }
                let mut found_prepares = Vec::new();
                let found = analyse_module(t, *m, args, &mut next, &mut found_prepares)?;
                for (at, p) in found_prepares {
                    prepare_at.insert((*m, at), prepares.len() as u32);
                    prepares.push(p);
                }
                if !found.is_empty() {
                    rewritten.insert(*m, null_func_refs(&t.modules[*m])?);
                    adapters.insert(*m, found);
                }
            }
        }
        let mut outer_index = HashMap::new();
        for (export, item) in c.export_items.iter() {
            if let Export::LiftedFunction { options, .. } = item
                && c.options[*options].async_
            {
                outer_index.insert(export, next);
                next += 1;
            }
        }
        let n_adapters = next;
        let n_memories = c.num_runtime_memories;
        let n_instances = c.num_runtime_component_instances;

        // Streams and futures: only element-less ones are fused so far; a
        // built-in or a transfer of one with a payload type is refused.
        let tables = transmit_tables(t);
        let has_payload = |ty: u32| tables.iter().any(|&(t, _, p)| t == ty && p);
        let payload_refusal = |future: bool| {
            unsupported(if future {
                "a `future<T>` with a payload type (issue 19's part 2)"
            } else {
                "a `stream<T>` with a payload type (issue 19's part 2)"
            })
        };
        let stream_ty = |ty: TypeStreamTableIndex| ty.as_u32() << 1;
        let future_ty = |ty: TypeFutureTableIndex| ty.as_u32() << 1 | 1;
        let stub = |k: u32| item(host.stubs, &k.to_string());
        let glue_id = plan.push(
            Cow::Owned(glue::glue_module(
                n_adapters,
                n_memories,
                host.host_builtins.is_some(),
                resources.is_some(),
            )),
            host.host_builtins
                .iter()
                .flat_map(|slots| slots.iter().map(|&k| stub(k)))
                .chain(resources.into_iter().flat_map(|r| {
                    [
                        r.func(crate::intrinsics::resources::RuntimeFunc::HandleAlloc),
                        r.func(crate::intrinsics::resources::RuntimeFunc::HandleFree),
                    ]
                }))
                .collect(),
            "async glue",
        );
        let rt_args = runtime_imports(art::module())?
            .into_iter()
            .map(|f| item(glue_id, f.name()))
            .collect();
        let runtime = plan.push(Cow::Borrowed(art::module()), rt_args, "async runtime");
        if host.host_builtins.is_some() {
            // The wrapper's `waitable-set.wait` writes the host's events here.
            plan.export(
                crate::link::exports::FusedExport::AsyncMemory.name(),
                Kind::Memory,
                item(runtime, glue::RT_MEMORY),
            );
        }
        let rt = |f: art::RuntimeFunc| item(runtime, f.name());
        // Tasks with stacks of their own: the glue's dispatchers are where
        // an unwind stops, the runtime's blocking built-ins where one
        // starts (`crate::link::unwind`, `fiber.rs` of the runtime).
        plan.unwind = Some(UnwindPlan {
            roots: [GlueFunc::Start, GlueFunc::RunSync, GlueFunc::Callback]
                .iter()
                .map(|f| item(glue_id, f.name()))
                .collect(),
            blockers: [
                art::RuntimeFunc::WaitableSetWait,
                art::RuntimeFunc::ThreadYield,
                art::RuntimeFunc::SyncStart,
            ]
            .into_iter()
            .map(rt)
            .collect(),
            opaque: runtime,
            memory: item(runtime, glue::RT_MEMORY),
            state: item(glue_id, glue::UNWIND_STATE),
            data: item(glue_id, glue::UNWIND_DATA),
            enabled: item(glue_id, glue::UNWIND_ENABLED),
        });
        plan.push(
            Cow::Owned(glue::init_module(
                n_instances,
                resources.is_some(),
                &tables.iter().map(|&(ty, i, _)| (ty, i)).collect::<Vec<_>>(),
            )),
            vec![
                rt(art::RuntimeFunc::Init),
                rt(art::RuntimeFunc::TransmitTable),
            ],
            "async runtime initialisation",
        );
        let prepares_id = plan.push(
            Cow::Owned(glue::prepare_module(&prepares)),
            vec![
                rt(art::RuntimeFunc::PrepareCall),
                rt(art::RuntimeFunc::Params),
                item(runtime, glue::RT_MEMORY),
            ],
            "async prepare-calls",
        );

        // The built-ins.
        let mut builtins = Vec::new();
        let mut builtin_of = HashMap::new();
        let mut writer_memories = HashSet::new();
        let options_memory = |o: OptionsIndex| c.options[o].memory().map(|m| m.as_u32());
        let inst = |i: RuntimeComponentInstanceIndex| i.as_u32();
        for (tr, tramp) in t.trampolines.iter() {
            let b = match *tramp {
                Trampoline::TaskReturn {
                    instance,
                    results,
                    options,
                } => Builtin::TaskReturn {
                    flags: inst(instance),
                    sig: results.as_u32() << 2 | c.options[options].string_encoding as u32,
                    memory: options_memory(options).map_or(0, |m| m + 1),
                    params: trampoline_sig(t, tr, 0)?.params,
                },
                Trampoline::TaskCancel { instance } => Builtin::TaskCancel {
                    flags: inst(instance),
                },
                Trampoline::WaitableSetNew { instance } => Builtin::WaitableSetNew {
                    flags: inst(instance),
                    instance: inst(instance),
                },
                Trampoline::WaitableSetDrop { instance } => Builtin::WaitableSetDrop {
                    flags: inst(instance),
                    instance: inst(instance),
                },
                Trampoline::WaitableJoin { instance } => Builtin::WaitableJoin {
                    flags: inst(instance),
                    instance: inst(instance),
                },
                Trampoline::WaitableSetWait { instance, options }
                | Trampoline::WaitableSetPoll { instance, options } => {
                    let memory = options_memory(options)
                        .ok_or_else(|| internal("waitable-set.wait without a memory"))?;
                    writer_memories.insert(memory);
                    Builtin::WaitableSetWait {
                        flags: inst(instance),
                        instance: inst(instance),
                        poll: matches!(tramp, Trampoline::WaitableSetPoll { .. }),
                        cancellable: c.options[options].cancellable,
                        memory,
                    }
                }
                Trampoline::SubtaskDrop { instance } => Builtin::SubtaskDrop {
                    flags: inst(instance),
                    instance: inst(instance),
                },
                Trampoline::SubtaskCancel { instance, async_ } => Builtin::SubtaskCancel {
                    flags: inst(instance),
                    instance: inst(instance),
                    async_,
                },
                Trampoline::BackpressureInc { instance } => Builtin::Backpressure {
                    instance: inst(instance),
                    inc: true,
                },
                Trampoline::BackpressureDec { instance } => Builtin::Backpressure {
                    instance: inst(instance),
                    inc: false,
                },
                Trampoline::ThreadYield {
                    instance,
                    cancellable,
                } => Builtin::ThreadYield {
                    flags: inst(instance),
                    cancellable,
                },
                Trampoline::AsyncStartCall { .. } => Builtin::AsyncStart,
                Trampoline::SyncStartCall { .. } => Builtin::SyncStart {
                    results: trampoline_sig(t, tr, 1)?.results,
                },
                Trampoline::EnterSyncCall => Builtin::EnterSyncCall {
                    resources: resources.is_some(),
                },
                Trampoline::ExitSyncCall => Builtin::ExitSyncCall {
                    resources: resources.is_some(),
                },
                Trampoline::PrepareCall { .. }
                | Trampoline::LowerImport { .. }
                | Trampoline::Transcoder { .. }
                | Trampoline::ResourceNew { .. }
                | Trampoline::ResourceRep { .. }
                | Trampoline::ResourceDrop { .. }
                | Trampoline::ResourceTransferOwn
                | Trampoline::ResourceTransferBorrow
                | Trampoline::Trap => continue,
                Trampoline::StreamNew { instance, ty } => Builtin::TransmitNew {
                    flags: inst(instance),
                    ty: stream_ty(ty),
                },
                Trampoline::FutureNew { instance, ty } => Builtin::TransmitNew {
                    flags: inst(instance),
                    ty: future_ty(ty),
                },
                Trampoline::StreamRead {
                    instance,
                    ty,
                    options,
                }
                | Trampoline::StreamWrite {
                    instance,
                    ty,
                    options,
                } => Builtin::TransmitCopy {
                    flags: inst(instance),
                    ty: stream_ty(ty),
                    write: matches!(tramp, Trampoline::StreamWrite { .. }),
                    async_: c.options[options].async_,
                },
                Trampoline::FutureRead {
                    instance,
                    ty,
                    options,
                }
                | Trampoline::FutureWrite {
                    instance,
                    ty,
                    options,
                } => Builtin::TransmitCopy {
                    flags: inst(instance),
                    ty: future_ty(ty),
                    write: matches!(tramp, Trampoline::FutureWrite { .. }),
                    async_: c.options[options].async_,
                },
                Trampoline::StreamCancelRead {
                    instance,
                    ty,
                    async_,
                }
                | Trampoline::StreamCancelWrite {
                    instance,
                    ty,
                    async_,
                } => Builtin::TransmitCancel {
                    flags: inst(instance),
                    ty: stream_ty(ty),
                    write: matches!(tramp, Trampoline::StreamCancelWrite { .. }),
                    async_,
                },
                Trampoline::FutureCancelRead {
                    instance,
                    ty,
                    async_,
                }
                | Trampoline::FutureCancelWrite {
                    instance,
                    ty,
                    async_,
                } => Builtin::TransmitCancel {
                    flags: inst(instance),
                    ty: future_ty(ty),
                    write: matches!(tramp, Trampoline::FutureCancelWrite { .. }),
                    async_,
                },
                Trampoline::StreamDropReadable { instance, ty }
                | Trampoline::StreamDropWritable { instance, ty } => Builtin::TransmitDrop {
                    flags: inst(instance),
                    ty: stream_ty(ty),
                    writable: matches!(tramp, Trampoline::StreamDropWritable { .. }),
                },
                Trampoline::FutureDropReadable { instance, ty }
                | Trampoline::FutureDropWritable { instance, ty } => Builtin::TransmitDrop {
                    flags: inst(instance),
                    ty: future_ty(ty),
                    writable: matches!(tramp, Trampoline::FutureDropWritable { .. }),
                },
                Trampoline::StreamTransfer | Trampoline::FutureTransfer => {
                    let future = matches!(tramp, Trampoline::FutureTransfer);
                    if tables
                        .iter()
                        .any(|&(ty, _, p)| p && (ty & 1 != 0) == future)
                    {
                        return Err(payload_refusal(future));
                    }
                    Builtin::TransmitTransfer { future }
                }
                Trampoline::ErrorContextNew { .. }
                | Trampoline::ErrorContextDebugMessage { .. }
                | Trampoline::ErrorContextDrop { .. }
                | Trampoline::ErrorContextTransfer => {
                    return Err(unsupported("an `error-context`"));
                }
                _ => {
                    // `thread-suspend` etc.: the spec's `thread.suspend`.
                    let name = tramp.symbol_name().replacen('-', ".", 1);
                    return Err(super::stackful_unsupported(&format!(
                        "the cooperative-threads built-in `{name}`"
                    )));
                }
            };
            if let Builtin::TransmitNew { ty, .. }
            | Builtin::TransmitCopy { ty, .. }
            | Builtin::TransmitCancel { ty, .. }
            | Builtin::TransmitDrop { ty, .. } = b
                && has_payload(ty)
            {
                return Err(payload_refusal(ty & 1 != 0));
            }
            builtin_of.insert(Key::Trampoline(tr), builtins.len() as u32);
            builtins.push(b);
        }
        let mut host_lowers = Vec::new();
        for &(tr, slot, instance) in &host.async_lowers {
            builtin_of.insert(Key::Trampoline(tr), builtins.len() as u32);
            builtins.push(Builtin::AsyncHostLower {
                instance,
                host: host_lowers.len() as u32,
            });
            host_lowers.push(slot);
        }
        for (intrinsic, b) in [
            (
                UnsafeIntrinsic::ContextGetI32_0,
                Builtin::ContextGet { slot: 0 },
            ),
            (
                UnsafeIntrinsic::ContextGetI32_1,
                Builtin::ContextGet { slot: 1 },
            ),
            (
                UnsafeIntrinsic::ContextSetI32_0,
                Builtin::ContextSet { slot: 0 },
            ),
            (
                UnsafeIntrinsic::ContextSetI32_1,
                Builtin::ContextSet { slot: 1 },
            ),
        ] {
            builtin_of.insert(Key::Context(intrinsic), builtins.len() as u32);
            builtins.push(b);
        }
        let mut args: Vec<Ref> = art::RuntimeFunc::ALL.iter().map(|f| rt(*f)).collect();
        args.push(item(glue_id, glue::WRITE_EVENT));
        if let Some(r) = resources {
            args.push(r.func(crate::intrinsics::resources::RuntimeFunc::EnterSyncCall));
            args.push(r.func(crate::intrinsics::resources::RuntimeFunc::ExitSyncCall));
            args.push(r.func(crate::intrinsics::resources::RuntimeFunc::EndScope));
        }
        args.push(item(runtime, glue::RT_MEMORY));
        args.push(item(glue_id, glue::RETURNS));
        for f in flags.iter().take(n_instances as usize) {
            args.push(item(*f, crate::intrinsics::FLAGS));
        }
        args.extend(host_lowers.iter().map(|&k| stub(k)));
        let sigs: Vec<CoreSig> = host_lowers
            .iter()
            .map(|&k| host.sigs[k as usize].clone())
            .collect();
        let builtins_id = plan.push(
            Cow::Owned(glue::builtins_module(
                &builtins,
                n_instances,
                n_adapters,
                resources.is_some(),
                &sigs,
            )),
            args,
            "async built-ins",
        );
        Ok(AsyncRuntime {
            glue: glue_id,
            runtime,
            prepares: prepares_id,
            prepare_at,
            builtins: builtins_id,
            builtin_of,
            adapters,
            rewritten,
            n_adapters,
            outer_index,
            scope: resources.map(|r| {
                (
                    r.func(crate::intrinsics::resources::RuntimeFunc::EnterSyncCall),
                    r.func(crate::intrinsics::resources::RuntimeFunc::ExitSyncCall),
                    r.func(crate::intrinsics::resources::RuntimeFunc::ParkScope),
                )
            }),
            writer_memories,
            n_memories,
        })
    }

    /// What satisfies import `position` of an instance of `module`, when it
    /// is an adapter's `[prepare-call]` (see [`analyse_module`]).
    pub(super) fn module_arg(&self, module: StaticModuleIndex, position: usize) -> Option<Ref> {
        self.prepare_at
            .get(&(module, position))
            .map(|k| item(self.prepares, &k.to_string()))
    }

    /// The bytes to instantiate for `module`: a FACT adapter module with
    /// async adapters without its `ref.func`s ([`null_func_refs`]).
    pub(super) fn module_bytes(&self, module: StaticModuleIndex) -> Option<&[u8]> {
        self.rewritten.get(&module).map(Vec::as_slice)
    }

    /// What satisfies trampoline `tr`, if it is one of the async runtime's
    /// built-ins.
    pub(super) fn trampoline(&self, tr: TrampolineIndex) -> Option<Ref> {
        self.builtin_of
            .get(&Key::Trampoline(tr))
            .map(|k| item(self.builtins, &k.to_string()))
    }

    /// What satisfies a context intrinsic.
    pub(super) fn intrinsic(&self, i: UnsafeIntrinsic) -> Option<Ref> {
        self.builtin_of
            .get(&Key::Context(i))
            .map(|k| item(self.builtins, &k.to_string()))
    }

    /// FACT's `task_may_block` global.
    pub(super) fn task_may_block(&self) -> Ref {
        item(self.glue, glue::TASK_MAY_BLOCK)
    }

    /// A function of the runtime.
    pub(super) fn func(&self, f: art::RuntimeFunc) -> Ref {
        item(self.runtime, f.name())
    }

    /// After memory `m` is defined (`r`): its event writer, if a
    /// `waitable-set.wait` / `poll` writes into it.
    pub(super) fn memory_defined(&self, m: u32, r: Ref, plan: &mut Plan<'_>) {
        if self.writer_memories.contains(&m) {
            plan.push(
                Cow::Owned(glue::writer_module(m, self.n_memories)),
                vec![r, item(self.glue, glue::WRITERS)],
                format!("async event writer of memory {m}"),
            );
        }
    }

    /// After module `module` is instantiated as `instance`: the thunks of
    /// its async adapters. `callback` and `post_return` give the lift's
    /// functions, `flags` the component instances' flags instances.
    pub(super) fn module_instantiated(
        &self,
        module: StaticModuleIndex,
        instance: InstanceId,
        callback: &dyn Fn(RuntimeCallbackIndex) -> Option<Ref>,
        post_return: &dyn Fn(RuntimePostReturnIndex) -> Option<Ref>,
        flags: &[InstanceId],
        plan: &mut Plan<'_>,
    ) -> Result<(), Diagnostic> {
        let Some(adapters) = self.adapters.get(&module) else {
            return Ok(());
        };
        let rt = |f: art::RuntimeFunc| item(self.runtime, f.name());
        for a in adapters {
            let thunks = Thunks {
                adapter: a.index,
                start: a.start.clone(),
                callee: a.callee_sig.clone(),
                ret: a.ret.clone(),
                callback: a.callback.is_some(),
                post_return: a.post_return.is_some(),
                retptr: a.retptr,
                resources: self.scope.is_some(),
            };
            let name = |p: &str| item(instance, &format!("{p}adapter{}", a.n));
            let mut args = vec![
                rt(art::RuntimeFunc::Started),
                rt(art::RuntimeFunc::Params),
                rt(art::RuntimeFunc::SetResult),
                rt(art::RuntimeFunc::SyncCalleeReturned),
                rt(art::RuntimeFunc::SyncCalleeDone),
                item(self.runtime, glue::RT_MEMORY),
                item(self.glue, glue::THUNKS),
                item(self.glue, glue::RETURNS),
                name("[async-start]"),
                name("[adapter-callee]"),
                name("[async-return]"),
            ];
            if let Some(cb) = a.callback {
                args.push(callback(cb).ok_or_else(|| internal("a callback not yet extracted"))?);
            }
            if let Some(pr) = a.post_return {
                args.push(
                    post_return(pr).ok_or_else(|| internal("a post-return not yet extracted"))?,
                );
                args.push(item(flags[a.callee as usize], crate::intrinsics::FLAGS));
            }
            if let Some((enter, exit, park)) = &self.scope {
                args.push(enter.clone());
                args.push(exit.clone());
                if a.callback.is_some() {
                    args.push(park.clone());
                    args.push(rt(art::RuntimeFunc::LiftPending));
                    args.push(rt(art::RuntimeFunc::SetScope));
                }
            }
            plan.push(
                Cow::Owned(glue::thunks_module(&thunks, self.n_adapters)),
                args,
                format!("async thunks of adapter{}", a.n),
            );
        }
        Ok(())
    }

    /// The entry and callback of outer export `export`, lifted with the
    /// async ABI (see [`glue::outer_export_module`]); `o` is filled but
    /// for its number here. `refs`: the inner callee and callback, the
    /// host's `task.return`, `context.get` and `context.set`.
    pub(super) fn outer_export(
        &self,
        export: ExportIndex,
        mut o: OuterExport,
        refs: [Ref; 5],
        plan: &mut Plan<'_>,
    ) -> Result<(Ref, Ref), Diagnostic> {
        o.adapter = *self
            .outer_index
            .get(&export)
            .ok_or_else(|| internal("an async export not counted"))?;
        let mut args = vec![
            item(self.runtime, art::RuntimeFunc::Started.name()),
            item(self.runtime, art::RuntimeFunc::Params.name()),
            item(self.runtime, art::RuntimeFunc::OuterStart.name()),
            item(self.runtime, art::RuntimeFunc::OuterRun.name()),
            item(self.runtime, art::RuntimeFunc::OuterDrive.name()),
            item(self.runtime, glue::RT_MEMORY),
            item(self.glue, glue::THUNKS),
            item(self.glue, glue::RETURNS),
        ];
        args.extend(refs);
        let id = plan.push(
            Cow::Owned(glue::outer_export_module(&o, self.n_adapters)),
            args,
            format!(
                "async outer export {} of component instance {}",
                export.as_u32(),
                o.instance
            ),
        );
        Ok((item(id, "entry"), item(id, "callback")))
    }

    /// The entry and exit of an outer export lifted with the sync ABI from
    /// component instance `instance` (`callee`, signature `sig`, with its
    /// `post_return`): the call runs as a task of the runtime, from the
    /// entry to the exit, the post-return the wrapper names.
    pub(super) fn entry(
        &self,
        instance: u32,
        async_function: bool,
        sig: &CoreSig,
        callee: Ref,
        post_return: Option<Ref>,
        plan: &mut Plan<'_>,
    ) -> (Ref, Ref) {
        let has_pr = post_return.is_some();
        let mut args = vec![
            self.func(art::RuntimeFunc::HostCallBegin),
            self.func(art::RuntimeFunc::HostCallEnd),
            callee,
        ];
        args.extend(post_return);
        let id = plan.push(
            Cow::Owned(glue::entry_module(instance, async_function, sig, has_pr)),
            args,
            format!("async entry of an export of component instance {instance}"),
        );
        (item(id, "entry"), item(id, "exit"))
    }
}

/// The table of every stream and future type, as the runtime numbers them
/// (`table << 1 | future`), with its instance and whether its type has a
/// payload.
fn transmit_tables(t: &Translation) -> Vec<(u32, u32, bool)> {
    let c = &t.component;
    let streams = (0..c.num_stream_tables as u32).map(|i| {
        let table = &t.types[TypeStreamTableIndex::from_u32(i)];
        (
            i << 1,
            table.instance.as_u32(),
            t.types[table.ty].payload.is_some(),
        )
    });
    let futures = (0..c.num_future_tables as u32).map(|i| {
        let table = &t.types[TypeFutureTableIndex::from_u32(i)];
        (
            i << 1 | 1,
            table.instance.as_u32(),
            t.types[table.ty].payload.is_some(),
        )
    });
    streams.chain(futures).collect()
}

/// The runtime module's imports, in order.
fn runtime_imports(bytes: &[u8]) -> Result<Vec<GlueFunc>, Diagnostic> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::ImportSection(s)) = payload {
            for imp in s.into_imports() {
                let imp = imp.map_err(|e| internal(&format!("the async runtime: {e}")))?;
                out.push(
                    GlueFunc::parse(imp.name)
                        .ok_or_else(|| internal("the async runtime imports an unknown function"))?,
                );
            }
        }
    }
    Ok(out)
}
