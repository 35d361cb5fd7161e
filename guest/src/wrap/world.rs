//! The input's outer world, as component-type declarations.
//!
//! `wit-component` decodes the input's imports and exports into a WIT world and
//! encodes that world as a component type (the same encoding wit-bindgen embeds
//! in every guest). Its declarations — types, aliases between imported
//! interfaces, imports, exports — are re-emitted by the wrapper as its own
//! outer sections, so the output declares exactly the input's world.

use crate::diagnostics::{Code, Diagnostic};
use wasmparser::{ComponentType, ComponentTypeDeclaration, Parser, Payload};
use wit_component::DecodedWasm;

/// The world of a component: decoded as WIT, and encoded as a component
/// type (wit-component's `metadata::encode`, the payload of a
/// `component-type` custom section).
pub struct World {
    bytes: Vec<u8>,
    /// The decoded packages, interfaces and types.
    pub resolve: wit_parser::Resolve,
    /// The component's world in `resolve`.
    pub world: wit_parser::WorldId,
}

impl World {
    /// Decodes the world of the component `input`.
    ///
    /// # Errors
    /// E0010 when the component's imports and exports are not expressible as
    /// a WIT world (e.g. it imports a core module or exports a bare value).
    pub fn of(input: &[u8]) -> Result<World, Diagnostic> {
        let fail = |e: &dyn std::fmt::Display| {
            Diagnostic::error(
                Code::WorldDecode,
                format!("the component's outer world cannot be decoded as WIT: {e}"),
            )
            .note("Meld re-declares the input's imports and exports through their WIT world")
        };
        refuse_non_wit_names(input).map_err(|(what, offset)| fail(&what).at(offset as u64))?;
        let (resolve, world) =
            match wit_component::decode(input).map_err(|e| fail(&format!("{e:#}")))? {
                DecodedWasm::Component(resolve, world) => (resolve, world),
                DecodedWasm::WitPackage(..) => {
                    return Err(fail(&"it is a WIT package, not a component"));
                }
            };
        let bytes = wit_component::metadata::encode(
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
            None,
        )
        .map_err(|e| fail(&format!("{e:#}")))?;
        Ok(World {
            bytes,
            resolve,
            world,
        })
    }

    /// The world encoded as a component type: the payload of a
    /// `component-type` custom section (`utf8` string encoding).
    pub fn encoded(&self) -> &[u8] {
        &self.bytes
    }

    /// The declarations of the world's component type, in order.
    ///
    /// # Errors
    /// E0100 if wit-component's encoding does not have the expected shape.
    pub fn decls(&self) -> Result<Vec<ComponentTypeDeclaration<'_>>, Diagnostic> {
        let shape = || {
            Diagnostic::error(
                Code::Internal,
                "internal error: unexpected shape of the encoded world",
            )
        };
        for payload in Parser::new(0).parse_all(&self.bytes) {
            if let Ok(Payload::ComponentTypeSection(s)) = payload {
                for ty in s {
                    let Ok(ComponentType::Component(outer)) = ty else {
                        continue;
                    };
                    for decl in outer.into_vec() {
                        if let ComponentTypeDeclaration::Type(ComponentType::Component(world)) =
                            decl
                        {
                            return Ok(world.into_vec());
                        }
                    }
                }
            }
        }
        Err(shape())
    }
}

/// WIT gives interface-style names (`ns:pkg/iface@1.0`) only to instances.
/// Another item under such a name is not expressible as WIT (and would make
/// wit-parser's decoder panic), so it is refused here with its offset.
fn refuse_non_wit_names(input: &[u8]) -> Result<(), (String, usize)> {
    use wasmparser::{ComponentExternalKind, ComponentTypeRef};
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(input) {
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(s) if depth == 1 => {
                for item in s.into_iter_with_offsets() {
                    let Ok((offset, import)) = item else {
                        return Ok(());
                    };
                    if import.name.name.contains(':')
                        && !matches!(import.ty, ComponentTypeRef::Instance(_))
                    {
                        return Err((
                            format!(
                                "the import `{}` has an interface name but is not an instance",
                                import.name.name
                            ),
                            offset,
                        ));
                    }
                }
            }
            Payload::ComponentExportSection(s) if depth == 1 => {
                for item in s.into_iter_with_offsets() {
                    let Ok((offset, export)) = item else {
                        return Ok(());
                    };
                    if export.name.name.contains(':')
                        && export.kind != ComponentExternalKind::Instance
                    {
                        return Err((
                            format!(
                                "the export `{}` has an interface name but is not an instance",
                                export.name.name
                            ),
                            offset,
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The index spaces of a world type that its declarations add to.
#[derive(Clone, Copy, Debug)]
pub enum Space {
    /// Component types.
    Type,
    /// Component functions.
    Func,
    /// Component instances.
    Instance,
    /// Components.
    Component,
    /// Anything else (core items, values): never referred to by the
    /// declarations Meld re-emits.
    Other,
}

impl Space {
    /// The space an import or export of this kind adds to.
    pub fn of_type_ref(ty: &wasmparser::ComponentTypeRef) -> Space {
        use wasmparser::ComponentTypeRef as R;
        match ty {
            R::Type(_) => Space::Type,
            R::Func(_) => Space::Func,
            R::Instance(_) => Space::Instance,
            R::Component(_) => Space::Component,
            R::Module(_) | R::Value(_) => Space::Other,
        }
    }

    /// The space an alias adds to.
    pub fn of_alias(alias: &wasmparser::ComponentAlias<'_>) -> Space {
        use wasmparser::{
            ComponentAlias as A, ComponentExternalKind as K, ComponentOuterAliasKind as O,
        };
        match alias {
            A::InstanceExport { kind, .. } => match kind {
                K::Type => Space::Type,
                K::Func => Space::Func,
                K::Instance => Space::Instance,
                K::Component => Space::Component,
                K::Module | K::Value => Space::Other,
            },
            A::Outer { kind: O::Type, .. } => Space::Type,
            A::Outer {
                kind: O::Component, ..
            } => Space::Component,
            A::Outer { .. } | A::CoreInstanceExport { .. } => Space::Other,
        }
    }
}

/// Re-encodes a world's declarations into the output component, mapping the
/// world type's own indices (types, functions, instances, components) to the
/// output's. Indices inside nested instance or component types are local to
/// them and kept, except outer aliases that reach the world's level.
#[derive(Default)]
pub struct WorldReencoder {
    types: Vec<u32>,
    funcs: Vec<u32>,
    instances: Vec<u32>,
    components: Vec<u32>,
    depth: u32,
}

impl WorldReencoder {
    /// Records that the world's next item in `space` is the output's `index`.
    pub fn push(&mut self, space: Space, index: u32) {
        match space {
            Space::Type => self.types.push(index),
            Space::Func => self.funcs.push(index),
            Space::Instance => self.instances.push(index),
            Space::Component => self.components.push(index),
            Space::Other => {}
        }
    }

    fn map(&self, space: &[u32], i: u32) -> u32 {
        if self.depth == 0 {
            space.get(i as usize).copied().unwrap_or(i)
        } else {
            i
        }
    }
}

impl wasm_encoder::reencode::Reencode for WorldReencoder {
    type Error = std::convert::Infallible;
}

impl wasm_encoder::reencode::ReencodeComponent for WorldReencoder {
    fn component_type_index(&mut self, ty: u32) -> u32 {
        self.map(&self.types, ty)
    }
    fn component_func_index(&mut self, f: u32) -> u32 {
        self.map(&self.funcs, f)
    }
    fn component_instance_index(&mut self, i: u32) -> u32 {
        self.map(&self.instances, i)
    }
    fn component_index(&mut self, c: u32) -> u32 {
        self.map(&self.components, c)
    }
    fn outer_component_type_index(&mut self, count: u32, ty: u32) -> u32 {
        if count == self.depth {
            self.types.get(ty as usize).copied().unwrap_or(ty)
        } else {
            ty
        }
    }
    fn outer_component_index(&mut self, count: u32, c: u32) -> u32 {
        if count == self.depth {
            self.components.get(c as usize).copied().unwrap_or(c)
        } else {
            c
        }
    }
    fn push_depth(&mut self) {
        self.depth += 1;
    }
    fn pop_depth(&mut self) {
        self.depth -= 1;
    }
}

/// Whether the component `input` imports anything at its top level (types
/// included, which the translation does not list).
pub fn has_imports(input: &[u8]) -> bool {
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(input) {
        match payload {
            Ok(Payload::Version { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth -= 1,
            Ok(Payload::ComponentImportSection(s)) if depth == 1 && s.count() > 0 => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}
