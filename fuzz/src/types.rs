//! Component value types for generated compositions: random generation,
//! the canonical ABI's flattening, size and alignment
//! (`design/mvp/CanonicalABI.md`: `flatten_type`, `elem_size`,
//! `alignment`), and their WAT.
//!
//! Handles name one of the composition's resource types by index: `own`
//! anywhere, `borrow` only as a parameter of its own (see
//! [`FuncType::generate`]), so that the components passing it on know
//! where it is and can drop it when the call returns.

use arbitrary::{Result, Unstructured};

/// A component value type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// `string`.
    String,
    /// `list<T>`.
    List(Box<Type>),
    /// `record { f0: T0, … }`.
    Record(Vec<Type>),
    /// `tuple<T0, …>`.
    Tuple(Vec<Type>),
    /// `variant { c0(T0), c1, … }`.
    Variant(Vec<Option<Type>>),
    /// `enum { e0, … }` with this many cases.
    Enum(u32),
    /// `option<T>`.
    Option(Box<Type>),
    /// `result<T, E>`.
    Result(Option<Box<Type>>, Option<Box<Type>>),
    /// `flags { g0, … }` with this many flags.
    Flags(u32),
    /// `own<rK>`: a handle to resource type `K`.
    Own(u32),
    /// `borrow<rK>`: a borrowed handle to resource type `K`.
    Borrow(u32),
}

/// A core value type of the flattening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flat {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl Flat {
    /// The WAT name.
    pub fn wat(self) -> &'static str {
        match self {
            Flat::I32 => "i32",
            Flat::I64 => "i64",
            Flat::F32 => "f32",
            Flat::F64 => "f64",
        }
    }

    /// `join` of the canonical ABI: the flat type two variant cases share.
    fn join(self, other: Flat) -> Flat {
        match (self, other) {
            (a, b) if a == b => a,
            (Flat::I32, Flat::F32) | (Flat::F32, Flat::I32) => Flat::I32,
            _ => Flat::I64,
        }
    }
}

impl Type {
    /// A random type, at most `depth` levels deep, spending `fuel` (one unit
    /// per node) so that sizes stay small; `own` handles of the first
    /// `resources` resource types may appear anywhere.
    pub fn generate(
        u: &mut Unstructured<'_>,
        depth: u32,
        fuel: &mut u32,
        resources: u32,
    ) -> Result<Type> {
        *fuel = fuel.saturating_sub(1);
        if resources > 0 && u.ratio(1, 8)? {
            return Ok(Type::Own(u.int_in_range(0..=resources - 1)?));
        }
        let leaf = depth == 0 || *fuel == 0;
        let max = if leaf { 12 } else { 20 };
        Ok(match u.int_in_range(0..=max)? {
            0 => Type::Bool,
            1 => Type::S8,
            2 => Type::U8,
            3 => Type::S16,
            4 => Type::U16,
            5 => Type::S32,
            6 => Type::U32,
            7 => Type::S64,
            8 => Type::U64,
            9 => Type::F32,
            10 => Type::F64,
            11 => Type::Char,
            12 => Type::String,
            13 => Type::List(Box::new(Type::generate(u, depth - 1, fuel, resources)?)),
            14 => Type::Record(Type::several(u, depth, fuel, resources, 5)?),
            15 => Type::Tuple(Type::several(u, depth, fuel, resources, 5)?),
            16 => {
                let n = u.int_in_range(1..=5)?;
                let mut cases = Vec::new();
                for _ in 0..n {
                    cases.push(if u.arbitrary()? {
                        Some(Type::generate(u, depth - 1, fuel, resources)?)
                    } else {
                        None
                    });
                }
                Type::Variant(cases)
            }
            17 => Type::Enum(u.int_in_range(1..=300)?),
            18 => Type::Option(Box::new(Type::generate(u, depth - 1, fuel, resources)?)),
            19 => {
                let mut side = |u: &mut Unstructured<'_>| -> Result<Option<Box<Type>>> {
                    Ok(if u.arbitrary()? {
                        Some(Box::new(Type::generate(u, depth - 1, fuel, resources)?))
                    } else {
                        None
                    })
                };
                let ok = side(u)?;
                Type::Result(ok, side(u)?)
            }
            _ => Type::Flags(u.int_in_range(1..=32)?),
        })
    }

    /// 1 to `max` random types.
    fn several(
        u: &mut Unstructured<'_>,
        depth: u32,
        fuel: &mut u32,
        resources: u32,
        max: u32,
    ) -> Result<Vec<Type>> {
        let n = u.int_in_range(1..=max)?;
        (0..n)
            .map(|_| Type::generate(u, depth - 1, fuel, resources))
            .collect()
    }

    /// The canonical ABI's flattening (`flatten_type`).
    pub fn flat(&self, out: &mut Vec<Flat>) {
        match self {
            Type::Bool
            | Type::S8
            | Type::U8
            | Type::S16
            | Type::U16
            | Type::S32
            | Type::U32
            | Type::Char
            | Type::Enum(_)
            | Type::Own(_)
            | Type::Borrow(_) => out.push(Flat::I32),
            Type::S64 | Type::U64 => out.push(Flat::I64),
            Type::F32 => out.push(Flat::F32),
            Type::F64 => out.push(Flat::F64),
            Type::String | Type::List(_) => out.extend([Flat::I32, Flat::I32]),
            Type::Record(fs) | Type::Tuple(fs) => fs.iter().for_each(|f| f.flat(out)),
            Type::Flags(n) => out.extend(std::iter::repeat_n(Flat::I32, n.div_ceil(32) as usize)),
            Type::Variant(_) | Type::Option(_) | Type::Result(..) => {
                let mut joined: Vec<Flat> = Vec::new();
                for case in self.cases().into_iter().flatten() {
                    let mut f = Vec::new();
                    case.flat(&mut f);
                    for (i, t) in f.into_iter().enumerate() {
                        match joined.get_mut(i) {
                            Some(j) => *j = j.join(t),
                            None => joined.push(t),
                        }
                    }
                }
                out.push(Flat::I32);
                out.extend(joined);
            }
        }
    }

    /// The payload of each case of a variant-like type.
    fn cases(&self) -> Vec<Option<&Type>> {
        match self {
            Type::Variant(cs) => cs.iter().map(Option::as_ref).collect(),
            Type::Option(t) => vec![None, Some(t)],
            Type::Result(ok, err) => vec![ok.as_deref(), err.as_deref()],
            _ => Vec::new(),
        }
    }

    /// The number of cases of a variant-like type or enum.
    fn case_count(&self) -> u32 {
        match self {
            Type::Enum(n) => *n,
            other => other.cases().len() as u32,
        }
    }

    /// (size, alignment) in linear memory (`elem_size`, `alignment`).
    pub fn size_align(&self) -> (u32, u32) {
        fn discriminant(n: u32) -> u32 {
            match n {
                0..=256 => 1,
                257..=65536 => 2,
                _ => 4,
            }
        }
        fn align_to(x: u32, a: u32) -> u32 {
            x.div_ceil(a) * a
        }
        match self {
            Type::Bool | Type::S8 | Type::U8 => (1, 1),
            Type::S16 | Type::U16 => (2, 2),
            Type::S32 | Type::U32 | Type::F32 | Type::Char | Type::Own(_) | Type::Borrow(_) => {
                (4, 4)
            }
            Type::S64 | Type::U64 | Type::F64 => (8, 8),
            Type::String | Type::List(_) => (8, 4),
            Type::Record(fs) | Type::Tuple(fs) => {
                let (mut size, mut align) = (0, 1);
                for f in fs {
                    let (s, a) = f.size_align();
                    size = align_to(size, a) + s;
                    align = align.max(a);
                }
                (align_to(size, align), align)
            }
            Type::Enum(n) => {
                let d = discriminant(*n);
                (d, d)
            }
            Type::Flags(n) => match n {
                0..=8 => (1, 1),
                9..=16 => (2, 2),
                _ => (4 * n.div_ceil(32), 4),
            },
            Type::Variant(_) | Type::Option(_) | Type::Result(..) => {
                let d = discriminant(self.case_count());
                let (mut size, mut align) = (0, d);
                for (s, a) in self.cases().into_iter().flatten().map(Type::size_align) {
                    size = size.max(s);
                    align = align.max(a);
                }
                let payload_align = self
                    .cases()
                    .into_iter()
                    .flatten()
                    .map(|t| t.size_align().1)
                    .max()
                    .unwrap_or(1);
                (align_to(align_to(d, payload_align) + size, align), align)
            }
        }
    }

    /// Whether the type must be named where a function using it is
    /// imported or exported (records, variants, enums, flags).
    pub fn is_nominal(&self) -> bool {
        matches!(
            self,
            Type::Record(_) | Type::Variant(_) | Type::Enum(_) | Type::Flags(_)
        )
    }

    /// Whether a value of this type may hold a handle.
    pub fn has_handles(&self) -> bool {
        matches!(self, Type::Own(_) | Type::Borrow(_))
            || self.children().into_iter().any(Type::has_handles)
    }

    /// The types this one is made of, directly.
    pub fn children(&self) -> Vec<&Type> {
        match self {
            Type::List(t) | Type::Option(t) => vec![t],
            Type::Record(fs) | Type::Tuple(fs) => fs.iter().collect(),
            Type::Variant(cs) => cs.iter().flatten().collect(),
            Type::Result(ok, err) => ok.iter().chain(err.iter()).map(|b| &**b).collect(),
            _ => Vec::new(),
        }
    }

    /// The WAT of a primitive type, `None` for a defined one.
    pub fn primitive(&self) -> Option<&'static str> {
        Some(match self {
            Type::Bool => "bool",
            Type::S8 => "s8",
            Type::U8 => "u8",
            Type::S16 => "s16",
            Type::U16 => "u16",
            Type::S32 => "s32",
            Type::U32 => "u32",
            Type::S64 => "s64",
            Type::U64 => "u64",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::Char => "char",
            Type::String => "string",
            _ => return None,
        })
    }

    /// The WAT definition of a defined type; `name` gives the reference of
    /// each child.
    pub fn definition(&self, name: &dyn Fn(&Type) -> String) -> String {
        let list = |ts: &[Type]| ts.iter().map(name).collect::<Vec<_>>().join(" ");
        match self {
            Type::List(t) => format!("(list {})", name(t)),
            Type::Record(fs) => {
                let fields: Vec<String> = fs
                    .iter()
                    .enumerate()
                    .map(|(i, f)| format!("(field \"f{i}\" {})", name(f)))
                    .collect();
                format!("(record {})", fields.join(" "))
            }
            Type::Tuple(ts) => format!("(tuple {})", list(ts)),
            Type::Variant(cs) => {
                let cases: Vec<String> = cs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c {
                        Some(t) => format!("(case \"c{i}\" {})", name(t)),
                        None => format!("(case \"c{i}\")"),
                    })
                    .collect();
                format!("(variant {})", cases.join(" "))
            }
            Type::Enum(n) => {
                let cases: Vec<String> = (0..*n).map(|i| format!("\"e{i}\"")).collect();
                format!("(enum {})", cases.join(" "))
            }
            Type::Option(t) => format!("(option {})", name(t)),
            Type::Result(ok, err) => {
                let mut s = String::from("(result");
                if let Some(t) = ok {
                    s.push(' ');
                    s.push_str(&name(t));
                }
                if let Some(t) = err {
                    s.push_str(&format!(" (error {})", name(t)));
                }
                s.push(')');
                s
            }
            Type::Flags(n) => {
                let flags: Vec<String> = (0..*n).map(|i| format!("\"g{i}\"")).collect();
                format!("(flags {})", flags.join(" "))
            }
            Type::Own(k) => format!("(own $r{k})"),
            Type::Borrow(k) => format!("(borrow $r{k})"),
            _ => self.primitive().unwrap_or("bool").to_string(),
        }
    }
}

/// A function type: parameters and an optional result.
#[derive(Clone, Debug)]
pub struct FuncType {
    /// Parameter types (named `p0`, `p1`, …).
    pub params: Vec<Type>,
    /// The result type, if any.
    pub result: Option<Type>,
}

/// Where a parameter is when the core function starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The flat parameter (local) with this index.
    Flat(u32),
    /// At this offset from the parameter area (local 0).
    Memory(u32),
}

/// At most this many flat parameters are passed as such (canonical ABI).
pub const MAX_FLAT_PARAMS: usize = 16;

impl FuncType {
    /// A random function type over `resources` resource types: usually 0
    /// to 4 parameters, sometimes 8 to 20 (more than 16 flat ones spill to
    /// memory); a `borrow` is always a parameter of its own.
    pub fn generate(u: &mut Unstructured<'_>, resources: u32) -> Result<FuncType> {
        let mut fuel = 20;
        let count = if u.ratio(1, 6)? {
            u.int_in_range(8..=20)?
        } else {
            u.int_in_range(0..=4)?
        };
        let params = (0..count)
            .map(|_| {
                if resources > 0 && u.ratio(1, 6)? {
                    Ok(Type::Borrow(u.int_in_range(0..=resources - 1)?))
                } else {
                    Type::generate(u, 3, &mut fuel, resources)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let result = if u.ratio(4, 5)? {
            Some(Type::generate(u, 3, &mut fuel, resources)?)
        } else {
            None
        };
        Ok(FuncType { params, result })
    }

    /// Where each `borrow` parameter is, with its resource type: among the
    /// flat parameters, or in the parameter area when they spill to memory
    /// (the parameters laid out as a record).
    pub fn borrows(&self) -> Vec<(Place, u32)> {
        let mut all = Vec::new();
        self.params.iter().for_each(|p| p.flat(&mut all));
        let spilled = all.len() > MAX_FLAT_PARAMS;
        let (mut flat, mut offset) = (0u32, 0u32);
        let mut out = Vec::new();
        for p in &self.params {
            let (size, align) = p.size_align();
            offset = offset.div_ceil(align) * align;
            if let Type::Borrow(k) = p {
                let place = if spilled {
                    Place::Memory(offset)
                } else {
                    Place::Flat(flat)
                };
                out.push((place, *k));
            }
            let mut f = Vec::new();
            p.flat(&mut f);
            flat += f.len() as u32;
            offset += size;
        }
        out
    }

    /// The flat parameters, or one pointer when they are more than 16.
    pub fn flat_params(&self) -> Vec<Flat> {
        let mut out = Vec::new();
        self.params.iter().for_each(|p| p.flat(&mut out));
        if out.len() > MAX_FLAT_PARAMS {
            vec![Flat::I32]
        } else {
            out
        }
    }

    /// The flat result, or `None` when results go through memory.
    pub fn flat_result(&self) -> Option<Vec<Flat>> {
        let mut out = Vec::new();
        if let Some(r) = &self.result {
            r.flat(&mut out);
        }
        (out.len() <= 1).then_some(out)
    }
}
