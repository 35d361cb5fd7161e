//! `bench-app`: the caller of the benchmark composition. Exports
//! `run(workload, rounds) -> u64`, which loops over one workload shape and
//! folds every result into a checksum (so that fused and unfused runs can be
//! compared, and nothing is optimised away).

wit_bindgen::generate!({
    world: "app",
    path: "../wit/bench",
});

use example::bench::calls::{self, Counter, Point};

struct App;

/// 64 ASCII bytes.
const ASCII: &str = "The quick brown fox jumps over the lazy dog, 0123456789 ABCDEFG.";
/// 64 bytes of UTF-8 with 2-, 3- and 4-byte scalars.
const UNICODE: &str = "héllo wörld ✓ 日本語 🦀 brûlée — naïve café ÆØ!";

fn mix(h: u64, x: u64) -> u64 {
    (h ^ x).wrapping_mul(0x100_0000_01b3)
}

fn echo(h: u64, s: &str) -> u64 {
    let r = calls::echo(s);
    mix(h, r.len() as u64 ^ u64::from(r.as_bytes()[r.len() / 2]))
}

fn scale(h: u64, i: u32) -> u64 {
    let p = calls::scale(Point { x: f64::from(i), y: 0.5, label: i }, 1.5);
    mix(h, (p.x + p.y) as u64 ^ u64::from(p.label))
}

impl Guest for App {
    fn run(workload: Workload, rounds: u32) -> u64 {
        let list: Vec<u32> = (0..256).collect();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for i in 0..rounds {
            match workload {
                Workload::Noop => calls::noop(i),
                Workload::Echo => h = echo(h, ASCII),
                Workload::EchoUnicode => h = echo(h, UNICODE),
                Workload::Sum => h = mix(h, u64::from(calls::sum(&list))),
                Workload::Scale => h = scale(h, i),
                Workload::Resource => {
                    let c = Counter::new(i);
                    c.add(1);
                    c.add(2);
                    c.add(3);
                    h = mix(h, u64::from(c.get()));
                    h = mix(h, u64::from(calls::finish(c)));
                }
                Workload::Mix => {
                    for k in 0..8 {
                        calls::noop(i ^ k);
                    }
                    h = echo(h, ASCII);
                    h = echo(h, UNICODE);
                    h = mix(h, u64::from(calls::sum(&list)));
                    h = scale(h, i);
                    h = scale(h, i ^ 1);
                }
            }
        }
        mix(h, u64::from(rounds))
    }
}

export!(App);
