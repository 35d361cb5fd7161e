//! `async-leaf`: the end of `examples/async-chain.wasm`, an async lift.

wit_bindgen::generate!({
    world: "leaf",
    path: "../wit/async",
});

struct Leaf;

impl exports::meld::async_demo::leaf_api::Guest for Leaf {
    async fn double(x: u32) -> u32 {
        wit_bindgen::yield_async().await;
        x * 2
    }
}

export!(Leaf);
