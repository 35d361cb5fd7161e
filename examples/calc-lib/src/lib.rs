//! `calc-lib`: a library component exporting `example:calc/api`.

wit_bindgen::generate!({
    world: "lib",
    path: "../wit/calc",
});

use exports::example::calc::api::{Color, Guest, Item, Mixed, Perms, Shape, Stats};

struct Calc;

impl Guest for Calc {
    fn greet(name: String) -> String {
        // The library writes to the host's stdout itself, too.
        println!("[calc-lib] greet called with {name:?}");
        format!("Hello, {name}!")
    }

    fn reverse_upper(s: String) -> String {
        s.chars().rev().flat_map(char::to_uppercase).collect()
    }

    fn char_count(s: String) -> u32 {
        s.chars().count() as u32
    }

    fn byte_sum(data: Vec<u8>) -> u64 {
        data.iter().map(|&b| u64::from(b)).sum()
    }

    fn byte_xor(data: Vec<u8>, key: u8) -> Vec<u8> {
        data.into_iter().map(|b| b ^ key).collect()
    }

    fn total_price(items: Vec<Item>) -> f64 {
        items.iter().map(|i| f64::from(i.qty) * i.price).sum()
    }

    fn scale_items(items: Vec<Item>, factor: u32) -> Vec<Item> {
        items
            .into_iter()
            .map(|i| Item {
                name: i.name.to_uppercase(),
                qty: i.qty.wrapping_mul(factor),
                price: i.price,
            })
            .collect()
    }

    fn transform_mixed(m: Mixed) -> Mixed {
        Mixed {
            a: m.a.wrapping_add(1),
            b: m.b.wrapping_mul(2),
            c: m.c / 2.0,
            d: m.d * m.d,
        }
    }

    fn swap_pair(p: (i32, i64)) -> (i64, i32) {
        let (a, b) = p;
        (b.wrapping_sub(i64::from(a)), a.wrapping_mul(3))
    }

    fn split_first(s: String) -> (String, u32) {
        let mut words = s.split_whitespace();
        let first = words.next().unwrap_or("").to_string();
        let count = if first.is_empty() { 0 } else { 1 + words.count() as u32 };
        (first, count)
    }

    fn describe_shape(s: Shape) -> String {
        match s {
            Shape::Circle(r) => format!("circle of radius {r} (area {:.3})", 3.14159_f32 * r * r),
            Shape::Rect((w, h)) => format!("rect {w}x{h} (area {})", u64::from(w) * u64::from(h)),
            Shape::Label(l) => format!("label {:?} ({} bytes)", l, l.len()),
            Shape::Big(n) => format!("big number {n} (hex {n:#x})"),
            Shape::Empty => "nothing at all".to_string(),
        }
    }

    fn grow_shape(s: Shape) -> Shape {
        match s {
            Shape::Circle(r) => Shape::Circle(r * 2.0),
            Shape::Rect((w, h)) => Shape::Rect((w * 2, h * 2)),
            Shape::Label(l) => Shape::Label(l + "!"),
            Shape::Big(n) => Shape::Big(n.wrapping_mul(2)),
            Shape::Empty => Shape::Label("something".to_string()),
        }
    }

    fn next_color(c: Color) -> Color {
        match c {
            Color::Red => Color::Green,
            Color::Green => Color::Blue,
            Color::Blue => Color::Red,
        }
    }

    fn toggle_perms(p: Perms) -> Perms {
        p.complement()
    }

    fn find_char(s: String, c: char) -> Option<u32> {
        s.chars().position(|x| x == c).map(|i| i as u32)
    }

    fn maybe_double(x: Option<u64>) -> Option<u64> {
        x.and_then(|v| v.checked_mul(2))
    }

    fn checked_div(a: u64, b: u32) -> Result<u64, u32> {
        if b == 0 { Err(a as u32) } else { Ok(a / u64::from(b)) }
    }

    fn check_ident(s: String) -> Result<String, String> {
        let mut chars = s.chars();
        match chars.next() {
            None => Err("empty string".to_string()),
            Some(c) if !(c.is_alphabetic() || c == '_') => {
                Err(format!("{s:?} starts with {c:?}"))
            }
            _ => match s.chars().find(|&c| !(c.is_alphanumeric() || c == '_')) {
                Some(bad) => Err(format!("{s:?} contains {bad:?}")),
                None => Ok(format!("{s} is a valid identifier")),
            },
        }
    }

    fn stats_of(values: Vec<f64>) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(Stats { count: values.len() as u32, min, max, mean })
    }

    fn sum_many(
        p1: u8, p2: i8, p3: u16, p4: i16, p5: u32,
        p6: i32, p7: u64, p8: i64, p9: f32, p10: f64,
        p11: u8, p12: i8, p13: u16, p14: i16, p15: u32,
        p16: i32, p17: u64, p18: i64, p19: f32, p20: f64,
    ) -> f64 {
        // Weighted by position so that a swapped argument changes the result.
        let vals = [
            f64::from(p1), f64::from(p2), f64::from(p3), f64::from(p4), f64::from(p5),
            f64::from(p6), p7 as f64, p8 as f64, f64::from(p9), p10,
            f64::from(p11), f64::from(p12), f64::from(p13), f64::from(p14), f64::from(p15),
            f64::from(p16), p17 as f64, p18 as f64, f64::from(p19), p20,
        ];
        vals.iter().enumerate().map(|(i, v)| (i as f64 + 1.0) * v).sum()
    }

    fn join_many(
        a: String, b: String, c: String, sep: String, upper: bool,
        n1: u32, n2: u32, n3: u32, n4: u32, n5: u32,
        n6: u32, n7: u32, n8: u32, n9: u32, n10: u32,
        n11: u32, n12: u32, n13: u32,
    ) -> String {
        let nums = [n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13];
        let total: u64 = nums.iter().map(|&n| u64::from(n)).sum();
        let joined = [a, b, c].join(&sep);
        let joined = if upper { joined.to_uppercase() } else { joined };
        format!("{joined}{sep}{total}")
    }
}

export!(Calc);
