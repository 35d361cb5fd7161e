//! `res-mid`: the intermediate of the re-exporter chain. Its own resource
//! `wfloat` holds an own handle of the leaf's `float` (static functions take
//! and return owns, methods take borrows and lists of owns, return lists, and
//! owns of the leaf's resource go in and out); it also imports
//! `counters` from the leaf and exports its own `counters`, whose counter
//! wraps an imported one.

wit_bindgen::generate!({
    world: "mid",
    path: "../wit/reexport",
});

use exports::meld::reexport::{counters as ex_counters, wrapped};
use meld::reexport::counters as im_counters;
use meld::reexport::floats::Float;
use std::cell::RefCell;

static mut WFLOAT_DROPS: u32 = 0;

/// Holds the leaf's float (an own handle in this instance's table).
struct WFloat(RefCell<Option<Float>>);

impl WFloat {
    fn leaf(&self) -> f64 {
        self.0.borrow().as_ref().map_or(f64::NAN, Float::get)
    }
    fn own(v: f64) -> wrapped::Wfloat {
        wrapped::Wfloat::new(WFloat(RefCell::new(Some(Float::new(v)))))
    }
}

impl Drop for WFloat {
    // Dropping the inner own runs the leaf's destructor, nested in this one.
    fn drop(&mut self) {
        unsafe { WFLOAT_DROPS += 1 };
    }
}

impl wrapped::GuestWfloat for WFloat {
    fn new(v: f64) -> Self {
        WFloat(RefCell::new(Some(Float::new(v))))
    }
    fn get(&self) -> f64 {
        self.leaf()
    }
    fn add(a: wrapped::Wfloat, b: f64) -> wrapped::Wfloat {
        let a: WFloat = a.into_inner();
        let inner = a.0.borrow_mut().take().expect("a wfloat holds a float");
        WFloat::own(inner.get() + b)
    }
    fn plus(&self, other: wrapped::WfloatBorrow<'_>) -> f64 {
        self.leaf() + other.get::<WFloat>().leaf()
    }
    fn split(&self, n: u32) -> Vec<wrapped::Wfloat> {
        (0..n).map(|_| WFloat::own(self.leaf())).collect()
    }
    fn absorb(&self, xs: Vec<wrapped::Wfloat>) -> f64 {
        // `xs` is dropped on return: their destructors run in this call.
        self.leaf() + xs.iter().map(|w| w.get::<WFloat>().leaf()).sum::<f64>()
    }
    fn total(xs: Vec<wrapped::WfloatBorrow<'_>>) -> f64 {
        xs.iter().map(|w| w.get::<WFloat>().leaf()).sum()
    }
    fn into_leaf(w: wrapped::Wfloat) -> Float {
        let w: WFloat = w.into_inner();
        let f = w.0.borrow_mut().take().expect("a wfloat holds a float");
        f
    }
    fn from_leaf(f: Float) -> wrapped::Wfloat {
        wrapped::Wfloat::new(WFloat(RefCell::new(Some(f))))
    }
}

struct Mid;

impl wrapped::Guest for Mid {
    type Wfloat = WFloat;
    fn sum_leaf(a: &Float, b: &Float) -> Float {
        Float::new(a.get() + b.get())
    }
    fn dtor_count() -> u32 {
        unsafe { WFLOAT_DROPS }
    }
}

/// The exported counter forwards to an imported one.
struct Counter(im_counters::Counter);

impl ex_counters::GuestCounter for Counter {
    fn new(start: u32) -> Self {
        Counter(im_counters::Counter::new(start * 100))
    }
    fn bump(&self) -> u32 {
        self.0.bump()
    }
}

impl ex_counters::Guest for Mid {
    type Counter = Counter;
    fn read(c: ex_counters::CounterBorrow<'_>) -> u32 {
        im_counters::read(&c.get::<Counter>().0)
    }
    fn dtor_count() -> u32 {
        im_counters::dtor_count()
    }
}

export!(Mid);
