//! Pointer spilling for the garbage collector.
//!
//! MicroPython's collector is conservative: it scans memory for anything
//! that looks like a pointer into its heap. On wasm32, C locals live in wasm
//! locals, which no code can read, so a pointer held only there (say, a list
//! being built while a key function allocates) is invisible and its object
//! may be freed while still in use.
//!
//! A collection can only start inside a call that may reach `gc_collect`
//! (a "collecting call"). This pass makes sure that, during each collecting
//! call, every i32 the caller will still use is also in linear memory, in a
//! frame this pass gives the function on the shadow stack (below
//! `__stack_pointer`, in the range `gc_collect` scans):
//!
//! - An i32 local that is live after the call (on the normal or the
//!   exceptional path) is in its slot. Each such local is stored in one of
//!   two ways, whichever the code's loop nesting says runs less often: after
//!   every write (a pointer set up before a loop that calls on every turn),
//!   or just before the calls it is live across, unless the slot already
//!   holds its current value on every path there (a loop that changes it on
//!   every turn but calls only on its slow paths, like the bytecode
//!   interpreter's).
//! - A value waiting on the operand stack while a collecting call runs
//!   (`f(g(), h())` keeps g's result there during h) is copied into a slot
//!   of its own right after the instruction that produced it.
//! - Only values that may be pointers count (see `values`): a loop counter
//!   or a comparison result needs no slot.
//!
//! Arguments are locals like the others: stored only while live. A
//! function may keep only a pointer into an argument's object live across
//! an allocation (`&self->mpz`, in `"%d" % 1418774543.0`), which the
//! collector would not recognise in its heap, where only pointers to the
//! start of a block count; the port's scan of the shadow stack
//! (ports/wasm/gccollect.c) therefore takes a pointer anywhere into a block
//! as a reference to it, as a native frame holding the argument would keep
//! it.
//!
//! Functions without such values get no frame: leaf functions, and all
//! functions whose calls cannot collect. Calls to imports (WASI, host
//! functions) never collect: they cannot run MicroPython code.
//!
//! A function with a path that returns without a collecting call (a map
//! lookup that finds its key) makes its frame lazily, on the first path to
//! need it, so its fast path pays no frame set-up, stores or pop
//! (see `LazyFrame` for when that is sound); others make it on entry.
//!
//! A function that already has a frame of clang's in the usual form gets
//! its slots on top of that frame instead (see `ClangFrame`): one set-up
//! and pop for both.
//!
//! Frames are popped on every `return` and at the end of the body. A longjmp
//! (wasm exception) skips those pops; the catching function's own code then
//! resets `__stack_pointer` to its frame (clang emits that in every catch),
//! which lies below the frame this pass gave it, so the stack stays sound.

mod values;

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::{bail, Result};
use walrus::ir::{
    BinaryOp, Binop, Block, BrIf, BrTable, Call, CallIndirect, Const, GlobalGet, GlobalSet, IfElse, Instr, InstrLocId,
    InstrSeqId, InstrSeqType, LegacyCatch, Load, LoadKind, LocalGet, LocalSet, LocalTee, Loop, MemArg, Select, Store,
    StoreKind, Throw, Try, Unop, Value,
};
use walrus::{
    FunctionId, FunctionKind, GlobalId, GlobalKind, LocalFunction, LocalId, MemoryId, Module, TypeId, ValType,
};

use self::values::{NotHeap, Origin};

/// What the pass did, for the build log and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpillStats {
    /// Functions that got a frame.
    pub functions: usize,
    pub slots: usize,
    /// Stores the pass added (each one a few instructions in the code).
    pub stores: usize,
}

/// The collector's entry points (py/gc.c, ports/wasm/gccollect.c). Any of
/// them may be inlined into its callers by the Binaryen run before this
/// pass, but not all: `gc_collect_root` has a loop and several callers,
/// which Binaryen does not inline.
const COLLECTOR: &[&str] = &["gc_collect", "gc_collect_start", "gc_collect_root", "gc_collect_end"];

pub fn spill_pointers(module: &mut Module) -> Result<SpillStats> {
    let stack_pointer = find_stack_pointer(module)?;
    let Some(memory) = module.memories.iter().next().map(|memory| memory.id()) else {
        bail!("the module has no memory to spill pointers into");
    };
    let signatures = Signatures::of(module);
    let collecting = collecting_functions(module);
    let not_heap = NotHeap { floor: heap_floor(module, stack_pointer), stack_pointer };
    let Module { funcs, locals, .. } = module;
    let mut stats = SpillStats::default();
    for function in funcs.iter_mut() {
        let FunctionKind::Local(func) = &mut function.kind else { continue };
        let is_collecting_call = |instr: &Instr| match instr {
            Instr::Call(Call { func }) => collecting.contains(func),
            Instr::CallIndirect(_) => true,
            _ => false,
        };
        let StackFacts { waiting, pointer_locals } =
            follow_stack(func, &signatures, locals, &is_collecting_call, &not_heap)?;
        // Every i32 local that may hold a pointer, by index; the analyses
        // work on these indices.
        let mut tracked: Vec<LocalId> =
            func.args.iter().copied().filter(|arg| locals.get(*arg).ty() == ValType::I32).collect();
        let params = tracked.len();
        for seq in sequences_of(func) {
            for (instr, _) in &func.block(seq).instrs {
                if let Instr::LocalSet(LocalSet { local }) | Instr::LocalTee(LocalTee { local }) = instr {
                    if locals.get(*local).ty() == ValType::I32
                        && pointer_locals.contains(local)
                        && !tracked.contains(local)
                    {
                        tracked.push(*local);
                    }
                }
            }
        }
        let index_of: HashMap<LocalId, usize> = tracked.iter().enumerate().map(|(i, local)| (*local, i)).collect();

        // Arguments are locals like the others, but their slots do not hold
        // them on entry.
        let stale_at_entry: Vec<usize> = (0..params).collect();
        let cfg = Cfg::build(func, &index_of, &is_collecting_call)?;
        let live_out = cfg.liveness(tracked.len());
        let before_calls_only = cfg.stores_before_calls(&live_out, &BTreeSet::new(), tracked.len(), &stale_at_entry);
        let at_writes = cfg.stored_at_writes(&before_calls_only, tracked.len(), &stale_at_entry);
        let stores_at = cfg.stores_before_calls(&live_out, &at_writes, tracked.len(), &stale_at_entry);
        if stores_at.values().all(|stored| stored.is_empty()) && at_writes.is_empty() && waiting.is_empty() {
            continue;
        }

        // Slots: the locals that are ever stored, then the waiting values.
        let mut stored_locals: BTreeSet<usize> = stores_at.values().flatten().copied().collect();
        stored_locals.extend(at_writes.iter().copied());
        let mut slot_of_local = HashMap::new();
        for local in &stored_locals {
            slot_of_local.insert(tracked[*local], slot_of_local.len());
        }
        let mut slot_of_value = HashMap::new();
        for site in &waiting {
            slot_of_value.insert(*site, slot_of_local.len() + slot_of_value.len());
        }
        let slot_count = slot_of_local.len() + slot_of_value.len();
        // Keep the shadow stack 16-byte aligned, as clang's frames expect.
        let frame_size = (slot_count as i32 * 4 + 15) & !15;
        let clang_frame = ClangFrame::find(func, stack_pointer);
        let spill = Spill {
            frame: clang_frame.as_ref().map_or_else(|| locals.add(ValType::I32), |frame| frame.base),
            slot_base: clang_frame.as_ref().map_or(0, |frame| frame.size),
            scratch: locals.add(ValType::I32),
            frame_size,
            stack_pointer,
            memory,
        };
        let lazy = match clang_frame {
            Some(_) => None,
            None => LazyFrame::plan(func, &cfg, &FrameNeeds { waiting: &waiting }, stack_pointer),
        };
        // What a frame holds from its set-up on: the locals kept at their
        // writes (a lazily made frame comes after some of those writes; the
        // others still hold their initial zero).
        let entry_stack_pointer = lazy.as_ref().filter(|lazy| lazy.has_clang_frame).map(|_| locals.add(ValType::I32));
        let entry_writes = if lazy.is_some() { tracked.len() } else { params };
        let setup_stores: Vec<(LocalId, usize)> = (0..entry_writes)
            .filter(|local| at_writes.contains(local))
            .map(|local| (tracked[local], slot_of_local[&tracked[local]]))
            .collect();
        let mut stores = 0;
        for seq in sequences_of(func) {
            let instrs = std::mem::take(&mut func.block_mut(seq).instrs);
            let mut out = Vec::with_capacity(instrs.len());
            if let Some(slot) = slot_of_value.get(&Site::Start(seq)) {
                spill.store_top(*slot, &mut out);
                stores += 1;
            }
            for (position, (mut instr, location)) in instrs.into_iter().enumerate() {
                let node = cfg.nodes[&(seq, position)];
                if let Some(frame) = clang_frame.as_ref().filter(|frame| frame.sizes.contains(&(seq, position))) {
                    instr = Instr::Const(Const { value: Value::I32(frame.size + frame_size) });
                }
                let set_up_here = lazy.as_ref().is_some_and(|lazy| lazy.set_up_at.contains(&node));
                let collects = matches!(cfg.effects[node], Effect::Collect(..));
                if set_up_here && collects {
                    out.push(spill.set_up_if_missing(func, &setup_stores));
                    stores += setup_stores.len();
                }
                if let Some(stored) = stores_at.get(&(seq, position)) {
                    for local in stored {
                        spill.store_local(tracked[*local], slot_of_local[&tracked[*local]], &mut out);
                        stores += 1;
                    }
                }
                let returns = matches!(
                    instr,
                    Instr::Return(_) | Instr::ReturnCall(_) | Instr::ReturnCallIndirect(_) | Instr::ReturnCallRef(_)
                );
                if returns && clang_frame.is_none() {
                    // A tail call would run the callee in this frame's place;
                    // pop the frame first like a return.
                    match &lazy {
                        Some(lazy) => out.push(spill.lazy_pop(func, lazy.set_before[node], entry_stack_pointer)),
                        None => out.extend(spill.epilogue()),
                    }
                }
                let written = match &instr {
                    Instr::LocalSet(LocalSet { local }) | Instr::LocalTee(LocalTee { local }) => Some(*local),
                    _ => None,
                };
                out.push((instr, location));
                let prologue_ends_here = clang_frame
                    .as_ref()
                    .is_some_and(|frame| seq == func.entry_block() && position + 1 == frame.prologue_len);
                if prologue_ends_here {
                    for (local, slot) in &setup_stores {
                        spill.store_local(*local, *slot, &mut out);
                        stores += 1;
                    }
                }
                if set_up_here && !collects {
                    out.push(spill.set_up_if_missing(func, &setup_stores));
                    stores += setup_stores.len();
                }
                if let Some(local) = written.filter(|local| index_of.get(local).is_some_and(|i| at_writes.contains(i)))
                {
                    // A tee'd value stays on the stack under the store's
                    // own two operands.
                    match &lazy {
                        Some(lazy) if !lazy.maybe_set_before[node] => {}
                        Some(lazy) if !lazy.set_before[node] => {
                            out.push(spill.store_if_made(func, local, slot_of_local[&local]));
                            stores += 1;
                        }
                        _ => {
                            spill.store_local(local, slot_of_local[&local], &mut out);
                            stores += 1;
                        }
                    }
                }
                if let Some(slot) = slot_of_value.get(&Site::After(seq, position)) {
                    spill.store_top(*slot, &mut out);
                    stores += 1;
                }
            }
            func.block_mut(seq).instrs = out;
        }
        let entry = func.entry_block();
        let body = std::mem::take(&mut func.block_mut(entry).instrs);
        let mut instrs = Vec::new();
        if let Some(saved) = entry_stack_pointer {
            instrs.push(at(Instr::GlobalGet(GlobalGet { global: stack_pointer })));
            instrs.push(at(Instr::LocalSet(LocalSet { local: saved })));
        }
        if lazy.is_none() && clang_frame.is_none() {
            instrs.extend(spill.prologue());
            for (local, slot) in &setup_stores {
                spill.store_local(*local, *slot, &mut instrs);
                stores += 1;
            }
        }
        instrs.extend(body);
        match (&lazy, &clang_frame) {
            (Some(lazy), _) => instrs.push(spill.lazy_pop(func, lazy.set_before[EXIT], entry_stack_pointer)),
            (None, None) => instrs.extend(spill.epilogue()),
            // clang's own returns pop both.
            (None, Some(_)) => {}
        }
        func.block_mut(entry).instrs = instrs;
        stats.functions += 1;
        stats.slots += slot_count;
        stats.stores += stores;
    }
    Ok(stats)
}

/// The frame clang gave a function, in the one form this pass extends:
/// `fp = SP - size; SP = fp` first thing on entry, and every other write of
/// the stack pointer either `SP = f + size` (a return) or `SP = f` (a catch
/// resetting the stack to the frame), where `f` is `fp` or a copy of it.
/// The pass's slots then go on top of clang's own, at `fp + size`, and the
/// prologue and returns move the stack pointer by both: one frame to set
/// up and pop instead of two. Half of the framed calls of perf_bench are to
/// such functions.
struct ClangFrame {
    base: LocalId,
    size: i32,
    /// The entry block's instructions up to the prologue's end.
    prologue_len: usize,
    /// Each `size` constant to grow: the prologue's and the returns'.
    sizes: HashSet<(InstrSeqId, usize)>,
}

impl ClangFrame {
    fn find(func: &LocalFunction, stack_pointer: GlobalId) -> Option<ClangFrame> {
        let entry = &func.block(func.entry_block()).instrs;
        let instr = |index: usize| entry.get(index).map(|(instr, _)| instr);
        let (Some(Instr::GlobalGet(GlobalGet { global })), Some(Instr::Const(Const { value: Value::I32(size) }))) =
            (instr(0), instr(1))
        else {
            return None;
        };
        let (Some(Instr::Binop(Binop { op: BinaryOp::I32Sub })), Some(Instr::LocalTee(LocalTee { local: base }))) =
            (instr(2), instr(3))
        else {
            return None;
        };
        if *global != stack_pointer {
            return None;
        }
        // The frame pointer, and the locals that only ever copy it.
        let mut copies: HashSet<LocalId> = HashSet::from([*base]);
        let prologue_len = match (instr(4), instr(5), instr(6)) {
            (Some(Instr::GlobalSet(GlobalSet { global })), ..) if *global == stack_pointer => 5,
            (
                Some(Instr::LocalSet(LocalSet { local: copy })),
                Some(Instr::LocalGet(LocalGet { local: read })),
                Some(Instr::GlobalSet(GlobalSet { global })),
            ) if read == base && *global == stack_pointer => {
                copies.insert(*copy);
                7
            }
            _ => return None,
        };
        let entry_id = func.entry_block();
        let sequences = sequences_of(func);
        loop {
            let before = copies.len();
            for seq in &sequences {
                let instrs = &func.block(*seq).instrs;
                for pair in instrs.windows(2) {
                    if let (Instr::LocalGet(LocalGet { local: from }), Instr::LocalSet(LocalSet { local: to }))
                    | (Instr::LocalGet(LocalGet { local: from }), Instr::LocalTee(LocalTee { local: to })) =
                        (&pair[0].0, &pair[1].0)
                    {
                        if copies.contains(from) {
                            copies.insert(*to);
                        }
                    }
                }
            }
            if copies.len() == before {
                break;
            }
        }
        let mut sizes = HashSet::from([(entry_id, 1)]);
        for seq in &sequences {
            let instrs = &func.block(*seq).instrs;
            for (index, (instr, _)) in instrs.iter().enumerate() {
                let in_prologue = *seq == entry_id && index < prologue_len;
                let previous = |back: usize| index.checked_sub(back).map(|at| &instrs[at].0);
                match instr {
                    Instr::GlobalGet(GlobalGet { global }) if *global == stack_pointer && !in_prologue => return None,
                    Instr::GlobalSet(GlobalSet { global }) if *global == stack_pointer && !in_prologue => {
                        let copy_at = |back: usize| matches!(previous(back), Some(Instr::LocalGet(LocalGet { local })) if copies.contains(local));
                        let restores = copy_at(3)
                            && matches!(previous(2), Some(Instr::Const(Const { value: Value::I32(n) })) if n == size)
                            && matches!(previous(1), Some(Instr::Binop(Binop { op: BinaryOp::I32Add })));
                        if restores {
                            sizes.insert((*seq, index - 2));
                        } else if !copy_at(1) {
                            return None;
                        }
                    }
                    // Copies are written only by copying.
                    Instr::LocalSet(LocalSet { local }) | Instr::LocalTee(LocalTee { local })
                        if copies.contains(local) && !in_prologue =>
                    {
                        let copied = matches!(previous(1), Some(Instr::LocalGet(LocalGet { local: from })) if copies.contains(from));
                        if !copied {
                            return None;
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(ClangFrame { base: *base, size: *size, prologue_len, sizes })
    }
}

/// What must be in a function's frame, and so where it must exist.
struct FrameNeeds<'a> {
    waiting: &'a BTreeSet<Site>,
}

/// A frame made only on the paths that need one, on their first store or
/// collecting call, instead of on entry: a function's fast path that never
/// calls the collector (a map lookup that finds its key, a list index) then
/// pays no frame set-up, stores or pop.
struct LazyFrame {
    /// The nodes before whose call (or after whose waiting value) the frame
    /// is made if it is not there yet. A local kept at its writes is not
    /// stored while there is no frame: the set-up stores its value.
    set_up_at: HashSet<usize>,
    /// Whether the frame certainly exists on entry to each node.
    set_before: Vec<bool>,
    /// Whether it may exist there.
    maybe_set_before: Vec<bool>,
    /// clang's own epilogue restores the stack pointer read on entry, so
    /// the frame is popped by restoring that value too.
    has_clang_frame: bool,
}

impl LazyFrame {
    /// Most set-up checks one function may run per call, estimated as in
    /// `stored_at_writes` (8 per loop level): past it, a frame made on
    /// entry costs less.
    const MAX_CHECK_WEIGHT: u64 = 8;

    /// A lazy frame for `func`, where that is sound and cheaper:
    /// - no `try`: a catch resets the stack pointer to clang's frame, which
    ///   may lie above a frame made after clang's own prologue;
    /// - if clang gave the function a shadow-stack frame, the function reads
    ///   the stack pointer only once (its prologue; a second read would be
    ///   a `stacksave` whose restore could pop a frame made in between):
    ///   every return then restores the stack pointer read on entry;
    /// - some path returns without needing the frame, and the set-up checks
    ///   are not in hot loops.
    fn plan(func: &LocalFunction, cfg: &Cfg, needs: &FrameNeeds, stack_pointer: GlobalId) -> Option<LazyFrame> {
        if needs.waiting.iter().any(|site| matches!(site, Site::Start(_))) {
            return None;
        }
        let mut stack_pointer_reads = 0;
        let mut stack_pointer_writes = 0;
        for seq in sequences_of(func) {
            for (instr, _) in &func.block(seq).instrs {
                match instr {
                    Instr::Try(_) | Instr::TryTable(_) => return None,
                    Instr::GlobalGet(GlobalGet { global }) if *global == stack_pointer => stack_pointer_reads += 1,
                    Instr::GlobalSet(GlobalSet { global }) if *global == stack_pointer => stack_pointer_writes += 1,
                    _ => {}
                }
            }
        }
        let has_clang_frame = stack_pointer_writes > 0;
        if has_clang_frame && stack_pointer_reads != 1 {
            return None;
        }
        let mut needs_frame: Vec<bool> =
            cfg.effects.iter().map(|effect| matches!(effect, Effect::Collect(..))).collect();
        for site in needs.waiting {
            if let Site::After(seq, position) = site {
                needs_frame[cfg.nodes[&(*seq, *position)]] = true;
            }
        }
        let set_before = cfg.frame_set_before(&needs_frame);
        let maybe_set_before = cfg.frame_maybe_set_before(&needs_frame);
        let returns_without_frame = !set_before[EXIT]
            || cfg.nodes.iter().any(|((seq, position), node)| {
                !set_before[*node]
                    && matches!(
                        func.block(*seq).instrs[*position].0,
                        Instr::Return(_) | Instr::ReturnCall(_) | Instr::ReturnCallIndirect(_)
                    )
            });
        if !returns_without_frame {
            return None;
        }
        let set_up_at: HashSet<usize> =
            (0..needs_frame.len()).filter(|node| needs_frame[*node] && !set_before[*node]).collect();
        let check_weight: u64 = set_up_at.iter().map(|node| 8u64.saturating_pow(cfg.depths[*node])).sum();
        (check_weight <= Self::MAX_CHECK_WEIGHT).then_some(LazyFrame {
            set_up_at,
            set_before,
            maybe_set_before,
            has_clang_frame,
        })
    }
}

/// An address below which the collector's heap never lies: the initial
/// stack pointer. wasm-ld places the heap (`__heap_base`, where malloc,
/// and so the collector's heap, starts) above both the data and the stack,
/// whichever comes first. 0, so that no address counts as below the heap,
/// if the stack pointer does not start at a constant.
fn heap_floor(module: &Module, stack_pointer: GlobalId) -> u32 {
    match module.globals.get(stack_pointer).kind {
        GlobalKind::Local(walrus::ConstExpr::Value(Value::I32(initial))) => initial as u32,
        _ => 0,
    }
}

/// The linker's `__stack_pointer`: by name when the module has names,
/// otherwise the first defined mutable i32 global, where wasm-ld puts it.
fn find_stack_pointer(module: &Module) -> Result<GlobalId> {
    let by_name = module.globals.iter().find(|global| global.name.as_deref() == Some("__stack_pointer"));
    let first_mutable = || {
        module
            .globals
            .iter()
            .find(|global| global.mutable && global.ty == ValType::I32 && matches!(global.kind, GlobalKind::Local(_)))
    };
    match by_name.or_else(first_mutable) {
        Some(global) => Ok(global.id()),
        None => bail!("no __stack_pointer global: is this a module linked by wasm-ld?"),
    }
}

/// The functions whose calls may start a collection: the collector's entry
/// points and everything that can reach them through direct calls or any
/// indirect call. Without `gc_collect_root` (a module without names), every
/// defined function counts.
fn collecting_functions(module: &Module) -> HashSet<FunctionId> {
    let defined = module.funcs.iter().filter(|function| matches!(function.kind, FunctionKind::Local(_)));
    let named = |name: &str| module.funcs.iter().any(|function| function.name.as_deref() == Some(name));
    if !named("gc_collect_root") {
        return defined.map(|function| function.id()).collect();
    }
    let mut callers: HashMap<FunctionId, Vec<FunctionId>> = HashMap::new();
    let mut collecting: HashSet<FunctionId> = module
        .funcs
        .iter()
        .filter(|function| function.name.as_deref().is_some_and(|name| COLLECTOR.contains(&name)))
        .map(|function| function.id())
        .collect();
    for function in defined {
        let FunctionKind::Local(func) = &function.kind else { continue };
        for seq in sequences_of(func) {
            for (instr, _) in &func.block(seq).instrs {
                match instr {
                    Instr::Call(Call { func: callee }) | Instr::ReturnCall(walrus::ir::ReturnCall { func: callee }) => {
                        callers.entry(*callee).or_default().push(function.id())
                    }
                    Instr::CallIndirect(_)
                    | Instr::ReturnCallIndirect(_)
                    | Instr::CallRef(_)
                    | Instr::ReturnCallRef(_) => {
                        collecting.insert(function.id());
                    }
                    _ => {}
                }
            }
        }
    }
    let mut pending: Vec<FunctionId> = collecting.iter().copied().collect();
    while let Some(callee) = pending.pop() {
        for caller in callers.get(&callee).into_iter().flatten() {
            if collecting.insert(*caller) {
                pending.push(*caller);
            }
        }
    }
    collecting
}

/// Every instruction sequence of the function, entry first.
fn sequences_of(func: &LocalFunction) -> Vec<InstrSeqId> {
    let mut found = vec![func.entry_block()];
    let mut index = 0;
    while index < found.len() {
        for (instr, _) in &func.block(found[index]).instrs {
            found.extend(nested(instr));
        }
        index += 1;
    }
    found
}

/// The sequences an instruction contains.
fn nested(instr: &Instr) -> Vec<InstrSeqId> {
    match instr {
        Instr::Block(Block { seq }) | Instr::Loop(Loop { seq }) | Instr::TryTable(walrus::ir::TryTable { seq, .. }) => {
            vec![*seq]
        }
        Instr::IfElse(IfElse { consequent, alternative }) => vec![*consequent, *alternative],
        Instr::Try(Try { seq, catches }) => {
            std::iter::once(*seq).chain(catches.iter().filter_map(handler_of)).collect()
        }
        _ => Vec::new(),
    }
}

fn handler_of(catch: &LegacyCatch) -> Option<InstrSeqId> {
    match catch {
        LegacyCatch::Catch { handler, .. } | LegacyCatch::CatchAll { handler } => Some(*handler),
        LegacyCatch::Delegate { .. } => None,
    }
}

/// A set of tracked locals, by index.
#[derive(Clone, PartialEq, Eq)]
struct Bits(Vec<u64>);

impl Bits {
    fn empty(size: usize) -> Bits {
        Bits(vec![0; size.div_ceil(64)])
    }

    fn full(size: usize) -> Bits {
        let mut bits = Bits::empty(size);
        (0..size).for_each(|index| bits.insert(index));
        bits
    }

    fn insert(&mut self, index: usize) {
        self.0[index / 64] |= 1 << (index % 64);
    }

    fn remove(&mut self, index: usize) {
        self.0[index / 64] &= !(1 << (index % 64));
    }

    fn contains(&self, index: usize) -> bool {
        self.0[index / 64] & (1 << (index % 64)) != 0
    }

    fn union_with(&mut self, other: &Bits) {
        self.0.iter_mut().zip(&other.0).for_each(|(word, other)| *word |= other);
    }

    fn intersect_with(&mut self, other: &Bits) {
        self.0.iter_mut().zip(&other.0).for_each(|(word, other)| *word &= other);
    }

    fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.len() * 64).filter(|index| self.contains(*index))
    }
}

/// What an instruction does to the tracked locals.
#[derive(Clone, Copy)]
enum Effect {
    None,
    Get(usize),
    Set(usize),
    /// A call that may collect, at this place in the code.
    Collect(InstrSeqId, usize),
}

/// One node per instruction (plus entry, exit and join points), with every
/// way control can go on: branches, fall-through, and exceptions, which may
/// leave any call or throw for the handlers of every enclosing `try` (more
/// edges than the exact ones only make the analyses more conservative).
struct Cfg {
    effects: Vec<Effect>,
    succs: Vec<Vec<usize>>,
    /// How many loops each node is in.
    depths: Vec<u32>,
    /// The node of each instruction, by sequence and position.
    nodes: HashMap<(InstrSeqId, usize), usize>,
}

struct CfgBuilder<'a> {
    cfg: Cfg,
    func: &'a LocalFunction,
    index_of: &'a HashMap<LocalId, usize>,
    is_collecting_call: &'a dyn Fn(&Instr) -> bool,
    /// Where a branch to each sequence's label goes.
    targets: HashMap<InstrSeqId, usize>,
    /// Entry nodes of the catch handlers around the current instruction.
    handlers: Vec<usize>,
    depth: u32,
}

const ENTRY: usize = 0;
const EXIT: usize = 1;

impl Cfg {
    fn build(
        func: &LocalFunction,
        index_of: &HashMap<LocalId, usize>,
        is_collecting_call: &dyn Fn(&Instr) -> bool,
    ) -> Result<Cfg> {
        let mut builder = CfgBuilder {
            cfg: Cfg { effects: Vec::new(), succs: Vec::new(), depths: Vec::new(), nodes: HashMap::new() },
            func,
            index_of,
            is_collecting_call,
            targets: HashMap::new(),
            handlers: Vec::new(),
            depth: 0,
        };
        builder.node(Effect::None);
        builder.node(Effect::None);
        // A branch to the body's own label returns.
        builder.targets.insert(func.entry_block(), EXIT);
        let ends = builder.sequence(func.entry_block(), vec![ENTRY])?;
        builder.connect(&ends, EXIT);
        Ok(builder.cfg)
    }

    fn preds(&self) -> Vec<Vec<usize>> {
        let mut preds = vec![Vec::new(); self.succs.len()];
        for (node, succs) in self.succs.iter().enumerate() {
            for succ in succs {
                preds[*succ].push(node);
            }
        }
        preds
    }

    /// Whether the frame is certainly set up on entry to each node, when it
    /// is set up at the `needs_frame` nodes.
    fn frame_set_before(&self, needs_frame: &[bool]) -> Vec<bool> {
        let preds = self.preds();
        let count = self.succs.len();
        // Greatest fixed point; nodes without predecessors are unreachable.
        let mut set_in = vec![true; count];
        let mut set_out = vec![true; count];
        let mut changed = true;
        while changed {
            changed = false;
            for node in 0..count {
                let set = node != ENTRY && preds[node].iter().all(|pred| set_out[*pred]);
                set_in[node] = set;
                let out = set || needs_frame[node];
                if out != set_out[node] {
                    set_out[node] = out;
                    changed = true;
                }
            }
        }
        set_in
    }

    /// Whether the frame may exist on entry to each node (set up at the
    /// `needs_frame` nodes on some path there).
    fn frame_maybe_set_before(&self, needs_frame: &[bool]) -> Vec<bool> {
        let preds = self.preds();
        let count = self.succs.len();
        let mut set_in = vec![false; count];
        let mut set_out = vec![false; count];
        let mut changed = true;
        while changed {
            changed = false;
            for node in 0..count {
                let set = preds[node].iter().any(|pred| set_out[*pred]);
                set_in[node] = set;
                let out = set || needs_frame[node];
                if out != set_out[node] {
                    set_out[node] = out;
                    changed = true;
                }
            }
        }
        set_in
    }

    /// The tracked locals live after each node: read later on some path
    /// before being written.
    fn liveness(&self, size: usize) -> Vec<Bits> {
        let count = self.succs.len();
        let mut live_in = vec![Bits::empty(size); count];
        let mut live_out = vec![Bits::empty(size); count];
        let mut changed = true;
        while changed {
            changed = false;
            for node in (0..count).rev() {
                let mut out = Bits::empty(size);
                for succ in &self.succs[node] {
                    out.union_with(&live_in[*succ]);
                }
                let mut new_in = out.clone();
                match self.effects[node] {
                    Effect::Get(local) => new_in.insert(local),
                    Effect::Set(local) => new_in.remove(local),
                    Effect::None | Effect::Collect(..) => {}
                }
                live_out[node] = out;
                if new_in != live_in[node] {
                    live_in[node] = new_in;
                    changed = true;
                }
            }
        }
        live_out
    }

    /// The locals cheaper to store after each of their writes (and, for
    /// parameters, on entry) than before calls (`before_calls`: where each
    /// local would be stored if all were stored there), estimating how often
    /// code runs as 8 to the power of its loop depth.
    fn stored_at_writes(
        &self,
        before_calls: &HashMap<(InstrSeqId, usize), Vec<usize>>,
        size: usize,
        stale_at_entry: &[usize],
    ) -> BTreeSet<usize> {
        let weight = |node: usize| 8u64.saturating_pow(self.depths[node]);
        let mut writes = vec![0u64; size];
        stale_at_entry.iter().for_each(|param| writes[*param] = 1);
        let mut calls = vec![0u64; size];
        for (node, effect) in self.effects.iter().enumerate() {
            match effect {
                Effect::Set(local) => writes[*local] = writes[*local].saturating_add(weight(node)),
                Effect::Collect(seq, position) => {
                    for local in &before_calls[&(*seq, *position)] {
                        calls[*local] = calls[*local].saturating_add(weight(node));
                    }
                }
                Effect::None | Effect::Get(_) => {}
            }
        }
        (0..size).filter(|local| calls[*local] > 0 && writes[*local] <= calls[*local]).collect()
    }

    /// Which locals to store before each collecting call: those live after
    /// it, not stored at their writes, whose slot may not hold their current
    /// value. A slot is known to be current on entry for every local but the
    /// `stale_at_entry` parameters (the others start at zero, which is no
    /// pointer), after a store, and until
    /// the next write.
    fn stores_before_calls(
        &self,
        live_out: &[Bits],
        at_writes: &BTreeSet<usize>,
        size: usize,
        stale_at_entry: &[usize],
    ) -> HashMap<(InstrSeqId, usize), Vec<usize>> {
        let count = self.succs.len();
        let preds = self.preds();
        let mut entry_state = Bits::full(size);
        stale_at_entry.iter().for_each(|param| entry_state.remove(*param));
        // Greatest fixed point: start from "every slot current" everywhere.
        let mut current_out = vec![Bits::full(size); count];
        let mut current_in = vec![Bits::full(size); count];
        let mut changed = true;
        while changed {
            changed = false;
            for node in 0..count {
                let mut state = if node == ENTRY { entry_state.clone() } else { Bits::full(size) };
                for pred in &preds[node] {
                    state.intersect_with(&current_out[*pred]);
                }
                current_in[node] = state.clone();
                match self.effects[node] {
                    Effect::Set(local) => state.remove(local),
                    Effect::Collect(..) => state.union_with(&live_out[node]),
                    Effect::None | Effect::Get(_) => {}
                }
                if state != current_out[node] {
                    current_out[node] = state;
                    changed = true;
                }
            }
        }
        let mut stores = HashMap::new();
        for node in 0..count {
            if let Effect::Collect(seq, position) = self.effects[node] {
                let stored: Vec<usize> = live_out[node]
                    .indices()
                    .filter(|local| !current_in[node].contains(*local) && !at_writes.contains(local))
                    .collect();
                stores.insert((seq, position), stored);
            }
        }
        stores
    }
}

impl CfgBuilder<'_> {
    fn node(&mut self, effect: Effect) -> usize {
        self.cfg.effects.push(effect);
        self.cfg.succs.push(Vec::new());
        self.cfg.depths.push(self.depth);
        self.cfg.effects.len() - 1
    }

    fn connect(&mut self, from: &[usize], to: usize) {
        for node in from {
            self.cfg.succs[*node].push(to);
        }
    }

    fn may_throw(&mut self, node: usize) {
        let handlers = self.handlers.clone();
        self.cfg.succs[node].extend(handlers);
    }

    /// Adds the nodes of `seq`, entered from `preds`; returns the nodes that
    /// fall through its end.
    fn sequence(&mut self, seq: InstrSeqId, mut preds: Vec<usize>) -> Result<Vec<usize>> {
        let func = self.func;
        for (position, (instr, _)) in func.block(seq).instrs.iter().enumerate() {
            let local = |local: &LocalId| self.index_of.get(local).copied();
            let effect = match instr {
                Instr::LocalGet(LocalGet { local: id }) => local(id).map_or(Effect::None, Effect::Get),
                Instr::LocalSet(LocalSet { local: id }) | Instr::LocalTee(LocalTee { local: id }) => {
                    local(id).map_or(Effect::None, Effect::Set)
                }
                call if (self.is_collecting_call)(call) => Effect::Collect(seq, position),
                _ => Effect::None,
            };
            let node = self.node(effect);
            self.cfg.nodes.insert((seq, position), node);
            self.connect(&preds, node);
            preds = vec![node];
            match instr {
                Instr::Block(Block { seq: body }) => {
                    let join = self.node(Effect::None);
                    self.targets.insert(*body, join);
                    let ends = self.sequence(*body, vec![node])?;
                    self.connect(&ends, join);
                    preds = vec![join];
                }
                Instr::Loop(Loop { seq: body }) => {
                    self.targets.insert(*body, node);
                    self.depth += 1;
                    preds = self.sequence(*body, vec![node])?;
                    self.depth -= 1;
                }
                Instr::IfElse(IfElse { consequent, alternative }) => {
                    let join = self.node(Effect::None);
                    self.targets.insert(*consequent, join);
                    self.targets.insert(*alternative, join);
                    let mut ends = self.sequence(*consequent, vec![node])?;
                    ends.extend(self.sequence(*alternative, vec![node])?);
                    self.connect(&ends, join);
                    preds = vec![join];
                }
                Instr::Try(Try { seq: body, catches }) => {
                    let join = self.node(Effect::None);
                    self.targets.insert(*body, join);
                    let handlers: Vec<(InstrSeqId, usize)> = catches
                        .iter()
                        .filter_map(handler_of)
                        .map(|handler| (handler, self.node(Effect::None)))
                        .collect();
                    let outer = self.handlers.len();
                    self.handlers.extend(handlers.iter().map(|(_, entry)| *entry));
                    let mut ends = self.sequence(*body, vec![node])?;
                    self.handlers.truncate(outer);
                    for (handler, entry) in handlers {
                        self.targets.insert(handler, join);
                        ends.extend(self.sequence(handler, vec![entry])?);
                    }
                    self.connect(&ends, join);
                    preds = vec![join];
                }
                Instr::TryTable(_) => bail!("try_table: the spill pass runs before the exnref translation"),
                Instr::Br(walrus::ir::Br { block }) => {
                    let target = self.targets[block];
                    self.connect(&[node], target);
                    preds = Vec::new();
                }
                Instr::BrIf(BrIf { block }) => {
                    let target = self.targets[block];
                    self.connect(&[node], target);
                }
                Instr::BrTable(BrTable { blocks, default }) => {
                    let targets: Vec<usize> = blocks.iter().chain([default]).map(|block| self.targets[block]).collect();
                    for target in targets {
                        self.connect(&[node], target);
                    }
                    preds = Vec::new();
                }
                Instr::Call(_) | Instr::CallIndirect(_) | Instr::CallRef(_) => self.may_throw(node),
                Instr::Throw(_) | Instr::Rethrow(_) | Instr::ThrowRef(_) => {
                    self.may_throw(node);
                    preds = Vec::new();
                }
                Instr::Return(_)
                | Instr::Unreachable(_)
                | Instr::ReturnCall(_)
                | Instr::ReturnCallIndirect(_)
                | Instr::ReturnCallRef(_) => preds = Vec::new(),
                _ => {}
            }
        }
        Ok(preds)
    }
}

/// Where a waiting value is produced: after an instruction, or on entry to
/// a catch handler (the exception's payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Site {
    Start(InstrSeqId),
    After(InstrSeqId, usize),
}

/// Types of the functions, signatures, globals and tags that instructions
/// refer to, so the operand stack can be followed.
struct Signatures {
    functions: HashMap<FunctionId, TypeId>,
    types: HashMap<TypeId, (Vec<ValType>, Vec<ValType>)>,
    globals: HashMap<GlobalId, ValType>,
    tags: HashMap<walrus::TagId, TypeId>,
}

impl Signatures {
    fn of(module: &Module) -> Signatures {
        Signatures {
            functions: module.funcs.iter().map(|function| (function.id(), function.ty())).collect(),
            types: module.types.iter().map(|ty| (ty.id(), (ty.params().to_vec(), ty.results().to_vec()))).collect(),
            globals: module.globals.iter().map(|global| (global.id(), global.ty)).collect(),
            tags: module.tags.iter().map(|tag| (tag.id, tag.ty)).collect(),
        }
    }

    fn block_type(&self, ty: InstrSeqType) -> (Vec<ValType>, Vec<ValType>) {
        match ty {
            InstrSeqType::Simple(result) => (Vec::new(), result.into_iter().collect()),
            InstrSeqType::MultiValue(ty) => self.types[&ty].clone(),
        }
    }
}

/// One value on the operand stack: its type, where it was produced, and
/// whether it may be a pointer.
#[derive(Clone, Copy)]
struct Operand {
    ty: ValType,
    site: Site,
    origin: Origin,
}

/// What following a function's operand stack finds.
struct StackFacts {
    /// The i32 values that may be pointers and wait on the operand stack
    /// while a collecting call runs, by where they are produced.
    waiting: BTreeSet<Site>,
    /// The i32 locals that may hold a pointer: the arguments, and those
    /// written with a value that may be one.
    pointer_locals: HashSet<LocalId>,
}

fn follow_stack(
    func: &LocalFunction,
    signatures: &Signatures,
    locals: &walrus::ModuleLocals,
    is_collecting_call: &dyn Fn(&Instr) -> bool,
    not_heap: &NotHeap,
) -> Result<StackFacts> {
    // A local's writes may read locals written later in the code, so grow
    // the set until one pass over the function adds nothing.
    let mut pointer_locals: HashSet<LocalId> = func.args.iter().copied().collect();
    loop {
        let mut follower = StackFollower {
            func,
            signatures,
            locals,
            is_collecting_call,
            not_heap,
            pointer_locals: &pointer_locals,
            waiting: BTreeSet::new(),
            written_with_pointers: HashSet::new(),
        };
        follower.sequence(func.entry_block(), Vec::new())?;
        let StackFollower { waiting, written_with_pointers, .. } = follower;
        if written_with_pointers.is_subset(&pointer_locals) {
            return Ok(StackFacts { waiting, pointer_locals });
        }
        pointer_locals.extend(written_with_pointers);
    }
}

struct StackFollower<'a> {
    func: &'a LocalFunction,
    signatures: &'a Signatures,
    locals: &'a walrus::ModuleLocals,
    is_collecting_call: &'a dyn Fn(&Instr) -> bool,
    not_heap: &'a NotHeap,
    pointer_locals: &'a HashSet<LocalId>,
    waiting: BTreeSet<Site>,
    written_with_pointers: HashSet<LocalId>,
}

impl StackFollower<'_> {
    /// Follows `seq`'s operand stack from `stack` (its parameters); returns
    /// whether it contains a collecting call.
    fn sequence(&mut self, seq: InstrSeqId, mut stack: Vec<Operand>) -> Result<bool> {
        let func = self.func;
        let mut collects = false;
        for (position, (instr, _)) in func.block(seq).instrs.iter().enumerate() {
            let (pops, mut pushes) = self.signature(instr)?;
            if let Instr::Select(Select { ty: None }) = instr {
                pushes = stack.get(stack.len().wrapping_sub(2)).map(|operand| operand.ty).into_iter().collect();
            }
            let below = stack.len().saturating_sub(pops);
            let inner = match instr {
                Instr::Block(Block { seq: body }) | Instr::Loop(Loop { seq: body }) => {
                    self.sequence(*body, stack[below..].to_vec())?
                }
                Instr::IfElse(IfElse { consequent, alternative }) => {
                    let params = stack[below..stack.len() - 1].to_vec();
                    let first = self.sequence(*consequent, params.clone())?;
                    self.sequence(*alternative, params)? || first
                }
                Instr::Try(Try { seq: body, catches }) => {
                    let mut collects = self.sequence(*body, stack[below..].to_vec())?;
                    for catch in catches {
                        let payload = match catch {
                            LegacyCatch::Catch { tag, handler } => {
                                let (params, _) = &self.signatures.types[&self.signatures.tags[tag]];
                                Some((*handler, params.clone()))
                            }
                            LegacyCatch::CatchAll { handler } => Some((*handler, Vec::new())),
                            LegacyCatch::Delegate { .. } => None,
                        };
                        if let Some((handler, params)) = payload {
                            let site = Site::Start(handler);
                            let operands =
                                params.into_iter().map(|ty| Operand { ty, site, origin: Origin::UNKNOWN }).collect();
                            collects |= self.sequence(handler, operands)?;
                        }
                    }
                    collects
                }
                call => (self.is_collecting_call)(call),
            };
            if inner {
                collects = true;
                for operand in &stack[..below] {
                    if operand.ty == ValType::I32 && operand.origin.pointer {
                        self.waiting.insert(operand.site);
                    }
                }
            }
            let popped: Vec<Origin> = stack[below..].iter().map(|operand| operand.origin).collect();
            let origin = if pushes.len() == 1 {
                values::result_origin(instr, &popped, self.pointer_locals, self.not_heap)
            } else {
                Origin::UNKNOWN
            };
            if let Instr::LocalSet(LocalSet { local }) | Instr::LocalTee(LocalTee { local }) = instr {
                if popped.first().is_some_and(|value| value.pointer) {
                    self.written_with_pointers.insert(*local);
                }
            }
            stack.truncate(below);
            let site = Site::After(seq, position);
            stack.extend(pushes.into_iter().map(|ty| Operand { ty, site, origin }));
            if ends_sequence(instr) {
                // The rest of the sequence is unreachable.
                return Ok(collects);
            }
        }
        Ok(collects)
    }

    /// How many operands an instruction pops, and the types it pushes.
    fn signature(&self, instr: &Instr) -> Result<(usize, Vec<ValType>)> {
        let signatures = self.signatures;
        let block = |seq: InstrSeqId| signatures.block_type(self.func.block(seq).ty);
        let call = |ty: &TypeId, extra: usize| {
            let (params, results) = &signatures.types[ty];
            (params.len() + extra, results.clone())
        };
        Ok(match instr {
            Instr::Block(Block { seq }) | Instr::Loop(Loop { seq }) | Instr::Try(Try { seq, .. }) => {
                let (params, results) = block(*seq);
                (params.len(), results)
            }
            Instr::IfElse(IfElse { consequent, .. }) => {
                let (params, results) = block(*consequent);
                (params.len() + 1, results)
            }
            Instr::Call(Call { func }) => call(&signatures.functions[func], 0),
            Instr::CallIndirect(CallIndirect { ty, .. }) => call(ty, 1),
            Instr::LocalGet(LocalGet { local }) => (0, vec![self.locals.get(*local).ty()]),
            Instr::LocalSet(_) | Instr::GlobalSet(_) | Instr::Drop(_) | Instr::BrIf(_) => (1, Vec::new()),
            Instr::LocalTee(LocalTee { local }) => (1, vec![self.locals.get(*local).ty()]),
            Instr::GlobalGet(GlobalGet { global }) => (0, vec![signatures.globals[global]]),
            Instr::Const(Const { value }) => (0, vec![value_type(value)]),
            Instr::Binop(Binop { op }) => (2, vec![binop_type(op)?]),
            Instr::Unop(Unop { op }) => (1, vec![unop_type(op)?]),
            // An untyped select's result has its operands' type, which
            // `sequence` takes from the stack.
            Instr::Select(Select { ty }) => (3, ty.iter().copied().collect()),
            Instr::Load(Load { kind, .. }) => (1, vec![load_type(kind)]),
            Instr::Store(_) => (2, Vec::new()),
            Instr::MemorySize(_) => (0, vec![ValType::I32]),
            Instr::MemoryGrow(_) => (1, vec![ValType::I32]),
            Instr::MemoryCopy(_) | Instr::MemoryFill(_) | Instr::MemoryInit(_) => (3, Vec::new()),
            Instr::DataDrop(_) | Instr::AtomicFence(_) => (0, Vec::new()),
            Instr::Throw(Throw { tag }) => (signatures.types[&signatures.tags[tag]].0.len(), Vec::new()),
            // Control leaves the sequence: nothing after it is reached.
            Instr::Br(_) | Instr::BrTable(_) | Instr::Return(_) | Instr::Unreachable(_) | Instr::Rethrow(_) => {
                (0, Vec::new())
            }
            other => bail!("the spill pass does not know the stack effect of {other:?}"),
        })
    }
}

fn ends_sequence(instr: &Instr) -> bool {
    matches!(
        instr,
        Instr::Br(_)
            | Instr::BrTable(_)
            | Instr::Return(_)
            | Instr::Unreachable(_)
            | Instr::Throw(_)
            | Instr::Rethrow(_)
            | Instr::ReturnCall(_)
            | Instr::ReturnCallIndirect(_)
    )
}

fn value_type(value: &Value) -> ValType {
    match value {
        Value::I32(_) => ValType::I32,
        Value::I64(_) => ValType::I64,
        Value::F32(_) => ValType::F32,
        Value::F64(_) => ValType::F64,
        Value::V128(_) => ValType::V128,
    }
}

fn load_type(kind: &LoadKind) -> ValType {
    match kind {
        LoadKind::I32 { .. } | LoadKind::I32_8 { .. } | LoadKind::I32_16 { .. } => ValType::I32,
        LoadKind::I64 { .. } | LoadKind::I64_8 { .. } | LoadKind::I64_16 { .. } | LoadKind::I64_32 { .. } => {
            ValType::I64
        }
        LoadKind::F32 => ValType::F32,
        LoadKind::F64 => ValType::F64,
        LoadKind::V128 => ValType::V128,
    }
}

/// A scalar operator's result type from its name (`I64LtS` → i32,
/// `F64ConvertSI32` → f64): comparisons give i32, everything else the type
/// its name starts with. SIMD operators are refused.
fn scalar_result(name: &str, comparison: bool) -> Result<ValType> {
    if comparison {
        return Ok(ValType::I32);
    }
    Ok(match name.get(..3) {
        Some("I32") => ValType::I32,
        Some("I64") => ValType::I64,
        Some("F32") => ValType::F32,
        Some("F64") => ValType::F64,
        _ => bail!("the spill pass does not handle the operator {name}"),
    })
}

fn binop_type(op: &BinaryOp) -> Result<ValType> {
    let name = format!("{op:?}");
    let comparison = ["Eq", "Ne", "LtS", "LtU", "GtS", "GtU", "LeS", "LeU", "GeS", "GeU", "Lt", "Gt", "Le", "Ge"]
        .contains(&name.get(3..).unwrap_or_default());
    scalar_result(&name, comparison)
}

fn unop_type(op: &walrus::ir::UnaryOp) -> Result<ValType> {
    let name = format!("{op:?}");
    scalar_result(&name, name.ends_with("Eqz"))
}

struct Spill {
    /// The frame's address: a local of the pass's own, or clang's frame
    /// pointer when the slots sit on top of clang's frame.
    frame: LocalId,
    /// Where the slots start in the frame.
    slot_base: i32,
    /// Holds a waiting value while it is copied to the frame.
    scratch: LocalId,
    frame_size: i32,
    stack_pointer: GlobalId,
    memory: MemoryId,
}

type Instrs = Vec<(Instr, InstrLocId)>;

fn at(instr: Instr) -> (Instr, InstrLocId) {
    (instr, InstrLocId::default())
}

impl Spill {
    fn store_local(&self, local: LocalId, slot: usize, out: &mut Instrs) {
        out.push(at(Instr::LocalGet(LocalGet { local: self.frame })));
        out.push(at(Instr::LocalGet(LocalGet { local })));
        out.push(at(Instr::Store(Store {
            memory: self.memory,
            kind: StoreKind::I32 { atomic: false },
            arg: MemArg { align: 4, offset: self.slot_base as u64 + slot as u64 * 4 },
        })));
    }

    /// Copies the value on top of the operand stack into `slot`, leaving it
    /// there.
    fn store_top(&self, slot: usize, out: &mut Instrs) {
        out.push(at(Instr::LocalTee(LocalTee { local: self.scratch })));
        self.store_local(self.scratch, slot, out);
    }

    /// frame = SP - size; SP = frame.
    fn prologue(&self) -> Instrs {
        vec![
            at(Instr::GlobalGet(GlobalGet { global: self.stack_pointer })),
            at(Instr::Const(Const { value: Value::I32(self.frame_size) })),
            at(Instr::Binop(Binop { op: BinaryOp::I32Sub })),
            at(Instr::LocalTee(LocalTee { local: self.frame })),
            at(Instr::GlobalSet(GlobalSet { global: self.stack_pointer })),
        ]
    }

    /// `if frame == 0 { set up the frame; store `stores` }`. Frame
    /// addresses are never 0: the stack check stops C recursion long
    /// before the shadow stack reaches the bottom of memory.
    fn set_up_if_missing(&self, func: &mut LocalFunction, stores: &[(LocalId, usize)]) -> (Instr, InstrLocId) {
        let mut body = self.prologue();
        for (local, slot) in stores {
            self.store_local(*local, *slot, &mut body);
        }
        let consequent = func.builder_mut().dangling_instr_seq(None).id();
        func.block_mut(consequent).instrs = body;
        let alternative = func.builder_mut().dangling_instr_seq(None).id();
        let check = func.builder_mut().dangling_instr_seq(None).id();
        func.block_mut(check).instrs = vec![
            at(Instr::LocalGet(LocalGet { local: self.frame })),
            at(Instr::Unop(Unop { op: walrus::ir::UnaryOp::I32Eqz })),
            at(Instr::IfElse(IfElse { consequent, alternative })),
        ];
        at(Instr::Block(Block { seq: check }))
    }

    /// `if frame != 0 { store local }`.
    fn store_if_made(&self, func: &mut LocalFunction, local: LocalId, slot: usize) -> (Instr, InstrLocId) {
        let mut body = Vec::new();
        self.store_local(local, slot, &mut body);
        self.if_made(func, body)
    }

    fn if_made(&self, func: &mut LocalFunction, body: Instrs) -> (Instr, InstrLocId) {
        let consequent = func.builder_mut().dangling_instr_seq(None).id();
        func.block_mut(consequent).instrs = body;
        let alternative = func.builder_mut().dangling_instr_seq(None).id();
        let check = func.builder_mut().dangling_instr_seq(None).id();
        func.block_mut(check).instrs = vec![
            at(Instr::LocalGet(LocalGet { local: self.frame })),
            at(Instr::IfElse(IfElse { consequent, alternative })),
        ];
        at(Instr::Block(Block { seq: check }))
    }

    /// Pops a lazily made frame: checks that it was made unless `made`;
    /// restores `entry_stack_pointer` where clang's epilogue, which already
    /// ran, restored it too, or SP = frame + size where the frame was the
    /// only change to the stack pointer.
    fn lazy_pop(
        &self,
        func: &mut LocalFunction,
        made: bool,
        entry_stack_pointer: Option<LocalId>,
    ) -> (Instr, InstrLocId) {
        let pop = match entry_stack_pointer {
            Some(saved) => vec![
                at(Instr::LocalGet(LocalGet { local: saved })),
                at(Instr::GlobalSet(GlobalSet { global: self.stack_pointer })),
            ],
            None => self.epilogue(),
        };
        if made {
            let seq = func.builder_mut().dangling_instr_seq(None).id();
            func.block_mut(seq).instrs = pop;
            at(Instr::Block(Block { seq }))
        } else {
            self.if_made(func, pop)
        }
    }

    /// SP = frame + size. Touches only its own operands, so any results
    /// already on the stack stay where they are.
    fn epilogue(&self) -> Instrs {
        vec![
            at(Instr::LocalGet(LocalGet { local: self.frame })),
            at(Instr::Const(Const { value: Value::I32(self.frame_size) })),
            at(Instr::Binop(Binop { op: BinaryOp::I32Add })),
            at(Instr::GlobalSet(GlobalSet { global: self.stack_pointer })),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spilled(wat: &str) -> (Vec<u8>, SpillStats) {
        let mut module = Module::from_buffer(&wat::parse_str(wat).unwrap()).unwrap();
        let stats = spill_pointers(&mut module).unwrap();
        let bytes = module.emit_wasm();
        let features = wasmparser::WasmFeatures::default() | wasmparser::WasmFeatures::LEGACY_EXCEPTIONS;
        wasmparser::Validator::new_with_features(features).validate_all(&bytes).expect("the spilled module validates");
        (bytes, stats)
    }

    /// Runs the module in wasmtime, which needs the exnref form of
    /// exception handling.
    fn instantiate(bytes: &[u8]) -> (wasmtime::Store<()>, wasmtime::Instance) {
        let mut module = Module::from_buffer(bytes).unwrap();
        super::super::exnref::translate_legacy_to_exnref(&mut module).unwrap();
        let mut config = wasmtime::Config::new();
        config.wasm_exceptions(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let module = wasmtime::Module::new(&engine, module.emit_wasm()).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        (store, instance)
    }

    /// Calls the export `name` with `arg`, then `seen`: its result, and
    /// what the callee read from the caller's frame.
    fn call_and_seen(bytes: &[u8], name: &str, arg: i32) -> (i32, i32) {
        let (mut store, instance) = instantiate(bytes);
        let function = instance.get_typed_func::<i32, i32>(&mut store, name).unwrap();
        let seen = instance.get_typed_func::<(), i32>(&mut store, "seen").unwrap();
        let result = function.call(&mut store, arg).unwrap();
        (result, seen.call(&mut store, ()).unwrap())
    }

    const MODULE: &str = r#"(module
        (memory (export "memory") 1)
        (global $__stack_pointer (mut i32) (i32.const 4096))
        (global $seen (mut i32) (i32.const 0))
        (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
        ;; Reads the caller's second slot ($x, after $p) while the caller is
        ;; suspended in this call, as a collection scanning from the stack
        ;; pointer would.
        (func $observe (result i32)
            (global.set $seen (i32.load offset=4 (global.get $__stack_pointer)))
            (i32.const 0))
        (func (export "caller") (param $p i32) (result i32) (local $x i32)
            (local.set $x (i32.mul (local.get $p) (i32.const 3)))
            (drop (call $observe))
            (if (i32.eqz (local.get $p)) (then (return (i32.const -1))))
            (i32.add (local.get $x) (call $leaf (local.get $p))))
        (func (export "seen") (result i32) (global.get $seen))
        (func (export "sp") (result i32) (global.get $__stack_pointer)))"#;

    #[test]
    fn only_values_used_after_a_call_are_stored() {
        let (_, stats) = spilled(MODULE);
        // `caller` stores $p and $x before `observe` (both are used after
        // it), nothing before `leaf` (no local is read after it), and the
        // value of $x that waits on the operand stack while `leaf` runs.
        // `leaf`, `observe` and the getters make no calls.
        assert_eq!(stats, SpillStats { functions: 1, slots: 3, stores: 3 });
    }

    #[test]
    fn locals_are_visible_in_memory_during_calls_and_the_stack_is_balanced() {
        let (bytes, _) = spilled(MODULE);
        let (mut store, instance) = instantiate(&bytes);
        let caller = instance.get_typed_func::<i32, i32>(&mut store, "caller").unwrap();
        let seen = instance.get_typed_func::<(), i32>(&mut store, "seen").unwrap();
        let sp = instance.get_typed_func::<(), i32>(&mut store, "sp").unwrap();

        assert_eq!(caller.call(&mut store, 5).unwrap(), 15 + 6);
        assert_eq!(seen.call(&mut store, ()).unwrap(), 15, "the local $x was in the frame during the call");
        assert_eq!(sp.call(&mut store, ()).unwrap(), 4096, "stack restored after a normal return");
        assert_eq!(caller.call(&mut store, 0).unwrap(), -1);
        assert_eq!(sp.call(&mut store, ()).unwrap(), 4096, "stack restored after an early return");
    }

    #[test]
    fn a_call_result_waiting_on_the_stack_is_visible_during_the_next_call() {
        // pair(make(), observe()): make's result sits on the operand stack
        // while observe runs, and is the only value to keep.
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (func $make (result i32) (i32.const 1234))
                (func $observe (result i32) (i32.load (global.get $__stack_pointer)))
                (func $pair (param i32 i32) (result i32) (local.get 1))
                (func (export "run") (result i32) (call $pair (call $make) (call $observe))))"#,
        );
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
        let (mut store, instance) = instantiate(&bytes);
        let run = instance.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 1234, "make's result was in the frame while observe ran");
    }

    #[test]
    fn a_loop_stores_a_changed_local_only_where_it_calls() {
        // $p changes on every iteration but is stored only before the call
        // on the path taken every fourth time.
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (global $start i32 (i32.const 100))
                (func $observe (global.set $seen (i32.load (global.get $__stack_pointer))))
                (func (export "walk") (result i32) (local $p i32)
                    (local.set $p (global.get $start))
                    (loop $again
                        (local.set $p (i32.add (local.get $p) (i32.const 4)))
                        (if (i32.eqz (i32.and (local.get $p) (i32.const 15))) (then (call $observe)))
                        (br_if $again (i32.lt_u (local.get $p) (i32.const 200))))
                    (local.get $p))
                (func (export "seen") (result i32) (global.get $seen)))"#,
        );
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
        let (mut store, instance) = instantiate(&bytes);
        let walk = instance.get_typed_func::<(), i32>(&mut store, "walk").unwrap();
        let seen = instance.get_typed_func::<(), i32>(&mut store, "seen").unwrap();
        assert_eq!(walk.call(&mut store, ()).unwrap(), 200);
        assert_eq!(seen.call(&mut store, ()).unwrap(), 192, "$p's value at the last call was in its slot");
    }

    #[test]
    fn a_local_set_before_a_loop_that_calls_on_every_turn_is_stored_once_at_its_write() {
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (global $object i32 (i32.const 1234))
                ;; $p has the second slot, after the parameter $n.
                (func $observe (global.set $seen (i32.load offset=4 (global.get $__stack_pointer))))
                (func (export "repeat") (param $n i32) (result i32) (local $p i32)
                    (local.set $p (global.get $object))
                    (loop $again
                        (call $observe)
                        (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
                    (local.get $p))
                (func (export "seen") (result i32) (global.get $seen)))"#,
        );
        // $p after its one write; $n, written on every turn like the call,
        // before the call.
        assert_eq!(stats, SpillStats { functions: 1, slots: 2, stores: 2 });
        let (result, seen) = call_and_seen(&bytes, "repeat", 3);
        assert_eq!(result, 1234);
        assert_eq!(seen, 1234, "$p was in its slot");
    }

    #[test]
    fn a_local_read_only_by_a_catch_handler_is_stored_before_calls_that_may_throw() {
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (tag $e (param i32))
                (func $throw_observing (param i32)
                    (global.set $seen (i32.load (global.get $__stack_pointer)))
                    (throw $e (local.get 0)))
                (func (export "catching") (param $v i32) (result i32) (local $q i32)
                    (local.set $q (i32.mul (local.get $v) (i32.const 2)))
                    try (result i32)
                        (call $throw_observing (i32.const 7))
                        (i32.const 0)
                    catch $e
                        drop
                        local.get $q
                    end)
                (func (export "seen") (result i32) (global.get $seen)))"#,
        );
        // $v is dead after the call; $q is live only on the exception path.
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
        let (result, seen) = call_and_seen(&bytes, "catching", 21);
        assert_eq!(result, 42);
        assert_eq!(seen, 42, "$q was in its slot when the exception left the call");
    }

    #[test]
    fn calls_that_cannot_reach_the_collector_need_no_stores() {
        let (_, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (func $gc_collect_root)
                (func $alloc (result i32) (call $gc_collect_root) (i32.const 16))
                (func $pure (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
                (func (export "no_frame") (param $p i32) (result i32)
                    (i32.add (call $pure (local.get $p)) (local.get $p)))
                (func (export "frame") (param $p i32) (result i32)
                    (i32.add (call $alloc) (local.get $p))))"#,
        );
        // Only `frame` stores: $p, live across `alloc`; `alloc` keeps
        // nothing across its call and has no arguments.
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
    }

    /// Values that cannot be the reference keeping an object alive get no
    /// slot: a counter started from a constant, a comparison result, a
    /// byte loaded from memory, a value masked below the heap. A pointer
    /// loaded from memory, and a value computed from it, do.
    #[test]
    fn values_that_cannot_be_pointers_are_not_stored() {
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (func $gc_collect_root (global.set $seen (i32.load (global.get $__stack_pointer))))
                (func (export "scan") (result i32)
                    (local $count i32) (local $flag i32) (local $byte i32) (local $tag i32) (local $object i32)
                    (local.set $object (i32.add (i32.load (i32.const 8)) (i32.const 0)))
                    (local.set $flag (i32.lt_u (local.get $object) (i32.const 64)))
                    (local.set $byte (i32.load8_u (local.get $object)))
                    (local.set $tag (i32.and (local.get $object) (i32.const 3)))
                    (loop $again
                        (call $gc_collect_root)
                        (local.set $count (i32.add (local.get $count) (i32.const 1)))
                        (br_if $again (i32.lt_u (local.get $count) (i32.const 3))))
                    (i32.add
                        (i32.add (local.get $count) (local.get $flag))
                        (i32.add (i32.add (local.get $byte) (local.get $tag)) (local.get $object))))
                (func (export "seen") (result i32) (global.get $seen)))"#,
        );
        // $object alone, stored once at its write; 16 waits on the stack
        // across no call.
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
        let (mut store, instance) = instantiate(&bytes);
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        memory.write(&mut store, 8, &1000i32.to_le_bytes()).unwrap();
        memory.write(&mut store, 1000, &[7]).unwrap();
        let scan = instance.get_typed_func::<(), i32>(&mut store, "scan").unwrap();
        let seen = instance.get_typed_func::<(), i32>(&mut store, "seen").unwrap();
        // $count 3, $flag 0, $byte 7, $tag 0, $object 1000.
        assert_eq!(scan.call(&mut store, ()).unwrap(), 1010);
        assert_eq!(seen.call(&mut store, ()).unwrap(), 1000, "$object was in its slot");
    }

    /// A function that keeps only a pointer derived from its argument across
    /// a collection (`&self->mpz`) stores that pointer, not the dead
    /// argument: the port's root scan takes a pointer into a block as a
    /// reference to it (ports/wasm/gccollect.c).
    #[test]
    fn a_pointer_into_an_argument_is_stored_while_the_argument_is_dead() {
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (func $gc_collect_root)
                ;; The caller's one slot: $field, live across this call.
                (func $alloc (call $gc_collect_root)
                    (global.set $seen (i32.load (global.get $__stack_pointer))))
                (func (export "format") (param $self i32) (result i32) (local $field i32)
                    (local.set $field (i32.add (local.get $self) (i32.const 4)))
                    (call $alloc)
                    (local.get $field))
                (func (export "seen") (result i32) (global.get $seen)))"#,
        );
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
        let (result, seen) = call_and_seen(&bytes, "format", 1000);
        assert_eq!(result, 1004);
        assert_eq!(seen, 1004, "the pointer into the object was in the frame");
    }

    /// A function clang gave a frame keeps its slots on top of that frame:
    /// the prologue and every return move the stack pointer by both, and
    /// no second frame is set up.
    #[test]
    fn slots_go_on_top_of_clangs_frame() {
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (global $object i32 (i32.const 1234))
                ;; Reads the first word above clang's 16 bytes.
                (func $gc_collect_root (global.set $seen (i32.load offset=16 (global.get $__stack_pointer))))
                (func (export "framed") (param $key i32) (result i32) (local $fp i32) (local $copy i32) (local $x i32)
                    global.get $__stack_pointer
                    i32.const 16
                    i32.sub
                    local.tee $fp
                    local.set $copy
                    local.get $fp
                    global.set $__stack_pointer
                    (i32.store (local.get $fp) (local.get $key))
                    (local.set $x (global.get $object))
                    (if (i32.eqz (local.get $key)) (then
                        (global.set $__stack_pointer (i32.add (local.get $copy) (i32.const 16)))
                        (return (i32.const -1))))
                    (call $gc_collect_root)
                    (global.set $__stack_pointer (i32.add (local.get $fp) (i32.const 16)))
                    (i32.add (local.get $x) (i32.load (local.get $fp))))
                (func (export "seen") (result i32) (global.get $seen))
                (func (export "sp") (result i32) (global.get $__stack_pointer)))"#,
        );
        assert_eq!(stats, SpillStats { functions: 1, slots: 1, stores: 1 });
        let module = Module::from_buffer(&bytes).unwrap();
        let export = module.exports.iter().find(|export| export.name == "framed").unwrap();
        let walrus::ExportItem::Function(framed) = export.item else { panic!("framed is a function") };
        let FunctionKind::Local(framed) = &module.funcs.get(framed).kind else { panic!("framed is defined") };
        let stack_pointer_writes: usize = sequences_of(framed)
            .into_iter()
            .map(|seq| {
                framed.block(seq).instrs.iter().filter(|(instr, _)| matches!(instr, Instr::GlobalSet(_))).count()
            })
            .sum();
        assert_eq!(stack_pointer_writes, 3, "clang's prologue and two returns, no frame of the pass's own");
        let (mut store, instance) = instantiate(&bytes);
        let function = instance.get_typed_func::<i32, i32>(&mut store, "framed").unwrap();
        let seen = instance.get_typed_func::<(), i32>(&mut store, "seen").unwrap();
        let sp = instance.get_typed_func::<(), i32>(&mut store, "sp").unwrap();
        assert_eq!(function.call(&mut store, 0).unwrap(), -1);
        assert_eq!(sp.call(&mut store, ()).unwrap(), 4096, "stack restored after the early return");
        assert_eq!(function.call(&mut store, 5).unwrap(), 1239);
        assert_eq!(seen.call(&mut store, ()).unwrap(), 1234, "$x was above clang's frame during the call");
        assert_eq!(sp.call(&mut store, ()).unwrap(), 4096, "stack restored after the return");
    }

    /// A lookup's fast path returns before any collecting call: it makes no
    /// frame, the slow path makes one before its call, and both leave the
    /// stack pointer as they found it, with or without a frame of clang's.
    #[test]
    fn a_fast_path_without_collecting_calls_makes_no_frame() {
        let (bytes, _) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (global $seen (mut i32) (i32.const 0))
                (func $gc_collect_root)
                (func $alloc0 (call $gc_collect_root) (global.set $seen (i32.load (global.get $__stack_pointer))))
                (func $alloc16 (call $gc_collect_root)
                    (global.set $seen (i32.load offset=16 (global.get $__stack_pointer))))
                (func (export "lookup") (param $key i32) (result i32) (local $x i32)
                    (local.set $x (i32.mul (local.get $key) (i32.const 3)))
                    (if (i32.lt_u (local.get $key) (i32.const 10)) (then (return (local.get $x))))
                    (call $alloc0)
                    (local.get $x))
                ;; As clang frames a function: the stack pointer read once on
                ;; entry, restored from the frame on every return. $x's slot
                ;; goes on top of clang's 16 bytes ($fp, an address in the
                ;; stack, needs none).
                (func (export "framed") (param $key i32) (result i32) (local $fp i32) (local $x i32)
                    (global.set $__stack_pointer
                        (local.tee $fp (i32.sub (global.get $__stack_pointer) (i32.const 16))))
                    (local.set $x (i32.add (local.get $key) (i32.const 1)))
                    (if (i32.lt_u (local.get $key) (i32.const 10)) (then
                        (global.set $__stack_pointer (i32.add (local.get $fp) (i32.const 16)))
                        (return (local.get $x))))
                    (call $alloc16)
                    (global.set $__stack_pointer (i32.add (local.get $fp) (i32.const 16)))
                    (local.get $x))
                (func (export "seen") (result i32) (global.get $seen))
                (func (export "sp") (result i32) (global.get $__stack_pointer)))"#,
        );
        let module = Module::from_buffer(&bytes).unwrap();
        let export = module.exports.iter().find(|export| export.name == "lookup").unwrap();
        let walrus::ExportItem::Function(lookup) = export.item else { panic!("lookup is a function") };
        let FunctionKind::Local(lookup) = &module.funcs.get(lookup).kind else { panic!("lookup is defined") };
        assert!(
            !matches!(lookup.block(lookup.entry_block()).instrs[0].0, Instr::GlobalGet(_)),
            "lookup makes no frame on entry"
        );
        let (mut store, instance) = instantiate(&bytes);
        let seen = instance.get_typed_func::<(), i32>(&mut store, "seen").unwrap();
        let sp = instance.get_typed_func::<(), i32>(&mut store, "sp").unwrap();
        for (name, fast, slow) in [("lookup", (5, 15), (20, 60)), ("framed", (5, 6), (20, 21))] {
            let function = instance.get_typed_func::<i32, i32>(&mut store, name).unwrap();
            assert_eq!(function.call(&mut store, fast.0).unwrap(), fast.1);
            assert_eq!(sp.call(&mut store, ()).unwrap(), 4096, "{name}: stack restored after the fast path");
            assert_eq!(function.call(&mut store, slow.0).unwrap(), slow.1);
            assert_eq!(seen.call(&mut store, ()).unwrap(), slow.1, "{name}: the local was in its slot during the call");
            assert_eq!(sp.call(&mut store, ()).unwrap(), 4096, "{name}: stack restored after the slow path");
        }
    }
}
