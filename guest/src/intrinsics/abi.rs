// The resource runtime's ABI: the layout of its memory and the meaning of its
// bits, named once. This file is `include!`d twice: by the crate
// (`intrinsics::resources::abi`), where the planner and the generated
// configuration module use the constants, and by `build.rs`, which replaces
// every `{NAME}` in `src/intrinsics/*.wat` by the value of `NAME` from
// [`TABLE`] before it compiles the text (so the text and the Rust code cannot
// disagree; a `{NAME}` that is not in the table fails the build).
//
// The layout itself is described in `resources.wat`'s header comment.

/// Bits 0-23 of a type entry's `info`: the `ResourceIndex` of the resource.
pub const RESOURCE_MASK: u32 = 0x00ff_ffff;
/// `info` bit: the entry's table belongs to the instance that defines the
/// resource (a borrow lifted into it is the rep itself).
pub const DEFINER: u32 = 1 << 24;
/// `info` bit: the entry is the outer (host) side of the fused component.
pub const OUTER: u32 = 1 << 25;
/// `info` bit: the resource is imported from the host.
pub const HOST: u32 = 1 << 26;
/// `info` bit: the resource has a destructor.
pub const DTOR: u32 = 1 << 27;
/// [`DEFINER`] or [`OUTER`]: a borrow lifted where no lend is tracked.
pub const DEFINER_OR_OUTER: u32 = DEFINER | OUTER;

/// log2 of the size of a type entry (`[table: i32][info: i32]`).
pub const TYPE_ENTRY_SHIFT: u32 = 3;
/// log2 of the size of a vector header (`[len][cap][base][next]`).
pub const VECTOR_HEADER_SHIFT: u32 = 4;
/// Offset from `config.headers` of the lend stack's vector header (the
/// scope stack's is at 0).
pub const LENDS_HEADER: u32 = 1 << VECTOR_HEADER_SHIFT;
/// Offset from `config.headers` of the first handle table's vector header
/// (after the scope stack's and the lend stack's).
pub const TABLE_HEADERS: u32 = 2 << VECTOR_HEADER_SHIFT;
/// log2 of the size of a handle-table slot
/// (`[kind][ty][rep|next-free][lends|scope]`).
pub const SLOT_SHIFT: u32 = 4;
/// log2 of the size of a scope (`[borrow count][lend-stack mark]`) and of
/// a lend (`[table][slot]`).
pub const SCOPE_SHIFT: u32 = 3;
/// Slot kind: an own handle.
pub const SLOT_OWN: u32 = 1;
/// Slot kind: a borrow handle.
pub const SLOT_BORROW: u32 = 2;
/// Slot kind: a handle of the async runtime (a waitable set, a subtask, a
/// stream or future end), whose `ty` is [`ASYNC_TY`].
pub const SLOT_ASYNC: u32 = 3;
/// The `ty` of an async runtime's slot: no resource type.
pub const ASYNC_TY: u32 = u32::MAX;
/// Lend-stack `table` bit: an outer borrow (the rest is its resource).
pub const OUTER_LEND: u32 = 0x8000_0000;
/// The resource of an outer borrow's lend-stack `table`.
pub const OUTER_LEND_RESOURCE: u32 = !OUTER_LEND;

/// log2 of the number of hook slots per resource (4).
pub const HOOKS_SHIFT: u32 = 2;
/// Hook slot: drop of an own (the inner destructor of a defined resource,
/// the wrapper's `resource.drop` of a host resource).
pub const HOOK_DROP: u32 = 0;
/// Hook slot: the wrapper's `resource.new` (exported resource).
pub const HOOK_OUTER_NEW: u32 = 1;
/// Hook slot: the wrapper's `resource.rep`.
pub const HOOK_OUTER_REP: u32 = 2;
/// Hook slot: the wrapper's `resource.drop`.
pub const HOOK_OUTER_DROP: u32 = 3;

/// Every constant by name, for `{NAME}` in the `.wat` text.
pub const TABLE: &[(&str, u32)] = &[
    ("RESOURCE_MASK", RESOURCE_MASK),
    ("DEFINER", DEFINER),
    ("OUTER", OUTER),
    ("HOST", HOST),
    ("DTOR", DTOR),
    ("DEFINER_OR_OUTER", DEFINER_OR_OUTER),
    ("TYPE_ENTRY_SHIFT", TYPE_ENTRY_SHIFT),
    ("VECTOR_HEADER_SHIFT", VECTOR_HEADER_SHIFT),
    ("LENDS_HEADER", LENDS_HEADER),
    ("TABLE_HEADERS", TABLE_HEADERS),
    ("SLOT_SHIFT", SLOT_SHIFT),
    ("SCOPE_SHIFT", SCOPE_SHIFT),
    ("SLOT_OWN", SLOT_OWN),
    ("SLOT_BORROW", SLOT_BORROW),
    ("SLOT_ASYNC", SLOT_ASYNC),
    ("ASYNC_TY", ASYNC_TY),
    ("OUTER_LEND", OUTER_LEND),
    ("OUTER_LEND_RESOURCE", OUTER_LEND_RESOURCE),
    ("HOOKS_SHIFT", HOOKS_SHIFT),
    ("HOOK_DROP", HOOK_DROP),
    ("HOOK_OUTER_NEW", HOOK_OUTER_NEW),
    ("HOOK_OUTER_REP", HOOK_OUTER_REP),
    ("HOOK_OUTER_DROP", HOOK_OUTER_DROP),
];
