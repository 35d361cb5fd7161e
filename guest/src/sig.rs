//! [`CoreSig`]: a core function signature, the one type every stage uses for
//! it (boundary adapters, host-table slots, stubs, the wrapper's fixup).

use crate::diagnostics::{Code, Diagnostic};
use wasm_encoder::ValType;

/// A core function signature: parameter and result types, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CoreSig {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl CoreSig {
    /// The signature `params -> results`.
    pub fn new(params: Vec<ValType>, results: Vec<ValType>) -> Self {
        CoreSig { params, results }
    }

    /// A wasmtime core function type as a `wasm_encoder` signature.
    ///
    /// # Errors
    /// E0006 for GC reference types, which Meld does not fuse.
    pub fn from_wasm(f: &wasmtime_environ::WasmFuncType) -> Result<Self, Diagnostic> {
        let conv = |v: &wasmtime_environ::WasmValType| -> Result<ValType, Diagnostic> {
            use wasmtime_environ::WasmValType as W;
            Ok(match v {
                W::I32 => ValType::I32,
                W::I64 => ValType::I64,
                W::F32 => ValType::F32,
                W::F64 => ValType::F64,
                W::V128 => ValType::V128,
                W::Ref(_) => {
                    return Err(Diagnostic::error(
                        Code::Unsupported,
                        "unsupported: GC references in a lowered signature",
                    ));
                }
            })
        };
        Ok(CoreSig {
            params: f.params().iter().map(conv).collect::<Result<_, _>>()?,
            results: f.results().iter().map(conv).collect::<Result<_, _>>()?,
        })
    }

    /// Adds this signature as a function type to `types`.
    pub fn define(&self, types: &mut wasm_encoder::TypeSection) {
        types
            .ty()
            .function(self.params.iter().copied(), self.results.iter().copied());
    }
}
