//! What the async tests share: an engine with component-model async, and
//! calls through wasmtime's concurrent API with the fixtures' async host
//! import `meld:async-demo/clock` defined in Rust.

use meld_tests::Host;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

/// An engine with component-model async on (as `wasmtime run -W
/// component-model-async=y`).
pub fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.wasm_component_model_async(true);
        config.concurrency_support(true);
        Engine::new(&config).expect("engine")
    })
}

/// Pending once, then ready: the host's `clock.tick` completes on a later
/// turn of the event loop, so the guest's subtask is really pending.
#[derive(Default)]
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

pub use meld_tests::block_on;

/// Adds WASI and the fixtures' async host import `meld:async-demo/clock`
/// (`tick(ms)`: `ms + 1` on a later turn of the event loop; never for
/// `u32::MAX`) to `linker`.
fn add_host(linker: &mut Linker<Host>) -> Result<(), String> {
    wasmtime_wasi::p2::add_to_linker_async(linker).map_err(|e| format!("{e:#}"))?;
    linker
        .instance("meld:async-demo/clock")
        .and_then(|mut i| {
            i.func_wrap_concurrent("tick", |_, (ms,): (u32,)| {
                Box::pin(async move {
                    if ms == u32::MAX {
                        // Never completes: only cancellation ends it.
                        std::future::pending::<()>().await;
                    }
                    PendingOnce::default().await;
                    Ok((ms + 1,))
                })
            })
        })
        .map_err(|e| format!("{e:#}"))?;
    Ok(())
}

/// Instantiates `bytes` (with WASI and the host's `meld:async-demo/clock`)
/// and calls the exported `async func` `func` of instance `interface` (or
/// of the component, for "") with `params`, returning its result or the
/// trap's message.
pub fn call<P, R>(bytes: &[u8], interface: &str, func: &str, params: P) -> Result<R, String>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower + Send + Sync + 'static,
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift + Send + Sync + 'static,
{
    call_together(bytes, interface, vec![(func, params)])?
        .pop()
        .expect("one call, one result")
}

/// Instantiates `bytes` once and calls the `async func`s of instance
/// `interface` (or of the component, for "") named in `calls`, each with
/// its parameters, all in flight at once in that one instance (started in
/// order, then driven together by wasmtime's event loop); each call's
/// result or trap message, in the order of `calls`.
pub fn call_together<P, R>(
    bytes: &[u8],
    interface: &str,
    calls: Vec<(&str, P)>,
) -> Result<Vec<Result<R, String>>, String>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower + Send + Sync + 'static,
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift + Send + Sync + 'static,
{
    let engine = engine();
    let component = Component::new(engine, bytes).map_err(|e| format!("{e:#}"))?;
    let mut linker = Linker::<Host>::new(engine);
    add_host(&mut linker)?;
    let mut store = Store::new(engine, Host::default());
    block_on(async {
        let instance = linker
            .instantiate_async(&mut store, &component)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let iface = match interface {
            "" => None,
            _ => Some(
                instance
                    .get_export_index(&mut store, None, interface)
                    .ok_or_else(|| format!("no export {interface}"))?,
            ),
        };
        let mut typed = Vec::new();
        for (func, params) in calls {
            let index = instance
                .get_export_index(&mut store, iface.as_ref(), func)
                .ok_or_else(|| format!("no export {interface}#{func}"))?;
            let f = instance
                .get_typed_func::<P, R>(&mut store, index)
                .map_err(|e| format!("{e:#}"))?;
            typed.push((f, params));
        }
        store
            .run_concurrent(async move |a| {
                futures::future::join_all(
                    typed
                        .into_iter()
                        .map(|(f, params)| async move { f.call_concurrent(a, params).await }),
                )
                .await
            })
            .await
            .map(|all| {
                all.into_iter()
                    .map(|r| r.map_err(|e| format!("{e:#}")))
                    .collect()
            })
            .map_err(|e| format!("{e:#}"))
    })
}
