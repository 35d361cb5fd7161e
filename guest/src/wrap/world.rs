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

/// The encoded world of a component.
pub struct World {
    bytes: Vec<u8>,
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
        Ok(World { bytes })
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
