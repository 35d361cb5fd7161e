//! `calc-app`: a command (exports `wasi:cli/run` through `fn main`) that
//! imports `example:calc/api`, calls every function and prints every result.

wit_bindgen::generate!({
    world: "app",
    path: "../wit/calc",
});

use example::calc::api::{self, Color, Item, Mixed, Perms, Shape};

fn main() {
    println!("[calc-app] start");

    println!("greet: {:?}", api::greet("world"));
    println!("greet: {:?}", api::greet("héllo wörld ✓ 日本語 🦀"));
    println!("reverse-upper: {:?}", api::reverse_upper("Hello, Meld"));
    println!("reverse-upper: {:?}", api::reverse_upper("héllo wörld ✓ 日本語 🦀"));
    println!("char-count: {}", api::char_count("héllo wörld ✓ 日本語 🦀"));
    println!("char-count: {}", api::char_count(""));

    let bytes: Vec<u8> = (0u8..=255).collect();
    println!("byte-sum: {}", api::byte_sum(&bytes));
    println!("byte-sum: {}", api::byte_sum(&[]));
    println!("byte-xor: {:?}", api::byte_xor(b"meld", 0x20));
    println!("byte-xor: {:?}", api::byte_xor(&[0, 1, 2, 255], 0xff));

    let items = vec![
        Item { name: "apple".to_string(), qty: 3, price: 0.5 },
        Item { name: "crème brûlée".to_string(), qty: 2, price: 4.25 },
        Item { name: "🦀".to_string(), qty: 7, price: 1.0 },
    ];
    println!("total-price: {}", api::total_price(&items));
    println!("scale-items: {:?}", api::scale_items(&items, 10));
    println!("scale-items: {:?}", api::scale_items(&[], 10));

    let m = Mixed { a: 41, b: 1 << 40, c: 3.5, d: 1.5 };
    println!("transform-mixed: {:?}", api::transform_mixed(m));
    let m = Mixed { a: u32::MAX, b: u64::MAX / 3, c: -0.25, d: -1e10 };
    println!("transform-mixed: {:?}", api::transform_mixed(m));

    println!("swap-pair: {:?}", api::swap_pair((7, 1_000_000_000_000)));
    println!("swap-pair: {:?}", api::swap_pair((-5, i64::MIN + 10)));
    println!("split-first: {:?}", api::split_first("  the quick brown fox  "));
    println!("split-first: {:?}", api::split_first(""));

    let shapes = [
        Shape::Circle(1.5),
        Shape::Rect((3, 4)),
        Shape::Label("héllo ✓".to_string()),
        Shape::Big(u64::MAX - 1),
        Shape::Empty,
    ];
    for s in &shapes {
        println!("describe-shape: {:?}", api::describe_shape(s));
    }
    for s in &shapes {
        println!("grow-shape: {:?}", api::grow_shape(s));
    }

    for c in [Color::Red, Color::Green, Color::Blue] {
        println!("next-color: {:?} -> {:?}", c, api::next_color(c));
    }
    for p in [Perms::empty(), Perms::READ, Perms::READ | Perms::EXEC, Perms::all()] {
        println!("toggle-perms: {:?} -> {:?}", p, api::toggle_perms(p));
    }

    println!("find-char: {:?}", api::find_char("héllo wörld ✓ 日本語 🦀", '🦀'));
    println!("find-char: {:?}", api::find_char("héllo", 'z'));
    println!("maybe-double: {:?}", api::maybe_double(Some(21)));
    println!("maybe-double: {:?}", api::maybe_double(None));
    println!("maybe-double: {:?}", api::maybe_double(Some(u64::MAX)));
    println!("checked-div: {:?}", api::checked_div(1 << 40, 7));
    println!("checked-div: {:?}", api::checked_div(42, 0));
    println!("check-ident: {:?}", api::check_ident("größe_2"));
    println!("check-ident: {:?}", api::check_ident("9lives"));
    println!("check-ident: {:?}", api::check_ident("a-b"));
    println!("check-ident: {:?}", api::check_ident(""));
    println!("stats-of: {:?}", api::stats_of(&[2.5, -1.0, 10.0, 4.5]));
    println!("stats-of: {:?}", api::stats_of(&[]));

    println!(
        "sum-many: {}",
        api::sum_many(
            1, -2, 3, -4, 5, -6, 7, -8, 9.5, 10.25,
            11, -12, 13, -14, 15, -16, 17, -18, 19.5, 20.125,
        )
    );
    println!(
        "sum-many: {}",
        api::sum_many(
            u8::MAX, i8::MIN, u16::MAX, i16::MIN, u32::MAX, i32::MIN, 1 << 50, -(1 << 50), f32::MIN_POSITIVE, f64::EPSILON,
            0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0,
        )
    );
    println!(
        "join-many: {:?}",
        api::join_many("a", "béta", "ɣ", " / ", true, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)
    );
    println!(
        "join-many: {:?}",
        api::join_many("x", "y", "z", "", false, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, u32::MAX)
    );

    println!("[calc-app] done");
}
