//! `res-leaf`: the end of the re-exporter chain. Exports `floats` and
//! `counters`, each counting its destructor calls.

wit_bindgen::generate!({
    world: "leaf",
    path: "../wit/reexport",
});

use exports::meld::reexport::{counters, floats};
use std::cell::Cell;

static mut FLOAT_DROPS: u32 = 0;
static mut COUNTER_DROPS: u32 = 0;

struct Float(f64);

impl Drop for Float {
    fn drop(&mut self) {
        unsafe { FLOAT_DROPS += 1 };
    }
}

impl floats::GuestFloat for Float {
    fn new(v: f64) -> Self {
        Float(v)
    }
    fn get(&self) -> f64 {
        self.0
    }
}

struct Counter(Cell<u32>);

impl Drop for Counter {
    fn drop(&mut self) {
        unsafe { COUNTER_DROPS += 1 };
    }
}

impl counters::GuestCounter for Counter {
    fn new(start: u32) -> Self {
        Counter(Cell::new(start))
    }
    fn bump(&self) -> u32 {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
}

struct Leaf;

impl floats::Guest for Leaf {
    type Float = Float;
    fn dtor_count() -> u32 {
        unsafe { FLOAT_DROPS }
    }
}

impl counters::Guest for Leaf {
    type Counter = Counter;
    fn read(c: counters::CounterBorrow<'_>) -> u32 {
        c.get::<Counter>().0.get()
    }
    fn dtor_count() -> u32 {
        unsafe { COUNTER_DROPS }
    }
}

export!(Leaf);
