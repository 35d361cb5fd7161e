;; The resource runtime (intrinsic): per-instance handle tables, borrow
;; scopes, and the resource built-ins and transfers that wasmtime 48 performs
;; in its runtime (`vm/component/libcalls.rs`, `handle_table.rs`,
;; `resources.rs`), written in wasm. Every access that traps in wasmtime traps
;; here (with `unreachable`; a core module cannot carry wasmtime's message).
;;
;; Imports (from the generated configuration module, see `resources.rs`):
;;   config.memory   the runtime's own memory. At address 0 it holds the
;;                   resource-type table: 8 bytes per `TypeResourceTableIndex`
;;                   `ty`: [table: i32][info: i32]. `table` is the component
;;                   instance whose handle table `ty` lives in. `info` is
;;                   bits 0-23  the `ResourceIndex` of the resource,
;;                   bit 24     DEFINER: `table`'s instance defines the resource
;;                              (a borrow lifted into it is the rep itself),
;;                   bit 25     OUTER: the outer (host) side of the fused
;;                              component; handles there are the wrapper's,
;;                   bit 26     HOST: the resource is imported from the host,
;;                              a rep is the wrapper's handle to it,
;;                   bit 27     DTOR: the resource has a destructor.
;;   config.headers  address of the vector headers: the scope stack, the
;;                   lend stack, then one handle table per component instance.
;;   config.heap     first free address (16-aligned) for growing vectors.
;;   config.hooks    funcref table, 4 entries per resource `r`:
;;                   4r+0 (i32)->()    drop of an own: the inner destructor of a
;;                                     defined resource, the wrapper's
;;                                     `resource.drop` of a host resource;
;;                   4r+1 (i32)->i32   wrapper `resource.new` (exported resource)
;;                   4r+2 (i32)->i32   wrapper `resource.rep`
;;                   4r+3 (i32)->()    wrapper `resource.drop`
;;
;; A vector header is 16 bytes: [len][cap][base][next]. A handle table is a
;; vector of 16-byte slots [kind][ty][rep|next-free][lends|scope] with kind
;; 0 = free, 1 = own, 2 = borrow; `next` is the head of its free list (a slot
;; index; == len when empty). Handle = slot index + 1, free slots are reused
;; most recently freed first, as wasmtime's `HandleTable` does, so handle
;; numbers equal wasmtime's. The scope stack holds 8-byte scopes
;; [borrow count][lend-stack mark]; the lend stack 8-byte entries
;; [table | 0x8000_0000 with a resource for an outer borrow][slot | handle].
;;
;; The numbers of this layout are written as the name of a constant in braces below: the constants of
;; `abi.rs`, which `build.rs` substitutes before compiling this text and which
;; the planner and the configuration module (`resources.rs`) use too.
(module
  (import "config" "memory" (memory 0))
  (import "config" "headers" (global $headers i32))
  (import "config" "heap" (global $heap i32))
  (import "config" "hooks" (table 0 funcref))

  (type $drop (func (param i32)))
  (type $conv (func (param i32) (result i32)))

  (global $bump (mut i32) (i32.const 0))
  ;; Set while the runtime itself drops a wrapper handle whose rep it has
  ;; taken over: the wrapper's destructor then must not run the inner one.
  (global $suppress (mut i32) (i32.const 0))

  (func $ty_table (param $ty i32) (result i32)
    (i32.load (i32.shl (local.get $ty) (i32.const {TYPE_ENTRY_SHIFT}))))
  (func $ty_info (param $ty i32) (result i32)
    (i32.load offset=4 (i32.shl (local.get $ty) (i32.const {TYPE_ENTRY_SHIFT}))))
  (func $table_hdr (param $table i32) (result i32)
    (i32.add (global.get $headers)
      (i32.add (i32.const {TABLE_HEADERS}) (i32.shl (local.get $table) (i32.const {VECTOR_HEADER_SHIFT})))))
  (func $is (param $info i32) (param $bit i32) (result i32)
    (i32.ne (i32.and (local.get $info) (local.get $bit)) (i32.const 0)))
  (func $resource (param $info i32) (result i32)
    (i32.and (local.get $info) (i32.const {RESOURCE_MASK})))

  ;; Bump allocation of `size` bytes (16-aligned), growing the memory.
  (func $alloc (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (if (i32.eqz (global.get $bump)) (then (global.set $bump (global.get $heap))))
    (local.set $p (global.get $bump))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 15))
                             (i32.const -16)))
    (if (i32.lt_u (local.get $end) (local.get $p)) (then unreachable))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                               (i32.const 0xffff))
                                      (i32.const 16))))
          (then unreachable))))
    (global.set $bump (local.get $end))
    (local.get $p))

  ;; Makes room for one more element of `size` bytes in the vector at `hdr`;
  ;; returns the address of element `len` (not yet counted).
  (func $reserve (param $hdr i32) (param $size i32) (result i32)
    (local $len i32) (local $cap i32) (local $new i32)
    (local.set $len (i32.load (local.get $hdr)))
    (local.set $cap (i32.load offset=4 (local.get $hdr)))
    (if (i32.eq (local.get $len) (local.get $cap))
      (then
        (local.set $cap (select (i32.shl (local.get $cap) (i32.const 1)) (i32.const 8)
                                (local.get $cap)))
        (local.set $new (call $alloc (i32.mul (local.get $cap) (local.get $size))))
        (memory.copy (local.get $new) (i32.load offset=8 (local.get $hdr))
                     (i32.mul (local.get $len) (local.get $size)))
        (i32.store offset=4 (local.get $hdr) (local.get $cap))
        (i32.store offset=8 (local.get $hdr) (local.get $new))))
    (i32.add (i32.load offset=8 (local.get $hdr)) (i32.mul (local.get $len) (local.get $size))))

  ;; Handle tables (wasmtime `HandleTable`).

  ;; Inserts a slot into `table`; returns its handle.
  (func $insert (param $table i32) (param $kind i32) (param $ty i32) (param $rep i32)
                (param $extra i32) (result i32)
    (local $hdr i32) (local $idx i32) (local $slot i32)
    (local.set $hdr (call $table_hdr (local.get $table)))
    (local.set $idx (i32.load offset=12 (local.get $hdr)))
    ;; "cannot allocate another handle: index overflow"
    (if (i32.ge_u (i32.add (local.get $idx) (i32.const 1)) (i32.const 0x10000000))
      (then unreachable))
    (if (i32.eq (local.get $idx) (i32.load (local.get $hdr)))
      (then
        (local.set $slot (call $reserve (local.get $hdr) (i32.const 16)))
        (i32.store (local.get $slot) (i32.const 0))
        (i32.store offset=8 (local.get $slot) (i32.add (local.get $idx) (i32.const 1)))
        (i32.store (local.get $hdr) (i32.add (local.get $idx) (i32.const 1)))))
    (local.set $slot (i32.add (i32.load offset=8 (local.get $hdr))
                              (i32.shl (local.get $idx) (i32.const {SLOT_SHIFT}))))
    (i32.store offset=12 (local.get $hdr) (i32.load offset=8 (local.get $slot)))
    (i32.store (local.get $slot) (local.get $kind))
    (i32.store offset=4 (local.get $slot) (local.get $ty))
    (i32.store offset=8 (local.get $slot) (local.get $rep))
    (i32.store offset=12 (local.get $slot) (local.get $extra))
    (i32.add (local.get $idx) (i32.const 1)))

  ;; The slot of `handle` in `table`, of resource type `ty`. Traps as
  ;; wasmtime: "unknown handle index" (0, past the end, free) and "handle
  ;; index used with the wrong type".
  (func $slot (param $table i32) (param $ty i32) (param $handle i32) (result i32)
    (local $hdr i32) (local $slot i32)
    (local.set $hdr (call $table_hdr (local.get $table)))
    (if (i32.or (i32.eqz (local.get $handle))
                (i32.gt_u (local.get $handle) (i32.load (local.get $hdr))))
      (then unreachable))
    (local.set $slot (i32.add (i32.load offset=8 (local.get $hdr))
                              (i32.shl (i32.sub (local.get $handle) (i32.const 1)) (i32.const {SLOT_SHIFT}))))
    (if (i32.eqz (i32.load (local.get $slot))) (then unreachable))
    (if (i32.ne (i32.load offset=4 (local.get $slot)) (local.get $ty)) (then unreachable))
    (local.get $slot))

  ;; Frees `slot` (of `handle` in `table`): it becomes the free-list head.
  (func $free (param $table i32) (param $handle i32) (param $slot i32)
    (local $hdr i32)
    (local.set $hdr (call $table_hdr (local.get $table)))
    (i32.store (local.get $slot) (i32.const 0))
    (i32.store offset=8 (local.get $slot) (i32.load offset=12 (local.get $hdr)))
    (i32.store offset=12 (local.get $hdr) (i32.sub (local.get $handle) (i32.const 1))))

  ;; Removes an own handle and returns its rep (`resource_lift_own`): traps if
  ;; it is lent ("cannot remove owned resource while borrowed") or a borrow
  ;; ("cannot lift own resource from a borrow").
  (func $take_own (param $ty i32) (param $handle i32) (result i32)
    (local $table i32) (local $slot i32)
    (local.set $table (call $ty_table (local.get $ty)))
    (local.set $slot (call $slot (local.get $table) (local.get $ty) (local.get $handle)))
    (if (i32.eq (i32.load (local.get $slot)) (i32.const {SLOT_BORROW})) (then unreachable))
    (if (i32.load offset=12 (local.get $slot)) (then unreachable))
    (i32.load offset=8 (local.get $slot))
    (call $free (local.get $table) (local.get $handle) (local.get $slot)))

  ;; Scopes (wasmtime `CallContext`, sync calls only).

  (func $scopes (result i32) (global.get $headers))
  (func $lends (result i32) (i32.add (global.get $headers) (i32.const {LENDS_HEADER})))
  (func $current_scope (result i32)
    (local $n i32)
    (local.set $n (i32.load (call $scopes)))
    ;; No scope: only FACT's enter-sync-call pushes one, before any borrow.
    (if (i32.eqz (local.get $n)) (then unreachable))
    (i32.sub (local.get $n) (i32.const 1)))
  ;; A scope on the stack is its index; a parked scope (an async task's,
  ;; see park-scope) is the address of its record with the top bit set.
  (func $scope_addr (param $scope i32) (result i32)
    (if (i32.lt_s (local.get $scope) (i32.const 0))
      (then (return (i32.and (local.get $scope) (i32.const 0x7fffffff)))))
    (i32.add (i32.load offset=8 (call $scopes)) (i32.shl (local.get $scope) (i32.const {SCOPE_SHIFT}))))

  ;; A borrow slot is going away: its scope has one borrow less.
  (func $borrow_ended (param $slot i32)
    (local $s i32)
    (local.set $s (call $scope_addr (i32.load offset=12 (local.get $slot))))
    (i32.store (local.get $s) (i32.sub (i32.load (local.get $s)) (i32.const 1))))

  (func $push_lend (param $a i32) (param $b i32)
    (local $e i32)
    (local.set $e (call $reserve (call $lends) (i32.const 8)))
    (i32.store (local.get $e) (local.get $a))
    (i32.store offset=4 (local.get $e) (local.get $b))
    (i32.store (call $lends) (i32.add (i32.load (call $lends)) (i32.const 1))))

  ;; `enter-sync-call(caller, callee-async, callee)`: pushes a scope.
  (func (export "enter-sync-call") (param i32 i32 i32)
    (local $s i32)
    (local.set $s (call $reserve (call $scopes) (i32.const 8)))
    (i32.store (local.get $s) (i32.const 0))
    (i32.store offset=4 (local.get $s) (i32.load (call $lends)))
    (i32.store (call $scopes) (i32.add (i32.load (call $scopes)) (i32.const 1))))

  ;; `exit-sync-call()`: traps if borrows remain ("borrow handles still remain
  ;; at the end of the call"), then ends the scope's lends, drops the wrapper's
  ;; borrow handles the scope received, and pops it.
  (func (export "exit-sync-call")
    (local $scope i32) (local $mark i32) (local $e i32)
    (local.set $scope (call $scope_addr (call $current_scope)))
    (if (i32.load (local.get $scope)) (then unreachable))
    (local.set $mark (i32.load offset=4 (local.get $scope)))
    (block $done
      (loop $next
        (br_if $done (i32.le_u (i32.load (call $lends)) (local.get $mark)))
        (local.set $e (call $pop_lend))
        (call $end_lend (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
        (br $next)))
    (i32.store (call $scopes) (i32.sub (i32.load (call $scopes)) (i32.const 1))))

  ;; Removes the top entry of the lend stack; returns its address (valid
  ;; until the next push).
  (func $pop_lend (result i32)
    (i32.store (call $lends) (i32.sub (i32.load (call $lends)) (i32.const 1)))
    (i32.add (i32.load offset=8 (call $lends))
             (i32.shl (i32.load (call $lends)) (i32.const {SCOPE_SHIFT}))))

  ;; A lend `(a, b)` ends: the lender's own handle is lent once less, or the
  ;; wrapper's borrow handle of an outer resource is dropped.
  (func $end_lend (param $a i32) (param $b i32)
    (local $slot i32)
    (if (i32.lt_s (local.get $a) (i32.const 0))
      (then
        (call_indirect (type $drop) (local.get $b)
          (i32.shl (i32.and (local.get $a) (i32.const {OUTER_LEND_RESOURCE})) (i32.const {HOOKS_SHIFT}))))
      (else
        (local.set $slot (i32.add (i32.load offset=8 (call $table_hdr (local.get $a)))
                                  (i32.shl (i32.sub (local.get $b) (i32.const 1)) (i32.const {SLOT_SHIFT}))))
        (i32.store offset=12 (local.get $slot)
          (i32.sub (i32.load offset=12 (local.get $slot)) (i32.const 1))))))

  ;; Parked scopes: the scope of an async task that waits. wasmtime counts
  ;; borrows per task and checks them when the task completes
  ;; (`task_complete`, `validate_scope_exit`); here the task's scope opens on
  ;; the stack for its first activation and, if the task has not returned
  ;; by then, moves off the stack into a record of 16 bytes [borrow count]
  ;; [lends: list of 16-byte nodes [a][b][next]][next free]. Records and
  ;; nodes are reused through one free list.
  (global $free_nodes (mut i32) (i32.const 0))
  (func $node (result i32)
    (local $n i32)
    (local.set $n (global.get $free_nodes))
    (if (local.get $n)
      (then (global.set $free_nodes (i32.load offset=8 (local.get $n))) (return (local.get $n))))
    (call $alloc (i32.const 16)))
  (func $free_node (param $n i32)
    (i32.store offset=8 (local.get $n) (global.get $free_nodes))
    (global.set $free_nodes (local.get $n)))

  ;; `park-scope() -> scope`: the top scope leaves the stack with its borrow
  ;; count and its lends; the borrow handles counted in it now name the
  ;; returned scope (every handle table is scanned: the headers end at
  ;; `heap`).
  (func (export "park-scope") (result i32)
    (local $s i32) (local $top i32) (local $rec i32) (local $e i32) (local $n i32)
    (local $hdr i32) (local $slot i32) (local $end i32) (local $id i32)
    (local.set $s (call $current_scope))
    (local.set $top (call $scope_addr (local.get $s)))
    (local.set $rec (call $node))
    (local.set $id (i32.or (local.get $rec) (i32.const 0x80000000)))
    (i32.store (local.get $rec) (i32.load (local.get $top)))
    (i32.store offset=4 (local.get $rec) (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.le_u (i32.load (call $lends)) (i32.load offset=4 (local.get $top))))
        (local.set $e (call $pop_lend))
        (local.set $n (call $node))
        (i32.store (local.get $n) (i32.load (local.get $e)))
        (i32.store offset=4 (local.get $n) (i32.load offset=4 (local.get $e)))
        (i32.store offset=8 (local.get $n) (i32.load offset=4 (local.get $rec)))
        (i32.store offset=4 (local.get $rec) (local.get $n))
        (br $next)))
    (if (i32.load (local.get $rec))
      (then
        (local.set $hdr (i32.add (global.get $headers) (i32.const {TABLE_HEADERS})))
        (block $tables
          (loop $table
            (br_if $tables (i32.ge_u (local.get $hdr) (global.get $heap)))
            (local.set $slot (i32.load offset=8 (local.get $hdr)))
            (local.set $end (i32.add (local.get $slot)
                                     (i32.shl (i32.load (local.get $hdr)) (i32.const {SLOT_SHIFT}))))
            (block $slots
              (loop $each
                (br_if $slots (i32.ge_u (local.get $slot) (local.get $end)))
                (if (i32.and (i32.eq (i32.load (local.get $slot)) (i32.const {SLOT_BORROW}))
                             (i32.eq (i32.load offset=12 (local.get $slot)) (local.get $s)))
                  (then (i32.store offset=12 (local.get $slot) (local.get $id))))
                (local.set $slot (i32.add (local.get $slot) (i32.const 16)))
                (br $each)))
            (local.set $hdr (i32.add (local.get $hdr) (i32.const 16)))
            (br $table)))))
    (i32.store (call $scopes) (i32.sub (i32.load (call $scopes)) (i32.const 1)))
    (local.get $id))

  ;; `end-scope(scope)`: the task of a parked scope completed. Traps if
  ;; borrows remain ("borrow handles still remain at the end of the call"),
  ;; then ends its lends and frees the record.
  (func (export "end-scope") (param $id i32)
    (local $rec i32) (local $n i32) (local $next i32)
    (local.set $rec (i32.and (local.get $id) (i32.const 0x7fffffff)))
    (if (i32.load (local.get $rec)) (then unreachable))
    (local.set $n (i32.load offset=4 (local.get $rec)))
    (block $done
      (loop $each
        (br_if $done (i32.eqz (local.get $n)))
        (call $end_lend (i32.load (local.get $n)) (i32.load offset=4 (local.get $n)))
        (local.set $next (i32.load offset=8 (local.get $n)))
        (call $free_node (local.get $n))
        (local.set $n (local.get $next))
        (br $each)))
    (call $free_node (local.get $rec)))

;; Handles of the async runtime (waitable sets, subtasks, stream and
  ;; future ends) are numbered in the same table as resources, as in
  ;; wasmtime (one `HandleTable` per instance): a slot of kind {SLOT_ASYNC}
  ;; and type {ASYNC_TY}, which no resource built-in accepts; the async
  ;; runtime keeps what the handle stands for.
  (func (export "handle-alloc") (param $table i32) (result i32)
    (call $insert (local.get $table) (i32.const {SLOT_ASYNC}) (i32.const {ASYNC_TY})
                  (i32.const 0) (i32.const 0)))
  (func (export "handle-free") (param $table i32) (param $handle i32)
    (call $free (local.get $table) (local.get $handle)
      (call $slot (local.get $table) (i32.const {ASYNC_TY}) (local.get $handle))))

  ;; The built-ins (`canon resource.new / rep / drop`), for the resource type
  ;; `ty` of the calling instance. The generated shims pass `ty` and check the
  ;; caller's `may_leave` flag where wasmtime does (new, drop).

  (func (export "new") (param $ty i32) (param $rep i32) (result i32)
    (call $insert (call $ty_table (local.get $ty)) (i32.const {SLOT_OWN}) (local.get $ty)
                  (local.get $rep) (i32.const 0)))

  (func (export "rep") (param $ty i32) (param $handle i32) (result i32)
    (i32.load offset=8
      (call $slot (call $ty_table (local.get $ty)) (local.get $ty) (local.get $handle))))

  ;; Removes the handle; the destructor of an own runs (exactly once: the slot
  ;; is free before it runs). A lent own traps ("cannot remove owned resource
  ;; while borrowed").
  (func (export "drop") (param $ty i32) (param $handle i32)
    (local $table i32) (local $slot i32) (local $info i32) (local $rep i32)
    (local.set $table (call $ty_table (local.get $ty)))
    (local.set $slot (call $slot (local.get $table) (local.get $ty) (local.get $handle)))
    (if (i32.eq (i32.load (local.get $slot)) (i32.const {SLOT_BORROW}))
      (then
        (call $borrow_ended (local.get $slot))
        (call $free (local.get $table) (local.get $handle) (local.get $slot))
        (return)))
    (if (i32.load offset=12 (local.get $slot)) (then unreachable))
    (local.set $rep (i32.load offset=8 (local.get $slot)))
    (call $free (local.get $table) (local.get $handle) (local.get $slot))
    (local.set $info (call $ty_info (local.get $ty)))
    (if (i32.or (call $is (local.get $info) (i32.const {HOST}))
                (call $is (local.get $info) (i32.const {DTOR})))
      (then
        (call_indirect (type $drop) (local.get $rep)
          (i32.shl (call $resource (local.get $info)) (i32.const {HOOKS_SHIFT}))))))

  ;; FACT's `transfer-own(handle, src ty, dst ty)`: a move from the source
  ;; table to the destination table (wasmtime `resource_transfer_own`). The
  ;; outer side's handles are the wrapper's: a host resource's rep is the
  ;; wrapper's handle itself; an exported resource goes through the wrapper's
  ;; `resource.new`, or `resource.rep` and a `resource.drop` that does not run
  ;; the destructor.
  (func (export "transfer-own") (param $handle i32) (param $src i32) (param $dst i32)
                                (result i32)
    (local $info i32) (local $rep i32) (local $r i32)
    (local.set $info (call $ty_info (local.get $src)))
    (if (call $is (local.get $info) (i32.const {OUTER}))
      (then
        (if (call $is (local.get $info) (i32.const {HOST}))
          (then (local.set $rep (local.get $handle)))
          (else
            (local.set $r (i32.shl (call $resource (local.get $info)) (i32.const {HOOKS_SHIFT})))
            (local.set $rep (call_indirect (type $conv) (local.get $handle)
                              (i32.add (local.get $r) (i32.const {HOOK_OUTER_REP}))))
            (global.set $suppress (i32.const 1))
            (call_indirect (type $drop) (local.get $handle) (i32.add (local.get $r) (i32.const {HOOK_OUTER_DROP})))
            (global.set $suppress (i32.const 0)))))
      (else (local.set $rep (call $take_own (local.get $src) (local.get $handle)))))
    (local.set $info (call $ty_info (local.get $dst)))
    (if (call $is (local.get $info) (i32.const {OUTER}))
      (then
        (if (call $is (local.get $info) (i32.const {HOST}))
          (then (return (local.get $rep))))
        (return (call_indirect (type $conv) (local.get $rep)
                  (i32.add (i32.shl (call $resource (local.get $info)) (i32.const {HOOKS_SHIFT}))
                           (i32.const {HOOK_OUTER_NEW}))))))
    (call $insert (call $ty_table (local.get $dst)) (i32.const {SLOT_OWN}) (local.get $dst)
                  (local.get $rep) (i32.const 0)))

  ;; FACT's `transfer-borrow(handle, src ty, dst ty)` (wasmtime
  ;; `resource_transfer_borrow`): an own source is lent for the current scope;
  ;; the destination gets the rep if its instance defines the resource, else a
  ;; borrow handle counted in the current scope. A borrow of a host resource
  ;; from the outer side is the wrapper's borrow handle: dropped when the scope
  ;; ends.
  (func (export "transfer-borrow") (param $handle i32) (param $src i32) (param $dst i32)
                                   (result i32)
    (local $info i32) (local $rep i32) (local $table i32) (local $slot i32) (local $s i32)
    (local.set $info (call $ty_info (local.get $src)))
    (if (call $is (local.get $info) (i32.const {OUTER}))
      (then
        (local.set $rep (local.get $handle))
        (if (call $is (local.get $info) (i32.const {HOST}))
          (then
            (drop (call $current_scope))
            (call $push_lend (i32.or (call $resource (local.get $info)) (i32.const {OUTER_LEND}))
                             (local.get $handle)))))
      (else
        (local.set $table (call $ty_table (local.get $src)))
        (local.set $slot (call $slot (local.get $table) (local.get $src) (local.get $handle)))
        (local.set $rep (i32.load offset=8 (local.get $slot)))
        (if (i32.eq (i32.load (local.get $slot)) (i32.const {SLOT_OWN}))
          (then
            (drop (call $current_scope))
            ;; "cannot lend resource: too many active lends"
            (if (i32.eq (i32.load offset=12 (local.get $slot)) (i32.const -1)) (then unreachable))
            (i32.store offset=12 (local.get $slot)
              (i32.add (i32.load offset=12 (local.get $slot)) (i32.const 1)))
            (call $push_lend (local.get $table) (local.get $handle))))))
    (local.set $info (call $ty_info (local.get $dst)))
    (if (i32.and (local.get $info) (i32.const {DEFINER_OR_OUTER}))
      (then (return (local.get $rep))))
    (local.set $s (call $current_scope))
    (local.set $slot (call $scope_addr (local.get $s)))
    (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
    (call $insert (call $ty_table (local.get $dst)) (i32.const {SLOT_BORROW}) (local.get $dst)
                  (local.get $rep) (local.get $s)))

  ;; The wrapper's destructor of an exported resource `r` (host drops its own
  ;; handle): runs the inner destructor, unless the runtime is taking the rep
  ;; over (see transfer-own).
  (func (export "outer-dtor") (param $r i32) (param $dtor i32) (param $rep i32)
    (if (global.get $suppress) (then (return)))
    (if (local.get $dtor)
      (then (call_indirect (type $drop) (local.get $rep) (i32.shl (local.get $r) (i32.const {HOOKS_SHIFT}))))))
)
