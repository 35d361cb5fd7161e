//! The differential oracle: a composition and calls with random values run
//! under wasmtime as given and as fused; the host at both ends records what
//! reaches it.
//!
//! For each call the host's function `h{i}` records the parameters it
//! receives and returns the result chosen for that call; the outer export
//! `f{i}` returns what came back through the chain. Since every inner
//! component forwards, the expected transcript is known: the host sees the
//! call's parameters and the caller gets the host's result. The unfused run
//! must give exactly that (or the generator is wrong); the fused run must
//! give the same as the unfused one (or Meld is wrong).
//!
//! The composition's resource types `r0`, `r1`, … are the host's
//! (`ResourceType::host_dynamic(K)`); a handle of `rK` with rep `N` is
//! made as the call starts and taken back at the far end, so both ends
//! compare reps: a handle that arrives as the wrong type, own where borrow
//! is due or not at all shows as a difference.

use crate::compose::Composition;
use crate::types::{FuncType, Type};
use crate::values::value;
use arbitrary::Unstructured;
use wasmtime::component::{Component, Linker, ResourceDynamic, ResourceType, Val};
use wasmtime::{AsContextMut, Engine, Store};

/// One call: export `f{func}` with `params`; the host returns `reply`.
#[derive(Clone, Debug)]
pub struct Call {
    /// Which function.
    pub func: usize,
    /// The parameters.
    pub params: Vec<Val>,
    /// What the host's function returns.
    pub reply: Option<Val>,
}

/// What one call gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// It returned: what the host's function received, and the result.
    Returned {
        /// The parameters the host's function received (`None`: not called).
        host_saw: Option<Vec<Val>>,
        /// The export's result.
        result: Option<Val>,
    },
    /// It trapped (or failed otherwise: a lift out of bounds is an error
    /// of wasmtime's host side unfused, a trap of an adapter fused, so only
    /// the place is compared, not the message).
    Trapped(Message),
}

/// A trap's message: shown in reports, equal to any other.
#[derive(Clone, Debug)]
pub struct Message(pub String);

impl PartialEq for Message {
    fn eq(&self, _: &Message) -> bool {
        true
    }
}

/// Random calls of the composition's functions.
pub fn calls(u: &mut Unstructured<'_>, c: &Composition) -> arbitrary::Result<Vec<Call>> {
    let n = u.int_in_range(1..=4)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let func = u.choose_index(c.funcs.len())?;
        let f = &c.funcs[func];
        let params = f
            .params
            .iter()
            .map(|t| value(u, t))
            .collect::<arbitrary::Result<_>>()?;
        let reply = match &f.result {
            Some(t) => Some(value(u, t)?),
            None => None,
        };
        out.push(Call {
            func,
            params,
            reply,
        });
    }
    Ok(out)
}

/// The transcript a correct run gives when no component is faulty.
pub fn expected(calls: &[Call]) -> Vec<Observed> {
    calls
        .iter()
        .map(|c| Observed::Returned {
            host_saw: Some(c.params.clone()),
            result: c.reply.clone(),
        })
        .collect()
}

struct Host {
    seen: Option<Vec<Val>>,
    reply: Option<Val>,
}

/// A function applied to each handle of a value, with the handle's type.
type OnHandle<'a> = dyn FnMut(&Type, Val) -> Val + 'a;

/// `v`, a value of `ty`, with every handle (or its stand-in) replaced by
/// `f(handle type, value)`.
fn map_handles(ty: &Type, v: Val, f: &mut OnHandle<'_>) -> Val {
    let mut boxed = |t: &Type, v: Box<Val>| Box::new(map_handles(t, *v, f));
    match (ty, v) {
        (Type::Own(_) | Type::Borrow(_), v) => f(ty, v),
        (Type::List(t), Val::List(vs)) => {
            Val::List(vs.into_iter().map(|v| map_handles(t, v, f)).collect())
        }
        (Type::Tuple(ts), Val::Tuple(vs)) => Val::Tuple(
            ts.iter()
                .zip(vs)
                .map(|(t, v)| map_handles(t, v, f))
                .collect(),
        ),
        (Type::Record(ts), Val::Record(fields)) => Val::Record(
            ts.iter()
                .zip(fields)
                .map(|(t, (name, v))| (name, map_handles(t, v, f)))
                .collect(),
        ),
        (Type::Variant(cs), Val::Variant(name, payload)) => {
            let case = name[1..]
                .parse::<usize>()
                .ok()
                .and_then(|i| cs.get(i)?.as_ref());
            let payload = match (case, payload) {
                (Some(t), Some(v)) => Some(boxed(t, v)),
                (_, p) => p,
            };
            Val::Variant(name, payload)
        }
        (Type::Option(t), Val::Option(p)) => Val::Option(p.map(|v| boxed(t, v))),
        (Type::Result(ok, err), Val::Result(r)) => Val::Result(match (r, ok, err) {
            (Ok(Some(v)), Some(t), _) => Ok(Some(boxed(t, v))),
            (Err(Some(v)), _, Some(t)) => Err(Some(boxed(t, v))),
            (r, ..) => r,
        }),
        (_, v) => v,
    }
}

/// `v` with each handle stand-in (its rep) made a handle of `store`; a
/// borrow is lent from an own handle (the host can make borrows only
/// inside a call), which the caller drops after the call.
fn make_handles(mut store: impl AsContextMut, ty: &Type, v: Val) -> Val {
    map_handles(ty, v, &mut |ty, v| {
        let handle = match (ty, v) {
            (Type::Own(k) | Type::Borrow(k), Val::U32(rep)) => ResourceDynamic::new_own(rep, *k),
            (_, v) => return v,
        };
        match handle.try_into_resource_any(&mut store) {
            Ok(h) => Val::Resource(h),
            Err(e) => Val::String(format!("no handle: {e}")),
        }
    })
}

/// `v` with each handle taken out of `store` and replaced by its rep; a
/// handle of the wrong type or ownership is replaced by a description.
fn take_handles(mut store: impl AsContextMut, ty: &Type, v: Val) -> Val {
    map_handles(ty, v, &mut |ty, v| {
        let (Type::Own(k) | Type::Borrow(k), Val::Resource(h)) = (ty, &v) else {
            return Val::String(format!("{v:?} where a handle of {ty:?} is due"));
        };
        let owned = h.owned();
        match h.try_into_resource_dynamic(&mut store) {
            Ok(r) if r.ty() == *k && owned == matches!(ty, Type::Own(_)) => Val::U32(r.rep()),
            Ok(r) => Val::String(format!(
                "a handle of r{} (owned: {owned}) where {ty:?} is due",
                r.ty()
            )),
            Err(e) => Val::String(format!("a handle that cannot be taken: {e}")),
        }
    })
}

/// `vs`, values of `tys`, through `f`.
fn each_typed(tys: &[Type], vs: &[Val], mut f: impl FnMut(&Type, Val) -> Val) -> Vec<Val> {
    tys.iter().zip(vs).map(|(t, v)| f(t, v.clone())).collect()
}

/// Runs `calls` on the component `bytes`, which imports `h{i}` of type
/// `funcs[i]` and resource types `r0` … `r{resources - 1}` from the host,
/// and exports `f{i}` (one instance; a trap ends the run).
///
/// # Errors
/// When the component does not compile or instantiate.
pub fn run(
    engine: &Engine,
    bytes: &[u8],
    funcs: &[FuncType],
    resources: u32,
    calls: &[Call],
) -> anyhow::Result<Vec<Observed>> {
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    for k in 0..resources {
        linker
            .root()
            .resource(&format!("r{k}"), ResourceType::host_dynamic(k), |_, _| {
                Ok(())
            })?;
    }
    for (i, f) in funcs.iter().enumerate() {
        let f = f.clone();
        linker
            .root()
            .func_new(&format!("h{i}"), move |mut cx, _ty, params, results| {
                let seen = each_typed(&f.params, params, |t, v| take_handles(&mut cx, t, v));
                cx.data_mut().seen = Some(seen);
                if let (Some(r), Some(t), Some(slot)) =
                    (cx.data().reply.clone(), &f.result, results.first_mut())
                {
                    *slot = make_handles(&mut cx, t, r);
                }
                Ok(())
            })?;
    }
    let mut store = Store::new(
        engine,
        Host {
            seen: None,
            reply: None,
        },
    );
    let instance = linker.instantiate(&mut store, &component)?;
    let mut out = Vec::new();
    for call in calls {
        let func = instance
            .get_func(&mut store, format!("f{}", call.func))
            .ok_or_else(|| anyhow::anyhow!("no export f{}", call.func))?;
        let f = &funcs[call.func];
        store.data_mut().seen = None;
        store.data_mut().reply = call.reply.clone();
        let params = each_typed(&f.params, &call.params, |t, v| {
            make_handles(&mut store, t, v)
        });
        let mut results = vec![Val::Bool(false); usize::from(call.reply.is_some())];
        let called = func.call(&mut store, &params, &mut results);
        // The own handles borrows were lent from (after a trap the
        // instance is gone, and so are its loans).
        if called.is_ok() {
            for (t, v) in f.params.iter().zip(params) {
                if let (Type::Borrow(_), Val::Resource(h)) = (t, v) {
                    h.resource_drop(&mut store)?;
                }
            }
        }
        match called {
            Ok(()) => {
                let result = match (results.pop(), &f.result) {
                    (Some(v), Some(t)) => Some(take_handles(&mut store, t, v)),
                    (v, _) => v,
                };
                out.push(Observed::Returned {
                    host_saw: store.data_mut().seen.take(),
                    result,
                });
            }
            Err(e) => {
                out.push(Observed::Trapped(Message(format!("{e:#}"))));
                break;
            }
        }
    }
    Ok(out)
}
