//! The link plan: every core instance of the fused module, in instantiation
//! order, with what satisfies each of its imports.
//!
//! The plan is the only input of [`super::merge`]. Inner modules, FACT adapter
//! modules and intrinsic modules are all [`PlannedInstance`]s: the linker has a
//! single mechanism, and an intrinsic is just a small module instantiated like
//! any other.

use std::borrow::Cow;
use std::fmt;

/// Index of a [`PlannedInstance`] in [`Plan::instances`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub usize);

/// An item exported by a planned instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// By export name.
    Name(String),
    /// By kind and index in the exporting module's own index space (FACT and
    /// wasmtime refer to items this way, exported or not).
    Index(Kind, u32),
}

/// The kinds of core entities an import can resolve to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A linear memory.
    Memory,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Func => "func",
            Kind::Table => "table",
            Kind::Memory => "memory",
            Kind::Global => "global",
            Kind::Tag => "tag",
        })
    }
}

/// A reference to an item of an earlier instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ref {
    /// The exporting instance; always earlier in the plan than its user.
    pub instance: InstanceId,
    /// Which of its items.
    pub item: Item,
}

/// One core instance: a module and one [`Ref`] per import, in import order.
pub struct PlannedInstance<'a> {
    /// The module's bytes (an input module, a FACT adapter, or an intrinsic).
    pub module: Cow<'a, [u8]>,
    /// What satisfies each import of the module, in the module's import order.
    pub args: Vec<Ref>,
    /// A short human-readable description, for diagnostics and debugging.
    pub what: String,
    /// Whether the module's imports are kept as imports of the fused module
    /// (core output: the host's functions) instead of being resolved; see
    /// [`Plan::push_host_imports`].
    pub host_imports: bool,
    /// The module is a FACT adapter module: its plain-data list copies
    /// become `memory.copy`s when merged ([`crate::link::listcopy`]).
    pub fact: bool,
}

/// Everything the fused module consists of.
#[derive(Default)]
pub struct Plan<'a> {
    /// Core instances in instantiation order.
    pub instances: Vec<PlannedInstance<'a>>,
    /// Items the fused module exports (for the wrapper), by name.
    pub exports: Vec<(String, Kind, Ref)>,
    /// What the unwind pass (`link::unwind`) runs with once the instances
    /// are merged, if it runs.
    pub unwind: Option<UnwindPlan>,
}

/// The items of the unwind pass's [`crate::link::unwind::Spec`], as
/// references into the plan.
pub struct UnwindPlan {
    /// Functions an unwind stops at.
    pub roots: Vec<Ref>,
    /// Functions that may start one.
    pub blockers: Vec<Ref>,
    /// The instance whose functions are never instrumented (the runtime).
    pub opaque: InstanceId,
    /// The buffers' memory.
    pub memory: Ref,
    /// The `state`, `data` and `enabled` globals.
    pub state: Ref,
    /// See [`UnwindPlan::state`].
    pub data: Ref,
    /// See [`UnwindPlan::state`].
    pub enabled: Ref,
}

impl<'a> Plan<'a> {
    /// Appends an instance and returns its id.
    pub fn push(
        &mut self,
        module: Cow<'a, [u8]>,
        args: Vec<Ref>,
        what: impl Into<String>,
    ) -> InstanceId {
        self.instances.push(PlannedInstance {
            module,
            args,
            what: what.into(),
            host_imports: false,
            fact: false,
        });
        InstanceId(self.instances.len() - 1)
    }

    /// Appends the instance whose imports become the fused module's imports.
    /// It must be the first instance (imported functions come first in the
    /// function index space) and import only functions; its `module` may be
    /// replaced later, while planning (the host's functions are known last).
    pub fn push_host_imports(&mut self, module: Vec<u8>) -> InstanceId {
        let id = self.push(Cow::Owned(module), Vec::new(), "the host's functions");
        self.instances[id.0].host_imports = true;
        id
    }

    /// Requests that the fused module export `r` (of kind `kind`) as `name`.
    pub fn export(&mut self, name: impl Into<String>, kind: Kind, r: Ref) {
        self.exports.push((name.into(), kind, r));
    }
}
