//! A component encoder that tracks index spaces.
//!
//! Like `wasm_encoder::ComponentBuilder`, but with the one item kind the wrap
//! stage needs and that builder lacks: component instances made from exports.
//! Every item goes in a section of its own (sections may repeat in a
//! component); the cost is a few bytes of section headers.

use wasm_encoder::{
    Alias, CanonicalFunctionSection, CanonicalOption, Component, ComponentAliasSection,
    ComponentCoreTypeEncoder, ComponentDefinedTypeEncoder, ComponentExportKind,
    ComponentExportSection, ComponentExternName, ComponentImportSection, ComponentInstanceSection,
    ComponentOuterAliasKind, ComponentSectionId, ComponentTypeEncoder, ComponentTypeRef,
    ComponentTypeSection, CoreTypeSection, ExportKind, InstanceSection, ModuleArg, RawSection,
};

/// Counts of every index space of a component under construction.
#[derive(Default, Debug)]
struct Spaces {
    types: u32,
    funcs: u32,
    instances: u32,
    components: u32,
    values: u32,
    core_types: u32,
    core_modules: u32,
    core_instances: u32,
    core_funcs: u32,
    core_tables: u32,
    core_memories: u32,
    core_globals: u32,
    core_tags: u32,
}

fn bump(n: &mut u32) -> u32 {
    *n += 1;
    *n - 1
}

/// A component being built, with its index spaces.
#[derive(Default)]
pub struct Builder {
    component: Component,
    n: Spaces,
    /// The type index of `(stream)`, once defined.
    wake_stream: Option<u32>,
}

impl Builder {
    /// The finished component's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.component.finish()
    }

    fn component_kind(&mut self, kind: ComponentExportKind) -> u32 {
        let n = &mut self.n;
        bump(match kind {
            ComponentExportKind::Func => &mut n.funcs,
            ComponentExportKind::Instance => &mut n.instances,
            ComponentExportKind::Type => &mut n.types,
            ComponentExportKind::Component => &mut n.components,
            ComponentExportKind::Module => &mut n.core_modules,
            ComponentExportKind::Value => &mut n.values,
        })
    }

    fn core_kind(&mut self, kind: ExportKind) -> u32 {
        let n = &mut self.n;
        bump(match kind {
            ExportKind::Func => &mut n.core_funcs,
            ExportKind::Table => &mut n.core_tables,
            ExportKind::Memory => &mut n.core_memories,
            ExportKind::Global => &mut n.core_globals,
            ExportKind::Tag => &mut n.core_tags,
        })
    }

    /// Adds a custom section (placed where it is added).
    pub fn custom(&mut self, section: &impl wasm_encoder::ComponentSection) {
        self.component.section(section);
    }

    /// Defines a component type with `f`; returns its type index.
    pub fn ty<E>(
        &mut self,
        f: impl FnOnce(ComponentTypeEncoder<'_>) -> Result<(), E>,
    ) -> Result<u32, E> {
        let mut s = ComponentTypeSection::new();
        f(s.ty())?;
        self.component.section(&s);
        Ok(bump(&mut self.n.types))
    }

    /// Defines a component value type (record, list, ...) with `f`; returns
    /// its type index.
    pub fn defined(&mut self, f: impl FnOnce(ComponentDefinedTypeEncoder<'_>)) -> u32 {
        let mut s = ComponentTypeSection::new();
        f(s.defined_type());
        self.component.section(&s);
        bump(&mut self.n.types)
    }

    /// Defines a core type with `f`; returns its core type index.
    pub fn core_type<E>(
        &mut self,
        f: impl FnOnce(ComponentCoreTypeEncoder<'_>) -> Result<(), E>,
    ) -> Result<u32, E> {
        let mut s = CoreTypeSection::new();
        f(s.ty())?;
        self.component.section(&s);
        Ok(bump(&mut self.n.core_types))
    }

    /// Adds an alias; returns the index in the space it adds to.
    pub fn alias(&mut self, alias: Alias<'_>) -> u32 {
        let mut s = ComponentAliasSection::new();
        s.alias(alias);
        self.component.section(&s);
        match alias {
            Alias::InstanceExport { kind, .. } => self.component_kind(kind),
            Alias::CoreInstanceExport { kind, .. } => self.core_kind(kind),
            Alias::Outer { kind, .. } => match kind {
                ComponentOuterAliasKind::CoreModule => bump(&mut self.n.core_modules),
                ComponentOuterAliasKind::CoreType => bump(&mut self.n.core_types),
                ComponentOuterAliasKind::Type => bump(&mut self.n.types),
                ComponentOuterAliasKind::Component => bump(&mut self.n.components),
            },
        }
    }

    /// `alias export $instance "name" (kind)`.
    pub fn alias_export(&mut self, instance: u32, name: &str, kind: ComponentExportKind) -> u32 {
        self.alias(Alias::InstanceExport {
            instance,
            kind,
            name,
        })
    }

    /// `alias core export $instance "name" (kind)`.
    pub fn core_alias_export(&mut self, instance: u32, name: &str, kind: ExportKind) -> u32 {
        self.alias(Alias::CoreInstanceExport {
            instance,
            kind,
            name,
        })
    }

    /// Imports an item; returns its index.
    pub fn import(&mut self, name: ComponentExternName<'_>, ty: ComponentTypeRef) -> u32 {
        let mut s = ComponentImportSection::new();
        s.import(name, ty);
        self.component.section(&s);
        let n = &mut self.n;
        bump(match ty {
            ComponentTypeRef::Instance(_) => &mut n.instances,
            ComponentTypeRef::Func(_) => &mut n.funcs,
            ComponentTypeRef::Type(_) => &mut n.types,
            ComponentTypeRef::Component(_) => &mut n.components,
            ComponentTypeRef::Module(_) => &mut n.core_modules,
            ComponentTypeRef::Value(_) => &mut n.values,
        })
    }

    /// Exports an item, optionally ascribing a type; returns the index the
    /// export adds to its space.
    pub fn export(
        &mut self,
        name: &str,
        kind: ComponentExportKind,
        index: u32,
        ty: Option<ComponentTypeRef>,
    ) -> u32 {
        let mut s = ComponentExportSection::new();
        s.export(name, kind, index, ty);
        self.component.section(&s);
        self.component_kind(kind)
    }

    /// Embeds a core module; returns its module index.
    pub fn core_module(&mut self, bytes: &[u8]) -> u32 {
        self.component.section(&RawSection {
            id: ComponentSectionId::CoreModule.into(),
            data: bytes,
        });
        bump(&mut self.n.core_modules)
    }

    /// Embeds a nested component; returns its component index.
    pub fn component(&mut self, bytes: &[u8]) -> u32 {
        self.component.section(&RawSection {
            id: ComponentSectionId::Component.into(),
            data: bytes,
        });
        bump(&mut self.n.components)
    }

    /// Instantiates component `component` with arguments; returns the
    /// instance index.
    pub fn instantiate(
        &mut self,
        component: u32,
        args: &[(String, ComponentExportKind, u32)],
    ) -> u32 {
        let mut s = ComponentInstanceSection::new();
        s.instantiate(component, args.iter().map(|(n, k, i)| (n.as_str(), *k, *i)));
        self.component.section(&s);
        bump(&mut self.n.instances)
    }

    /// Instantiates core module `module` with instance arguments.
    pub fn core_instantiate(&mut self, module: u32, args: &[(&str, u32)]) -> u32 {
        let mut s = InstanceSection::new();
        s.instantiate(
            module,
            args.iter().map(|(n, i)| (*n, ModuleArg::Instance(*i))),
        );
        self.component.section(&s);
        bump(&mut self.n.core_instances)
    }

    /// A core instance made of exports.
    pub fn core_instantiate_exports(&mut self, exports: &[(String, ExportKind, u32)]) -> u32 {
        let mut s = InstanceSection::new();
        s.export_items(exports.iter().map(|(n, k, i)| (n.as_str(), *k, *i)));
        self.component.section(&s);
        bump(&mut self.n.core_instances)
    }

    /// A component instance made of exports.
    pub fn instantiate_exports(&mut self, exports: &[(String, ComponentExportKind, u32)]) -> u32 {
        let mut s = ComponentInstanceSection::new();
        s.export_items(exports.iter().map(|(n, k, i)| (n.as_str(), *k, *i)));
        self.component.section(&s);
        bump(&mut self.n.instances)
    }

    /// `canon lower`; returns the core function index.
    pub fn lower(&mut self, func: u32, options: &[CanonicalOption]) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        s.lower(func, options.iter().copied());
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// `canon lift`; returns the component function index.
    pub fn lift(&mut self, core_func: u32, ty: u32, options: &[CanonicalOption]) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        s.lift(core_func, ty, options.iter().copied());
        self.component.section(&s);
        bump(&mut self.n.funcs)
    }

    /// `canon resource.drop`; returns the core function index.
    pub fn resource_drop(&mut self, ty: u32) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        s.resource_drop(ty);
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// `canon resource.new`; returns the core function index.
    pub fn resource_new(&mut self, ty: u32) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        s.resource_new(ty);
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// `canon resource.rep`; returns the core function index.
    pub fn resource_rep(&mut self, ty: u32) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        s.resource_rep(ty);
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// `canon task.return` of a result of type `ty` with `options`;
    /// returns the core function index.
    pub fn task_return(
        &mut self,
        ty: Option<wasm_encoder::ComponentValType>,
        options: &[CanonicalOption],
    ) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        s.task_return(ty, options.iter().copied());
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// `canon context.get i32 i` (`set`: `context.set`); returns the core
    /// function index.
    pub fn context(&mut self, set: bool, i: u32) -> u32 {
        let mut s = CanonicalFunctionSection::new();
        if set {
            s.context_set(wasm_encoder::ValType::I32, i);
        } else {
            s.context_get(wasm_encoder::ValType::I32, i);
        }
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// A built-in for host subtasks (`waitable-set.wait` writing into core
    /// memory `memory`); returns the core function index.
    pub fn host_builtin(&mut self, b: crate::link::planner::HostBuiltin, memory: u32) -> u32 {
        use crate::link::planner::HostBuiltin as B;
        let mut s = CanonicalFunctionSection::new();
        match b {
            B::SetNew => s.waitable_set_new(),
            B::Join => s.waitable_join(),
            B::SubtaskDrop => s.subtask_drop(),
            B::SubtaskCancel => s.subtask_cancel(false),
            B::Wait => s.waitable_set_wait(false, memory),
            B::Poll => s.waitable_set_poll(false, memory),
            B::WakeNew => s.stream_new(self.wake_stream_type()),
            B::WakeRead => s.stream_read(
                self.wake_stream_type(),
                [CanonicalOption::Async, CanonicalOption::Memory(memory)],
            ),
            B::WakeWrite => s.stream_write(
                self.wake_stream_type(),
                [CanonicalOption::Async, CanonicalOption::Memory(memory)],
            ),
        };
        self.component.section(&s);
        bump(&mut self.n.core_funcs)
    }

    /// `(type (stream))`, the element-less stream of the wrapper's wakeups
    /// (defined once); its type index.
    fn wake_stream_type(&mut self) -> u32 {
        if let Some(ty) = self.wake_stream {
            return ty;
        }
        let mut s = ComponentTypeSection::new();
        s.defined_type().stream(None);
        self.component.section(&s);
        let ty = bump(&mut self.n.types);
        self.wake_stream = Some(ty);
        ty
    }

    /// `(type (resource (rep i32) (dtor dtor)))`; returns the type index.
    pub fn resource_type(&mut self, dtor: u32) -> u32 {
        let mut s = ComponentTypeSection::new();
        s.resource(wasm_encoder::ValType::I32, Some(dtor));
        self.component.section(&s);
        bump(&mut self.n.types)
    }
}
