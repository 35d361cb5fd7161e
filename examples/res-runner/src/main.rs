//! `res-runner`: drives the chain runner → res-mid → res-leaf and prints
//! values, handle numbers and both components' destructor counts.

wit_bindgen::generate!({
    world: "runner",
    path: "../wit/reexport",
});

use meld::reexport::counters::{self, Counter};
use meld::reexport::floats::{self, Float};
use meld::reexport::wrapped::{self, Wfloat};

fn counts(at: &str) {
    println!(
        "[{at}] leaf float dtors {}, mid wfloat dtors {}, counter dtors {}",
        floats::dtor_count(),
        wrapped::dtor_count(),
        counters::dtor_count()
    );
}

fn main() {
    let w = Wfloat::new(1.5);
    println!("w: handle {} get {}", w.handle(), w.get());
    let w2 = Wfloat::add(w, 2.25);
    println!("add(w, 2.25): handle {} get {}", w2.handle(), w2.get());
    counts("after add");

    let parts = w2.split(3);
    for (i, p) in parts.iter().enumerate() {
        println!("split[{i}]: handle {} get {}", p.handle(), p.get());
    }
    println!("plus(split[0]): {}", w2.plus(&parts[0]));
    let refs: Vec<&Wfloat> = parts.iter().chain([&w2]).collect();
    println!("total: {}", Wfloat::total(&refs));
    // The parts are dropped by the intermediate, inside `absorb`.
    println!("absorb(parts): {}", w2.absorb(parts));
    counts("after absorbing the parts");

    let a = Float::new(0.5);
    let b = Float::new(4.0);
    let s = wrapped::sum_leaf(&a, &b);
    println!("sum-leaf: handle {} get {}", s.handle(), s.get());
    let leaf = Wfloat::into_leaf(w2);
    println!("into-leaf: handle {} get {}", leaf.handle(), leaf.get());
    counts("after into-leaf");

    let c = Counter::new(3);
    println!(
        "counter: handle {} bump {} bump {}",
        c.handle(),
        c.bump(),
        c.bump()
    );
    println!("read: {}", counters::read(&c));
    drop(c);
    counts("after counter");

    drop((a, b, s, leaf));
    counts("end");
}
