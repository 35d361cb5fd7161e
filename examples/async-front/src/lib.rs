//! `async-front`: the start of `examples/async-chain.wasm`; lowers `relay`
//! async and runs two calls at once.

wit_bindgen::generate!({
    world: "front",
    path: "../wit/async",
});

use meld::async_demo::middle_api::relay;

struct Front;

impl exports::meld::async_demo::chain::Guest for Front {
    async fn run(x: u32) -> u32 {
        let (a, b) = futures_join(relay(x), relay(x + 100)).await;
        a * 1000 + b
    }
}

/// Both futures polled in turn until both are ready.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

export!(Front);
