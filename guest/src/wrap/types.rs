//! Encodes wasmtime's interface types as component type definitions.
//!
//! The lifted exports of the wrapper need component function types. They are
//! rebuilt structurally from the translated types (names of parameters,
//! fields, cases and flags included, so that they are subtypes of the world's
//! declared types, which the exports are ascribed). Each distinct type is
//! defined once.

use super::builder::Builder;
use crate::diagnostics::{Code, Diagnostic};
use std::collections::HashMap;
use wasm_encoder::{ComponentValType, PrimitiveValType};
use wasmtime_environ::component::{
    ComponentTypes, InterfaceType, ResourceIndex, TypeFuncIndex, TypeResourceTable,
    TypeResourceTableIndex,
};

/// Defines component types in a [`Builder`], once each.
pub struct TypeEncoder<'a> {
    types: &'a ComponentTypes,
    defined: HashMap<InterfaceType, u32>,
    funcs: HashMap<TypeFuncIndex, u32>,
    resources: HashMap<ResourceIndex, u32>,
}

impl<'a> TypeEncoder<'a> {
    /// An encoder over `types`.
    pub fn new(types: &'a ComponentTypes) -> Self {
        TypeEncoder {
            types,
            defined: HashMap::new(),
            funcs: HashMap::new(),
            resources: HashMap::new(),
        }
    }

    /// Refer to resource `r` through the type index `index` (an imported
    /// resource type, or the wrapper's own type for an exported one).
    ///
    /// When `r` had another name before, types defined so far are forgotten
    /// (they may refer to the old name) and defined again when next used.
    pub fn set_resource(&mut self, r: ResourceIndex, index: u32) {
        if self
            .resources
            .insert(r, index)
            .is_some_and(|old| old != index)
        {
            self.defined.clear();
            self.funcs.clear();
        }
    }

    /// The resource behind a resource table index.
    pub fn resource_of(&self, t: TypeResourceTableIndex) -> Option<ResourceIndex> {
        match self.types[t] {
            TypeResourceTable::Concrete { ty, .. } => Some(ty),
            TypeResourceTable::Abstract(_) => None,
        }
    }

    /// The type index `r` is named through, if any.
    pub fn resource_index(&self, r: ResourceIndex) -> Option<u32> {
        self.resources.get(&r).copied()
    }

    fn resource(&self, t: TypeResourceTableIndex) -> Result<u32, Diagnostic> {
        match self.types[t] {
            TypeResourceTable::Concrete { ty, .. } => self.resources.get(&ty).copied(),
            TypeResourceTable::Abstract(_) => None,
        }
        .ok_or_else(|| {
            Diagnostic::error(
                Code::Internal,
                "internal error: a handle to a resource the wrapper cannot name",
            )
        })
    }

    /// From now on, refer to `ty` through `index` (the type index an export of
    /// `ty` created): exported signatures must use exported type names.
    pub fn rename(&mut self, ty: InterfaceType, index: u32) {
        self.defined.insert(ty, index);
    }

    /// The index of the component function type `ty`, defining it if needed.
    ///
    /// # Errors
    /// E0007 for futures, streams and error contexts (the wrapper cannot
    /// name those types yet); E0100 for a handle to an unnamed resource.
    pub fn func(&mut self, b: &mut Builder, ty: TypeFuncIndex) -> Result<u32, Diagnostic> {
        if let Some(&i) = self.funcs.get(&ty) {
            return Ok(i);
        }
        let f = &self.types[ty];
        let params = self.types[f.params]
            .types
            .iter()
            .map(|t| self.val(b, t))
            .collect::<Result<Vec<_>, _>>()?;
        let result = match self.types[f.results].types.first() {
            Some(t) => Some(self.val(b, t)?),
            None => None,
        };
        let names = &f.param_names;
        let idx = b.ty(|enc| -> Result<(), Diagnostic> {
            let mut fe = enc.function();
            fe.async_(f.async_);
            fe.params(names.iter().map(String::as_str).zip(params.iter().copied()));
            fe.result(result);
            Ok(())
        })?;
        self.funcs.insert(ty, idx);
        Ok(idx)
    }

    /// The component value type of `ty`, defining compound types as needed.
    ///
    /// # Errors
    /// As for [`TypeEncoder::func`].
    pub fn val(
        &mut self,
        b: &mut Builder,
        ty: &InterfaceType,
    ) -> Result<ComponentValType, Diagnostic> {
        use InterfaceType as I;
        let prim = |p| Ok(ComponentValType::Primitive(p));
        match ty {
            I::Bool => return prim(PrimitiveValType::Bool),
            I::S8 => return prim(PrimitiveValType::S8),
            I::U8 => return prim(PrimitiveValType::U8),
            I::S16 => return prim(PrimitiveValType::S16),
            I::U16 => return prim(PrimitiveValType::U16),
            I::S32 => return prim(PrimitiveValType::S32),
            I::U32 => return prim(PrimitiveValType::U32),
            I::S64 => return prim(PrimitiveValType::S64),
            I::U64 => return prim(PrimitiveValType::U64),
            I::Float32 => return prim(PrimitiveValType::F32),
            I::Float64 => return prim(PrimitiveValType::F64),
            I::Char => return prim(PrimitiveValType::Char),
            I::String => return prim(PrimitiveValType::String),
            _ => {}
        }
        if let Some(&i) = self.defined.get(ty) {
            return Ok(ComponentValType::Type(i));
        }
        let t = self.types;
        let idx = match ty {
            I::Record(r) => {
                let fields = t[*r]
                    .fields
                    .iter()
                    .map(|f| Ok((f.name.as_str(), self.val(b, &f.ty)?)))
                    .collect::<Result<Vec<_>, Diagnostic>>()?;
                b.defined(|d| d.record(fields))
            }
            I::Variant(v) => {
                let cases = t[*v]
                    .cases
                    .iter()
                    .map(|(name, ty)| {
                        Ok((
                            name.as_str(),
                            ty.as_ref().map(|ty| self.val(b, ty)).transpose()?,
                        ))
                    })
                    .collect::<Result<Vec<_>, Diagnostic>>()?;
                b.defined(|d| d.variant(cases))
            }
            I::List(l) => {
                let elem = self.val(b, &t[*l].element)?;
                b.defined(|d| d.list(elem))
            }
            I::FixedLengthList(l) => {
                let elem = self.val(b, &t[*l].element)?;
                let size = t[*l].size;
                b.defined(|d| d.fixed_length_list(elem, size))
            }
            I::Map(m) => {
                let (k, v) = (self.val(b, &t[*m].key)?, self.val(b, &t[*m].value)?);
                b.defined(|d| d.map(k, v))
            }
            I::Tuple(tu) => {
                let elems = t[*tu]
                    .types
                    .iter()
                    .map(|ty| self.val(b, ty))
                    .collect::<Result<Vec<_>, _>>()?;
                b.defined(|d| d.tuple(elems))
            }
            I::Flags(f) => {
                let names = &t[*f].names;
                b.defined(|d| d.flags(names.iter().map(String::as_str)))
            }
            I::Enum(en) => {
                let names = &t[*en].names;
                b.defined(|d| d.enum_type(names.iter().map(String::as_str)))
            }
            I::Option(o) => {
                let inner = self.val(b, &t[*o].ty)?;
                b.defined(|d| d.option(inner))
            }
            I::Result(r) => {
                let ok_ty = t[*r].ok.as_ref().map(|ty| self.val(b, ty)).transpose()?;
                let err_ty = t[*r].err.as_ref().map(|ty| self.val(b, ty)).transpose()?;
                b.defined(|d| d.result(ok_ty, err_ty))
            }
            I::Own(r) => {
                let r = self.resource(*r)?;
                b.defined(|d| d.own(r))
            }
            I::Borrow(r) => {
                let r = self.resource(*r)?;
                b.defined(|d| d.borrow(r))
            }
            I::Future(_) | I::Stream(_) | I::ErrorContext(_) => {
                return Err(Diagnostic::error(
                    Code::UnsupportedAsync,
                    "unsupported: component-model async (future, stream or error-context in an outer export)",
                ));
            }
            _ => {
                return Err(Diagnostic::error(
                    Code::Internal,
                    "internal error: primitive handled above",
                ));
            }
        };
        self.defined.insert(*ty, idx);
        Ok(ComponentValType::Type(idx))
    }
}
