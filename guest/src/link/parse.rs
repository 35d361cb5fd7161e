//! A core module split into the parts the linker re-encodes.

use super::plan::Kind;
use wasmparser::{
    Data, Element, Export, FunctionBody, Global, Import, MemoryType, Parser, Payload, RecGroup,
    Table, TagType, TypeRef,
};

/// The sections of one core module, borrowed from its bytes.
#[derive(Default)]
pub struct ParsedModule<'a> {
    /// Recursion groups of the type section, in order.
    pub rec_groups: Vec<RecGroup>,
    /// Imports, in order (the order of a planned instance's args).
    pub imports: Vec<Import<'a>>,
    /// Type index of every defined function.
    pub func_types: Vec<u32>,
    /// Defined tables.
    pub tables: Vec<Table<'a>>,
    /// Defined memories.
    pub memories: Vec<MemoryType>,
    /// Defined globals.
    pub globals: Vec<Global<'a>>,
    /// Defined tags.
    pub tags: Vec<TagType>,
    /// Exports.
    pub exports: Vec<Export<'a>>,
    /// The start function, if any.
    pub start: Option<u32>,
    /// Element segments.
    pub elems: Vec<Element<'a>>,
    /// Data segments.
    pub datas: Vec<Data<'a>>,
    /// Bodies of the defined functions.
    pub bodies: Vec<FunctionBody<'a>>,
    /// Function names from the `name` custom section, by function index in
    /// increasing order (empty when there is none or it is malformed: a
    /// custom section never makes a module invalid).
    pub func_names: Vec<(u32, &'a str)>,
}

impl<'a> ParsedModule<'a> {
    /// Splits `bytes` (a valid core module) into its sections.
    ///
    /// # Errors
    /// A parse error: only possible for a module that is not valid, i.e. a bug
    /// upstream (the input was validated; intrinsics are tested).
    pub fn parse(bytes: &'a [u8]) -> wasmparser::Result<Self> {
        let mut m = ParsedModule::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::TypeSection(s) => {
                    for g in s {
                        m.rec_groups.push(g?);
                    }
                }
                Payload::ImportSection(s) => {
                    for i in s.into_imports() {
                        m.imports.push(i?);
                    }
                }
                Payload::FunctionSection(s) => {
                    for f in s {
                        m.func_types.push(f?);
                    }
                }
                Payload::TableSection(s) => {
                    for t in s {
                        m.tables.push(t?);
                    }
                }
                Payload::MemorySection(s) => {
                    for t in s {
                        m.memories.push(t?);
                    }
                }
                Payload::TagSection(s) => {
                    for t in s {
                        m.tags.push(t?);
                    }
                }
                Payload::GlobalSection(s) => {
                    for g in s {
                        m.globals.push(g?);
                    }
                }
                Payload::ExportSection(s) => {
                    for e in s {
                        m.exports.push(e?);
                    }
                }
                Payload::StartSection { func, .. } => m.start = Some(func),
                Payload::ElementSection(s) => {
                    for e in s {
                        m.elems.push(e?);
                    }
                }
                Payload::DataSection(s) => {
                    for d in s {
                        m.datas.push(d?);
                    }
                }
                Payload::CodeSectionEntry(body) => m.bodies.push(body),
                Payload::CustomSection(c) => {
                    if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                        m.func_names = function_names(names).unwrap_or_default();
                    }
                }
                _ => {}
            }
        }
        Ok(m)
    }

    /// Number of imports of the given kind.
    pub fn imported(&self, kind: Kind) -> usize {
        self.imports
            .iter()
            .filter(|i| kind_of(i.ty) == kind)
            .count()
    }

    /// The index (in this module's space) of the export `name` of kind `kind`.
    pub fn export_index(&self, name: &str) -> Option<(Kind, u32)> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| (external_kind(e.kind), e.index))
    }
}

/// The [`Kind`] of an import.
pub fn kind_of(ty: TypeRef) -> Kind {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => Kind::Func,
        TypeRef::Table(_) => Kind::Table,
        TypeRef::Memory(_) => Kind::Memory,
        TypeRef::Global(_) => Kind::Global,
        TypeRef::Tag(_) => Kind::Tag,
    }
}

/// The [`Kind`] of an export.
pub fn external_kind(k: wasmparser::ExternalKind) -> Kind {
    use wasmparser::ExternalKind as E;
    match k {
        E::Func | E::FuncExact => Kind::Func,
        E::Table => Kind::Table,
        E::Memory => Kind::Memory,
        E::Global => Kind::Global,
        E::Tag => Kind::Tag,
    }
}

/// The function-names subsection of a `name` section.
fn function_names(
    names: wasmparser::NameSectionReader<'_>,
) -> wasmparser::Result<Vec<(u32, &str)>> {
    let mut out = Vec::new();
    for sub in names {
        if let wasmparser::Name::Function(map) = sub? {
            for naming in map {
                let naming = naming?;
                out.push((naming.index, naming.name));
            }
        }
    }
    Ok(out)
}

/// The constant offset of an active segment, if it is a plain `i32.const`.
pub fn const_offset(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut ops = expr.get_operators_reader();
    match (ops.read().ok()?, ops.read().ok()?) {
        (wasmparser::Operator::I32Const { value }, wasmparser::Operator::End) => {
            Some(u64::from(value as u32))
        }
        _ => None,
    }
}
