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
