//! [`FusedExport`]: the exports of the fused module that the wrap stage uses,
//! named in one place. The planner asks the fused module to export these;
//! the component wrapper aliases them (memories, `realloc`s and post-returns
//! for canonical options, lifted functions, destructors, the host table) and
//! the core wrapper renames them after the world.
//!
//! The name of the fused module's `init` function (start functions and
//! segment initialisation, which the wrapper runs once host calls work) is
//! the merge pass's ([`super::merge::INIT_EXPORT`]).

use std::fmt;

/// One export of the fused module for the wrapper.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FusedExport {
    /// `memoryN`: inner memory `N` (a `RuntimeMemoryIndex`).
    Memory(u32),
    /// `reallocN`: inner `realloc` `N` (a `RuntimeReallocIndex`).
    Realloc(u32),
    /// `post-returnN`: inner post-return `N` (a `RuntimePostReturnIndex`).
    PostReturn(u32),
    /// `liftN`: the core function of the `N`th lifted outer export.
    Lift(u32),
    /// `callbackN`: the callback of the `N`th lifted outer export, lifted
    /// with the async ABI: the async runtime's driver of its task.
    Callback(u32),
    /// `lift-exitN`: the post-return of the `N`th lifted outer export of an
    /// async composition, which runs the inner post-return (if any) in the
    /// call's task and then ends the task.
    LiftExit(u32),
    /// `dtorN`: the wrapper's destructor of exported resource `N` (a
    /// `ResourceIndex`).
    Dtor(u32),
    /// `scratch-memory`: the outer instance's scratch memory.
    ScratchMemory,
    /// `scratch-realloc`: its `realloc`.
    ScratchRealloc,
    /// `scratch-<reset>`: one of its reset functions (a post-return of the
    /// outer lifts), by the scratch module's export name (`reset-i32`, ...).
    ScratchReset(String),
    /// `host-table`: the table of outer lowerings the wrapper's fixup fills.
    HostTable,
    /// `async-memory`: the async runtime's memory, where the wrapper's
    /// `waitable-set.wait` writes the host's events.
    AsyncMemory,
    /// The fused module's `init` function ([`super::merge::INIT_EXPORT`]).
    Init,
}

impl FusedExport {
    /// The export name.
    pub fn name(&self) -> String {
        match self {
            FusedExport::Memory(i) => format!("memory{i}"),
            FusedExport::Realloc(i) => format!("realloc{i}"),
            FusedExport::PostReturn(i) => format!("post-return{i}"),
            FusedExport::Lift(i) => format!("lift{i}"),
            FusedExport::LiftExit(i) => format!("lift-exit{i}"),
            FusedExport::Callback(i) => format!("callback{i}"),
            FusedExport::Dtor(i) => format!("dtor{i}"),
            FusedExport::ScratchMemory => "scratch-memory".into(),
            FusedExport::ScratchRealloc => "scratch-realloc".into(),
            FusedExport::ScratchReset(reset) => format!("scratch-{reset}"),
            FusedExport::HostTable => "host-table".into(),
            FusedExport::AsyncMemory => "async-memory".into(),
            FusedExport::Init => super::merge::INIT_EXPORT.into(),
        }
    }

    /// The export `name` stands for, if it is one of [`FusedExport::name`].
    pub fn parse(name: &str) -> Option<FusedExport> {
        let indexed = |prefix: &str| {
            let digits = name.strip_prefix(prefix)?;
            // `memory01` is not a name this module makes.
            (digits == "0" || !digits.starts_with('0'))
                .then(|| digits.parse::<u32>().ok())
                .flatten()
        };
        Some(match name {
            "scratch-memory" => FusedExport::ScratchMemory,
            "scratch-realloc" => FusedExport::ScratchRealloc,
            "host-table" => FusedExport::HostTable,
            "async-memory" => FusedExport::AsyncMemory,
            n if n == super::merge::INIT_EXPORT => FusedExport::Init,
            _ => {
                if let Some(reset) = name.strip_prefix("scratch-") {
                    FusedExport::ScratchReset(reset.to_string())
                } else if let Some(i) = indexed("memory") {
                    FusedExport::Memory(i)
                } else if let Some(i) = indexed("realloc") {
                    FusedExport::Realloc(i)
                } else if let Some(i) = indexed("post-return") {
                    FusedExport::PostReturn(i)
                } else if let Some(i) = indexed("callback") {
                    FusedExport::Callback(i)
                } else if let Some(i) = indexed("lift-exit") {
                    FusedExport::LiftExit(i)
                } else if let Some(i) = indexed("lift") {
                    FusedExport::Lift(i)
                } else {
                    FusedExport::Dtor(indexed("dtor")?)
                }
            }
        })
    }
}

impl fmt::Display for FusedExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::FusedExport;

    #[test]
    fn names_round_trip() {
        for e in [
            FusedExport::Memory(0),
            FusedExport::Memory(12),
            FusedExport::Realloc(1),
            FusedExport::PostReturn(2),
            FusedExport::Lift(3),
            FusedExport::LiftExit(5),
            FusedExport::Callback(6),
            FusedExport::Dtor(4),
            FusedExport::ScratchMemory,
            FusedExport::AsyncMemory,
            FusedExport::ScratchRealloc,
            FusedExport::ScratchReset("reset-i32".into()),
            FusedExport::HostTable,
            FusedExport::Init,
        ] {
            assert_eq!(FusedExport::parse(&e.name()), Some(e.clone()), "{e}");
        }
        for bad in ["memory", "memory01", "lift-1", "dtorx", "initial", "host"] {
            assert_eq!(FusedExport::parse(bad), None, "{bad}");
        }
    }
}
