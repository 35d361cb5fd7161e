//! `async-runner`: the scenarios of `examples/async-calls.wasm`. Each one
//! calls the library through async lowers (and `sum` through a sync lower of
//! an async lift) and returns a transcript: the results it saw, then the
//! library's journal.

wit_bindgen::generate!({
    world: "runner",
    path: "../wit/async",
    sync: ["import:meld:async-demo/lib#sum", "import:meld:async-demo/lib#wait-host-sync"],
});

use exports::meld::async_demo::scenarios::Guest;
use futures::FutureExt;
use meld::async_demo::lib;
use meld::async_demo::types::{Counter, Point};

struct Runner;

fn transcript(mut out: Vec<String>) -> Vec<String> {
    out.push("--- journal".to_string());
    out.extend(lib::journal());
    out
}

impl Guest for Runner {
    async fn basic() -> Vec<String> {
        let mut out = Vec::new();
        out.push(lib::echo("héllo wörld".to_string()).await);
        out.push(format!("{}", lib::scale(Point { x: 3, y: -4, label: "p".into() }, 7).await.x));
        let p = lib::scale(Point { x: 1, y: 2, label: "q".into() }, -3).await;
        out.push(format!("{} {} {}", p.x, p.y, p.label));
        let c = Counter::new(41);
        out.push(format!("peek {}", lib::peek(&c).await));
        out.push(format!("get {}", c.get()));
        out.push(format!("consume {}", lib::consume(c).await));
        out.push(lib::many(1, 2, 3, 4, "many".to_string()).await);
        transcript(out)
    }

    async fn interleave() -> Vec<String> {
        let (a, b) = futures::join!(lib::spin(3), lib::echo("between".to_string()));
        transcript(vec![format!("spin {a}"), b])
    }

    async fn backpressure() -> Vec<String> {
        let (a, b, c) = futures::join!(lib::guarded(1), lib::guarded(2), lib::guarded(3));
        transcript(vec![format!("{a} {b} {c}")])
    }

    async fn cancel() -> Vec<String> {
        // Polled once (the call starts and waits), then dropped: cancelled.
        let first = lib::never().now_or_never();
        let after = lib::echo("after".to_string()).await;
        transcript(vec![format!("never: {first:?}"), after])
    }

    async fn sync_call() -> Vec<String> {
        let xs: Vec<u32> = (1..=100).collect();
        transcript(vec![format!("sum {}", lib::sum(&xs))])
    }

    async fn host() -> Vec<String> {
        let (a, b) = futures::join!(lib::wait_host(5), lib::echo("meanwhile".to_string()));
        transcript(vec![format!("wait-host {a}"), b])
    }

    async fn host_sync() -> Vec<String> {
        transcript(vec![format!("wait-host-sync {}", lib::wait_host_sync(3))])
    }

    async fn borrow_wait() -> Vec<String> {
        let c = Counter::new(5);
        let (a, b) = futures::join!(lib::peek_later(&c), lib::echo("during".to_string()));
        let after = c.get();
        drop(c);
        transcript(vec![format!("peek-later {a}"), b, format!("get {after}")])
    }

    async fn wakeup() -> Vec<String> {
        let (a, ()) = futures::join!(lib::wait_signal(), lib::signal(7));
        transcript(vec![format!("wait-signal {a}")])
    }

    async fn bench(rounds: u32, yielding: bool) -> u64 {
        let mut sum = 0u64;
        for i in 0..rounds {
            let r = if yielding { lib::ping_yield(i).await } else { lib::ping(i).await };
            sum += u64::from(r);
        }
        sum
    }
}

export!(Runner);
