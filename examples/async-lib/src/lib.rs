//! `async-lib`: the library of `examples/async-calls.wasm`. Every export of
//! `meld:async-demo/lib` but `journal` is an `async func` lifted with the
//! callback ABI (wit-bindgen's async runtime); `clock.tick` is an async host
//! import.

wit_bindgen::generate!({
    world: "library",
    path: "../wit/async",
});

use exports::meld::async_demo::lib::{Counter, Guest, Point};
use exports::meld::async_demo::types::{Guest as TypesGuest, GuestCounter};
use std::cell::{Cell, RefCell};
use std::task::{Poll, Waker};

thread_local! {
    static JOURNAL: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// The value `signal` hands over, and the waker of the task waiting
    /// for it in `wait-signal`.
    static SIGNAL: RefCell<(Option<u32>, Option<Waker>)> = const { RefCell::new((None, None)) };
}

fn journal(line: String) {
    JOURNAL.with(|j| j.borrow_mut().push(line));
}

struct Lib;

/// The resource `counter`: a value that `get` reads.
pub struct MyCounter {
    value: Cell<u32>,
}

impl GuestCounter for MyCounter {
    fn new(start: u32) -> Self {
        MyCounter {
            value: Cell::new(start),
        }
    }

    fn get(&self) -> u32 {
        self.value.get()
    }
}

impl Drop for MyCounter {
    fn drop(&mut self) {
        journal(format!("counter {} dropped", self.value.get()));
    }
}

impl TypesGuest for Lib {
    type Counter = MyCounter;
}

/// Journals the cancellation of `never` when its task is dropped.
struct OnCancel;

impl Drop for OnCancel {
    fn drop(&mut self) {
        journal("never cancelled".to_string());
    }
}

impl Guest for Lib {
    async fn echo(s: String) -> String {
        journal(format!("echo {s}"));
        format!("{s}, {}", s.chars().rev().collect::<String>())
    }

    async fn sum(xs: Vec<u32>) -> u64 {
        journal(format!("sum of {}", xs.len()));
        xs.iter().map(|&x| u64::from(x)).sum()
    }

    async fn scale(p: Point, k: i32) -> Point {
        Point {
            x: p.x.wrapping_mul(k),
            y: p.y.wrapping_mul(k),
            label: format!("{}×{k}", p.label),
        }
    }

    async fn peek(c: exports::meld::async_demo::types::CounterBorrow<'_>) -> u32 {
        let v = c.get::<MyCounter>().get();
        journal(format!("peek {v}"));
        v
    }

    async fn peek_later(c: exports::meld::async_demo::types::CounterBorrow<'_>) -> u32 {
        journal("peek-later waits".to_string());
        wit_bindgen::yield_async().await;
        let v = c.get::<MyCounter>().get();
        journal(format!("peek-later {v}"));
        v
    }

    async fn consume(c: Counter) -> u32 {
        let v = c.get::<MyCounter>().get();
        c.get::<MyCounter>().value.set(v + 1000);
        journal(format!("consume {v}"));
        v * 2
    }

    async fn many(a: u32, b: u32, c: u32, d: u32, e: String) -> String {
        format!("{e}: {}", a + 10 * b + 100 * c + 1000 * d)
    }

    async fn spin(n: u32) -> u32 {
        for i in 0..n {
            journal(format!("spin {i}"));
            wit_bindgen::yield_async().await;
        }
        journal("spin done".to_string());
        n
    }

    async fn guarded(id: u32) -> u32 {
        journal(format!("guarded {id} enters"));
        wit_bindgen::backpressure_inc();
        wit_bindgen::yield_async().await;
        wit_bindgen::yield_async().await;
        wit_bindgen::backpressure_dec();
        journal(format!("guarded {id} leaves"));
        id * 10
    }

    async fn never() -> u32 {
        journal("never starts".to_string());
        let _guard = OnCancel;
        // `tick(u32::MAX)` never completes: the task waits until it is
        // cancelled, and cancelling it cancels the host subtask too.
        meld::async_demo::clock::tick(u32::MAX).await
    }

    async fn wait_host(ms: u32) -> u32 {
        journal(format!("wait-host {ms}"));
        let t = meld::async_demo::clock::tick(ms).await;
        journal(format!("tick {t}"));
        t * 2
    }

    async fn wait_signal() -> u32 {
        journal("wait-signal waits".to_string());
        let v = std::future::poll_fn(|cx| {
            SIGNAL.with(|s| {
                let mut s = s.borrow_mut();
                match s.0.take() {
                    Some(v) => Poll::Ready(v),
                    None => {
                        s.1 = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            })
        })
        .await;
        journal(format!("wait-signal got {v}"));
        v
    }

    async fn signal(v: u32) {
        journal(format!("signal {v}"));
        let waker = SIGNAL.with(|s| {
            let mut s = s.borrow_mut();
            s.0 = Some(v);
            s.1.take()
        });
        if let Some(w) = waker {
            w.wake();
        }
    }

    async fn ping(x: u32) -> u32 {
        x.wrapping_add(1)
    }

    async fn ping_yield(x: u32) -> u32 {
        wit_bindgen::yield_async().await;
        x.wrapping_add(1)
    }

    async fn wait_host_sync(ms: u32) -> u32 {
        Self::wait_host(ms).await
    }

    fn journal() -> Vec<String> {
        JOURNAL.with(|j| std::mem::take(&mut *j.borrow_mut()))
    }
}

export!(Lib);
