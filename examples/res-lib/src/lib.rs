//! `res-lib`: defines the resource `thing` and exports `meld:resources/things`
//! (constructors, methods, a static function, handles nested in records,
//! lists, variants, options and results), counting destructor calls; and
//! `meld:resources/writer`, which writes to a host `output-stream` (stdout)
//! that the app hands over as a borrow and as an own.

wit_bindgen::generate!({
    world: "lib",
    path: "../wit/resources",
    // Also bindings for the `wasi:io` and `wasi:cli` WIT in `deps/`.
    generate_all,
});

use exports::meld::resources::things::{
    ErrorCode, Guest, GuestThing, MaybeThing, OwnedPair, Pair, Thing, ThingBorrow,
};
use exports::meld::resources::writer;
use std::cell::Cell;
use wasi::io::streams::OutputStream;

static mut DROPS: u32 = 0;
static mut LIVE: u32 = 0;

struct MyThing {
    name: String,
    value: Cell<u32>,
}

impl MyThing {
    fn make(name: String, value: u32) -> Thing {
        Thing::new(<MyThing as GuestThing>::new(name, value))
    }
}

impl Drop for MyThing {
    fn drop(&mut self) {
        // Single-threaded component: plain statics.
        unsafe {
            DROPS += 1;
            LIVE -= 1;
        }
    }
}

impl GuestThing for MyThing {
    fn new(name: String, value: u32) -> Self {
        unsafe { LIVE += 1 };
        MyThing {
            name,
            value: Cell::new(value),
        }
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn value(&self) -> u32 {
        self.value.get()
    }
    fn set_value(&self, v: u32) {
        self.value.set(v);
    }
    fn merge(a: ThingBorrow<'_>, b: ThingBorrow<'_>) -> Thing {
        let (a, b) = (a.get::<MyThing>(), b.get::<MyThing>());
        MyThing::make(format!("{}+{}", a.name, b.name), a.value() + b.value())
    }
}

struct Lib;

impl Guest for Lib {
    type Thing = MyThing;

    fn sum_pair(p: Pair<'_>) -> u32 {
        p.a.get::<MyThing>().value() + p.b.get::<MyThing>().value()
    }
    fn sum_all(xs: Vec<ThingBorrow<'_>>) -> u32 {
        xs.iter().map(|t| t.get::<MyThing>().value()).sum()
    }
    fn make_many(n: u32) -> Vec<Thing> {
        (0..n)
            .map(|i| MyThing::make(format!("t{i}"), i * 10))
            .collect()
    }
    fn consume(t: Thing) -> u32 {
        t.get::<MyThing>().value()
    }
    fn consume_all(xs: Vec<Thing>) -> u32 {
        xs.iter().map(|t| t.get::<MyThing>().value()).sum()
    }
    fn split(t: Thing) -> OwnedPair {
        let t = t.get::<MyThing>();
        let half = t.value() / 2;
        OwnedPair {
            first: MyThing::make(format!("{}.0", t.name), half),
            second: MyThing::make(format!("{}.1", t.name), t.value() - half),
        }
    }
    fn find(xs: Vec<ThingBorrow<'_>>, name: String) -> Option<Thing> {
        xs.iter()
            .map(|t| t.get::<MyThing>())
            .find(|t| t.name == name)
            .map(|t| MyThing::make(format!("copy of {}", t.name), t.value()))
    }
    fn checked(v: u32) -> Result<Thing, ErrorCode> {
        match v {
            0 => Err(ErrorCode::Empty),
            v if v > 1000 => Err(ErrorCode::TooBig),
            v => Ok(MyThing::make(format!("checked {v}"), v)),
        }
    }
    fn pick(m: MaybeThing) -> MaybeThing {
        match m {
            MaybeThing::Nothing => MaybeThing::Nothing,
            MaybeThing::One(t) => {
                let inner = t.get::<MyThing>();
                inner.set_value(inner.value() * 2);
                MaybeThing::One(t)
            }
            MaybeThing::Named(name) => MaybeThing::One(MyThing::make(name, 1)),
        }
    }
    fn dtor_count() -> u32 {
        unsafe { DROPS }
    }
    fn live_count() -> u32 {
        unsafe { LIVE }
    }
}

/// Writes all of `msg` with `blocking-write-and-flush` (at most 4096 bytes
/// per call); traps if the stream fails.
fn write_all(out: &OutputStream, msg: &str) -> u32 {
    for chunk in msg.as_bytes().chunks(4096) {
        out.blocking_write_and_flush(chunk).expect("stdout write");
    }
    msg.len() as u32
}

impl writer::Guest for Lib {
    fn write_borrowed(out: &OutputStream, msg: String) -> u32 {
        write_all(out, &msg)
    }
    fn write_owned(out: OutputStream, msg: String) -> u32 {
        let n = write_all(&out, &msg);
        drop(out); // the host's stream dies here, in this instance's table
        n
    }
}

export!(Lib);
