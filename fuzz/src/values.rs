//! Random values of a [`Type`], as wasmtime's dynamic component API takes
//! them; handles stand as their rep (`u32`) until a run makes them
//! handles of its store ([`crate::oracle`]).

use crate::types::Type;
use arbitrary::{Result, Unstructured};
use wasmtime::component::Val;

/// Characters strings are drawn from: ASCII, Latin-1 (one byte in
/// `latin1+utf16`), the rest of the BMP, and beyond it (surrogate pairs in
/// UTF-16), so that every transcoding path is taken.
fn char_of(u: &mut Unstructured<'_>) -> Result<char> {
    let c = match u.int_in_range(0..=3)? {
        0 => u.int_in_range(0x20..=0x7e)?,
        1 => u.int_in_range(0x80..=0xff)?,
        2 => u.int_in_range(0x100..=0xd7ff)?,
        _ => u.int_in_range(0x1_0000..=0x10_ffff)?,
    };
    Ok(char::from_u32(c).unwrap_or('?'))
}

/// A random value of `ty`.
pub fn value(u: &mut Unstructured<'_>, ty: &Type) -> Result<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(u.arbitrary()?),
        Type::S8 => Val::S8(u.arbitrary()?),
        Type::U8 => Val::U8(u.arbitrary()?),
        Type::S16 => Val::S16(u.arbitrary()?),
        Type::U16 => Val::U16(u.arbitrary()?),
        Type::S32 => Val::S32(u.arbitrary()?),
        Type::U32 => Val::U32(u.arbitrary()?),
        Type::S64 => Val::S64(u.arbitrary()?),
        Type::U64 => Val::U64(u.arbitrary()?),
        // Any bits: NaN payloads included (compared as equal NaNs).
        Type::F32 => Val::Float32(f32::from_bits(u.arbitrary()?)),
        Type::F64 => Val::Float64(f64::from_bits(u.arbitrary()?)),
        Type::Char => Val::Char(char_of(u)?),
        Type::String => {
            let n = u.int_in_range(0..=24)?;
            let mut s = String::new();
            for _ in 0..n {
                s.push(char_of(u)?);
            }
            Val::String(s)
        }
        Type::List(t) => {
            let n = u.int_in_range(0..=4)?;
            Val::List((0..n).map(|_| value(u, t)).collect::<Result<_>>()?)
        }
        Type::Record(fs) => Val::Record(
            fs.iter()
                .enumerate()
                .map(|(i, f)| Ok((format!("f{i}"), value(u, f)?)))
                .collect::<Result<_>>()?,
        ),
        Type::Tuple(ts) => Val::Tuple(ts.iter().map(|t| value(u, t)).collect::<Result<_>>()?),
        Type::Variant(cs) => {
            let i = u.choose_index(cs.len())?;
            let payload = match &cs[i] {
                Some(t) => Some(Box::new(value(u, t)?)),
                None => None,
            };
            Val::Variant(format!("c{i}"), payload)
        }
        Type::Enum(n) => Val::Enum(format!("e{}", u.int_in_range(0..=n - 1)?)),
        Type::Option(t) => Val::Option(if u.arbitrary()? {
            Some(Box::new(value(u, t)?))
        } else {
            None
        }),
        Type::Result(ok, err) => {
            let side = |u: &mut Unstructured<'_>, t: &Option<Box<Type>>| -> Result<_> {
                Ok(match t {
                    Some(t) => Some(Box::new(value(u, t)?)),
                    None => None,
                })
            };
            Val::Result(if u.arbitrary()? {
                Ok(side(u, ok)?)
            } else {
                Err(side(u, err)?)
            })
        }
        Type::Flags(n) => {
            let mut set = Vec::new();
            for i in 0..*n {
                if u.arbitrary()? {
                    set.push(format!("g{i}"));
                }
            }
            Val::Flags(set)
        }
        // A stand-in: the handle's rep; `oracle` makes it a handle of the
        // run's store.
        Type::Own(_) | Type::Borrow(_) => Val::U32(u.arbitrary()?),
    })
}
