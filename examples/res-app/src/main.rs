//! `res-app`: a command that uses `meld:resources/things` and prints every
//! value, every handle number it holds (handles are numbered per component
//! instance, so these must not change when fused) and the library's
//! destructor counts. At the end it hands the host's stdout to the library,
//! first as a borrow, then as an own that the library drops.

wit_bindgen::generate!({
    world: "app",
    path: "../wit/resources",
    // Also bindings for the `wasi:io` and `wasi:cli` WIT in `deps/`.
    generate_all,
});

use meld::resources::things::{self as api, ErrorCode, MaybeThing, Pair, Thing};
use meld::resources::writer;
use wasi::cli::stdout::get_stdout;

fn show(label: &str, t: &Thing) {
    println!(
        "{label}: handle {} name {:?} value {}",
        t.handle(),
        t.name(),
        t.value()
    );
}

fn counts(at: &str) {
    println!(
        "[{at}] dtors {} live {}",
        api::dtor_count(),
        api::live_count()
    );
}

fn main() {
    let a = Thing::new("a", 1);
    let b = Thing::new("b", 2);
    show("a", &a);
    show("b", &b);
    b.set_value(20);
    show("b after set-value", &b);
    let m = Thing::merge(&a, &b);
    show("merge(a, b)", &m);
    counts("after merge");

    println!("sum-pair: {}", api::sum_pair(&Pair { a: &a, b: &m }));
    println!("sum-all: {}", api::sum_all(&[&a, &b, &m, &a]));

    let many = api::make_many(4);
    for (i, t) in many.iter().enumerate() {
        show(&format!("many[{i}]"), t);
    }
    println!(
        "find t2: {:?}",
        api::find(&[&a, &many[1], &many[2]], "t2").map(|t| (t.handle(), t.name(), t.value()))
    );
    println!("find zz: {:?}", api::find(&[&a], "zz").map(|t| t.handle()));
    counts("after find");

    println!("consume m: {}", api::consume(m));
    counts("after consume");
    let c = Thing::new("c", 7);
    show("c (reuses a freed handle)", &c);

    let halves = api::split(c);
    show("split.first", &halves.first);
    show("split.second", &halves.second);
    println!("consume-all many: {}", api::consume_all(many));
    counts("after consume-all");

    for v in [0, 5, 5000] {
        match api::checked(v) {
            Ok(t) => show(&format!("checked({v})"), &t),
            Err(ErrorCode::Empty) => println!("checked({v}): error empty"),
            Err(ErrorCode::TooBig) => println!("checked({v}): error too-big"),
        }
    }
    counts("after checked");

    for m in [
        MaybeThing::Nothing,
        MaybeThing::One(Thing::new("v", 21)),
        MaybeThing::Named("n".into()),
    ] {
        match api::pick(m) {
            MaybeThing::Nothing => println!("pick: nothing"),
            MaybeThing::One(t) => show("pick: one", &t),
            MaybeThing::Named(s) => println!("pick: named {s}"),
        }
    }
    counts("after pick");

    drop(halves);
    drop(a);
    show("b (still alive)", &b);
    drop(b);
    counts("end");

    // Host resources handed across: `println!` goes through std's own
    // stdout stream; these are fresh ones from `get-stdout`.
    let out = get_stdout();
    let first = out.handle();
    println!("stdout: handle {first}");
    let n = writer::write_borrowed(&out, "res-lib: written through a borrowed stdout\n");
    println!(
        "write-borrowed: {n} bytes, stdout still handle {}",
        out.handle()
    );
    let n = writer::write_owned(
        out,
        "res-lib: written through an owned stdout, then dropped\n",
    );
    println!("write-owned: {n} bytes (handle {first} moved out)");
    let again = get_stdout();
    println!("stdout again: handle {}", again.handle());
    let n = writer::write_borrowed(&again, "res-lib: a fresh stdout, borrowed again\n");
    println!("write-borrowed: {n} bytes");
    let n = writer::write_owned(again, "res-lib: the fresh stdout, owned and dropped\n");
    println!("write-owned: {n} bytes");
    let last = get_stdout();
    println!("stdout last: handle {}", last.handle());
    drop(last);
    counts("after the streams");
}
