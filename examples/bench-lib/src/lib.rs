//! `bench-lib`: the callee of the benchmark composition; exports
//! `example:bench/calls` with functions as cheap as possible, so that the
//! cost measured is the crossing.

wit_bindgen::generate!({
    world: "lib",
    path: "../wit/bench",
});

use exports::example::bench::calls::{Counter, CounterBorrow, Guest, GuestCounter, Point};
use std::cell::Cell;

struct Lib;

struct Count(Cell<u32>);

impl GuestCounter for Count {
    fn new(start: u32) -> Self {
        Count(Cell::new(start))
    }
    fn add(&self, n: u32) {
        self.0.set(self.0.get().wrapping_add(n));
    }
    fn get(&self) -> u32 {
        self.0.get()
    }
}

impl Guest for Lib {
    type Counter = Count;

    fn noop(_x: u32) {}

    fn echo(s: String) -> String {
        s
    }

    fn sum(xs: Vec<u32>) -> u32 {
        xs.iter().fold(0u32, |a, &x| a.wrapping_add(x))
    }

    fn scale(p: Point, k: f64) -> Point {
        Point { x: p.x * k, y: p.y * k, label: p.label }
    }

    fn finish(c: Counter) -> u32 {
        c.get::<Count>().get()
    }
}

// `CounterBorrow` is part of the generated API; referenced so that a change
// of its name in wit-bindgen is noticed here.
#[allow(dead_code)]
type _Borrow<'a> = CounterBorrow<'a>;

export!(Lib);
