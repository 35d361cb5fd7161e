//! Diagnostics: what Meld reports about an input it cannot fuse (or fuses with
//! remarks). Every code is stable once released; the table below is the
//! authoritative list, and `meld-host` renders them like a compiler does.
//!
//! | code  | kind |
//! | ----- | ---- |
//! | E0001 | empty input |
//! | E0002 | not WebAssembly (bad magic or header) |
//! | E0003 | a core module was given where a component is expected |
//! | E0004 | truncated input (the binary ends inside a section or item) |
//! | E0005 | invalid component (fails validation) |
//! | E0006 | unsupported wasm or component-model feature |
//! | E0007 | unsupported: component-model async |
//! | E0008 | retired (was: resources passed between inner components; Meld fuses resources) |
//! | E0009 | unsupported: imported core modules or components |
//! | E0010 | the outer world cannot be decoded as WIT |
//! | E0011 | the fused module would exceed a WebAssembly implementation limit (e.g. more than 100 memories) |
//! | E0012 | `meld-host`: the fuser ran out of its memory limit (`--max-memory`) |
//! | E0013 | `meld-host`: the fuser ran out of its time limit (`--timeout`) |
//! | E0014 | `meld-host`: the input is WebAssembly text (WAT) that does not parse |
//! | E0015 | unsupported: component-model async that needs a stack of its own (a stackful async lift, the cooperative `thread.*` built-ins) |
//! | E0016 | core output (`--emit core`) of a composition whose outer world is async |
//! | E0100 | internal error (a bug in Meld: please report it) |

use std::fmt;

/// How serious a [`Diagnostic`] is (mirrors `severity` in `wit/fuser.wit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The input cannot be fused; no output is produced.
    Error,
    /// The output is produced, but something deserves attention.
    Warning,
    /// Extra information.
    Note,
}

/// A stable diagnostic code. The numeric value never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// E0001: the input has no bytes.
    EmptyInput,
    /// E0002: the input does not start with the wasm magic and a known version.
    NotWasm,
    /// E0003: the input is a core module, not a component.
    CoreModule,
    /// E0004: the input ends in the middle of a section or item.
    Truncated,
    /// E0005: the input is not a valid component.
    Invalid,
    /// E0006: the input uses a wasm or component-model feature Meld does not fuse yet.
    Unsupported,
    /// E0007: the input uses component-model async.
    UnsupportedAsync,
    /// E0008: retired. Meld refused resources passed between inner
    /// components before it fused them; the code is kept so that codes stay
    /// stable, and is no longer reported.
    UnsupportedResources,
    /// E0009: the input imports core modules or components.
    UnsupportedImportedDefinition,
    /// E0010: the input's outer world cannot be decoded as WIT.
    WorldDecode,
    /// E0011: the fused module would exceed a WebAssembly implementation
    /// limit (the JS API's limits, which wasmparser and browsers enforce):
    /// valid input too large to fuse into one module.
    ImplementationLimit,
    /// E0012: reported by `meld-host`, not by the fuser: fusing needed more
    /// memory than `--max-memory` allows.
    MemoryLimit,
    /// E0013: reported by `meld-host`, not by the fuser: fusing took longer
    /// than `--timeout` allows.
    TimeLimit,
    /// E0014: reported by `meld-host`, not by the fuser (which only sees
    /// binary): the input looks like WebAssembly text but does not parse.
    TextParse,
    /// E0015: the input uses component-model async that needs a stack of
    /// its own: an async lift without a callback (stackful), or the
    /// cooperative-threads built-ins (`thread.new-indirect`,
    /// `thread.switch-to`, `thread.suspend`, ...). The fused module gives
    /// a task that blocks a stack of its own by unwinding it
    /// (`guest/src/intrinsics/ASYNC.md`, "One stack, and stacks of their
    /// own"); stackful lifts and threads are not built on that yet.
    UnsupportedStackful,
    /// E0016: core output was asked for a composition whose outer world is
    /// async (an outer function of `async` type or lifted or lowered with
    /// the async ABI): the host's async built-ins have no standard ABI in
    /// a core module. Inner-only async (a sync outer world) is fused to
    /// core output.
    AsyncCoreOutput,
    /// E0100: Meld produced something invalid; a bug.
    Internal,
}

impl Code {
    /// A refusal of component-model async: E0007, E0015 or E0016.
    pub fn is_async(self) -> bool {
        matches!(
            self,
            Code::UnsupportedAsync | Code::UnsupportedStackful | Code::AsyncCoreOutput
        )
    }

    /// The stable textual form, `E0001`...
    pub fn as_str(self) -> &'static str {
        match self {
            Code::EmptyInput => "E0001",
            Code::NotWasm => "E0002",
            Code::CoreModule => "E0003",
            Code::Truncated => "E0004",
            Code::Invalid => "E0005",
            Code::Unsupported => "E0006",
            Code::UnsupportedAsync => "E0007",
            Code::UnsupportedResources => "E0008",
            Code::UnsupportedImportedDefinition => "E0009",
            Code::WorldDecode => "E0010",
            Code::ImplementationLimit => "E0011",
            Code::MemoryLimit => "E0012",
            Code::TimeLimit => "E0013",
            Code::TextParse => "E0014",
            Code::UnsupportedStackful => "E0015",
            Code::AsyncCoreOutput => "E0016",
            Code::Internal => "E0100",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// What went wrong, phrased so that a person can act on it.
    pub message: String,
    /// Byte offset into the input, when known.
    pub offset: Option<u64>,
    /// Further context, one line each.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error diagnostic with no offset and no notes.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            offset: None,
            notes: Vec::new(),
        }
    }

    /// Sets the byte offset into the input.
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Adds a note line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{sev}[{}]: {}", self.code, self.message)?;
        if let Some(off) = self.offset {
            write!(f, " (at byte offset {off:#x})")?;
        }
        for n in &self.notes {
            write!(f, "\n  = note: {n}")?;
        }
        Ok(())
    }
}

/// The error side of [`crate::fuse`]: one or more diagnostics, errors first.
pub type Diagnostics = Vec<Diagnostic>;
