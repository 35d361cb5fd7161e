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

use crate::compose::Composition;
use crate::values::value;
use arbitrary::Unstructured;
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Engine, Store};

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
    /// the place is compared).
    Trapped,
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

/// Runs `calls` on the component `bytes` (one instance; a trap ends the
/// run).
///
/// # Errors
/// When the component does not compile or instantiate.
pub fn run(
    engine: &Engine,
    bytes: &[u8],
    n_funcs: usize,
    calls: &[Call],
) -> anyhow::Result<Vec<Observed>> {
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    for i in 0..n_funcs {
        linker
            .root()
            .func_new(&format!("h{i}"), |mut cx, _ty, params, results| {
                cx.data_mut().seen = Some(params.to_vec());
                if let (Some(r), Some(slot)) = (cx.data().reply.clone(), results.first_mut()) {
                    *slot = r;
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
        store.data_mut().seen = None;
        store.data_mut().reply = call.reply.clone();
        let mut results = vec![Val::Bool(false); usize::from(call.reply.is_some())];
        match func.call(&mut store, &call.params, &mut results) {
            Ok(()) => out.push(Observed::Returned {
                host_saw: store.data_mut().seen.take(),
                result: results.pop(),
            }),
            Err(_) => {
                out.push(Observed::Trapped);
                break;
            }
        }
    }
    Ok(out)
}
