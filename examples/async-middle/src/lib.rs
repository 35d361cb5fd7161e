//! `async-middle`: the middle of `examples/async-chain.wasm`. `relay` (an
//! `async func`) is lifted synchronously and lowers `double` synchronously,
//! so the chain is async→sync, then sync→async.

wit_bindgen::generate!({
    world: "middle",
    path: "../wit/async",
    sync: [
        "export:meld:async-demo/middle-api#relay",
        "import:meld:async-demo/leaf-api#double",
    ],
});

struct Middle;

impl exports::meld::async_demo::middle_api::Guest for Middle {
    fn relay(x: u32) -> u32 {
        meld::async_demo::leaf_api::double(x + 1) + 1
    }
}

export!(Middle);
