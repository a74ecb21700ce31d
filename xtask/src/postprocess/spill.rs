//! Pointer spilling for the garbage collector.
//!
//! MicroPython's collector is conservative: it scans memory for anything
//! that looks like a pointer into its heap. On wasm32, C locals live in wasm
//! locals, which no code can read, so a pointer held only there (say, a list
//! being built while a key function allocates) is invisible and its object
//! may be freed while still in use.
//!
//! This pass gives every function that makes calls a frame on the shadow
//! stack (below `__stack_pointer`) with one slot per i32 local, and stores
//! the new value into the slot after every write to such a local. At any
//! call — the only place a collection can start — every pointer the caller
//! holds in a local is therefore also in linear memory between the current stack
//! pointer and the stack's top, which `gc_collect` scans. Values can also wait
//! on the operand stack while a later call runs (`f(g(), h())` keeps g's
//! result there during h), so each call returning an i32 also stores its
//! result in a slot of its own. Leaf functions are
//! left alone: nothing can collect while they run.
//!
//! Frames are popped on every `return` and at the end of the body. A longjmp
//! (wasm exception) skips those pops; the catching function's own code then
//! resets `__stack_pointer` to its frame (clang emits that in every catch),
//! which lies below the frame this pass gave it, so the stack stays sound.

use anyhow::{bail, Result};
use walrus::ir::{
    BinaryOp, Binop, Block, Call, CallIndirect, Const, GlobalGet, GlobalSet, IfElse, Instr, InstrLocId, InstrSeqId,
    LegacyCatch, LocalGet, LocalSet, LocalTee, Loop, MemArg, Return, Store, StoreKind, Try, TryTable, Value,
};
use walrus::{
    FunctionId, FunctionKind, GlobalId, GlobalKind, LocalFunction, LocalId, MemoryId, Module, TypeId, ValType,
};

/// What the pass did, for the build log and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpillStats {
    pub functions: usize,
    pub slots: usize,
}

pub fn spill_pointers(module: &mut Module) -> Result<SpillStats> {
    let stack_pointer = find_stack_pointer(module)?;
    let Some(memory) = module.memories.iter().next().map(|memory| memory.id()) else {
        bail!("the module has no memory to spill pointers into");
    };
    // Which calls produce a single i32 (a possible pointer) on the stack.
    let returns_i32 = |results: &[ValType]| results == [ValType::I32];
    let i32_functions: std::collections::HashSet<FunctionId> = module
        .funcs
        .iter()
        .filter(|function| returns_i32(module.types.get(function.ty()).results()))
        .map(|function| function.id())
        .collect();
    let i32_types: std::collections::HashSet<TypeId> =
        module.types.iter().filter(|ty| returns_i32(ty.results())).map(|ty| ty.id()).collect();
    let Module { funcs, locals, .. } = module;
    let mut stats = SpillStats::default();
    for function in funcs.iter_mut() {
        let FunctionKind::Local(func) = &mut function.kind else { continue };
        let sequences = sequences_of(func);
        if !makes_calls(func, &sequences) {
            continue;
        }
        let mut slots: Vec<LocalId> =
            func.args.iter().copied().filter(|arg| locals.get(*arg).ty() == ValType::I32).collect();
        for seq in &sequences {
            for (instr, _) in &func.block(*seq).instrs {
                if let Instr::LocalSet(LocalSet { local }) | Instr::LocalTee(LocalTee { local }) = instr {
                    if locals.get(*local).ty() == ValType::I32 && !slots.contains(local) {
                        slots.push(*local);
                    }
                }
            }
        }
        let produces_i32 = |instr: &Instr| match instr {
            Instr::Call(Call { func }) => i32_functions.contains(func),
            Instr::CallIndirect(CallIndirect { ty, .. }) => i32_types.contains(ty),
            _ => false,
        };
        let result_sites = sequences
            .iter()
            .map(|seq| func.block(*seq).instrs.iter().filter(|(instr, _)| produces_i32(instr)).count())
            .sum::<usize>();
        if slots.is_empty() && result_sites == 0 {
            continue;
        }
        let frame = locals.add(ValType::I32);
        let scratch = locals.add(ValType::I32);
        let slot_count = slots.len() + result_sites;
        // Keep the shadow stack 16-byte aligned, as clang's frames expect.
        let frame_size = (slot_count as i32 * 4 + 15) & !15;
        let spill = Spill { frame, scratch, frame_size, stack_pointer, memory, slots: &slots };
        let mut next_result_slot = slots.len();
        for seq in &sequences {
            let instrs = std::mem::take(&mut func.block_mut(*seq).instrs);
            func.block_mut(*seq).instrs = spill.rewrite(instrs, &produces_i32, &mut next_result_slot);
        }
        let entry = func.entry_block();
        let body = std::mem::take(&mut func.block_mut(entry).instrs);
        let mut instrs = spill.prologue(&func.args);
        instrs.extend(body);
        instrs.extend(spill.epilogue());
        func.block_mut(entry).instrs = instrs;
        stats.functions += 1;
        stats.slots += slot_count;
    }
    Ok(stats)
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

/// Every instruction sequence of the function, entry first.
fn sequences_of(func: &LocalFunction) -> Vec<InstrSeqId> {
    let mut found = vec![func.entry_block()];
    let mut index = 0;
    while index < found.len() {
        for (instr, _) in &func.block(found[index]).instrs {
            match instr {
                Instr::Block(Block { seq }) | Instr::Loop(Loop { seq }) | Instr::TryTable(TryTable { seq, .. }) => {
                    found.push(*seq)
                }
                Instr::IfElse(IfElse { consequent, alternative }) => found.extend([*consequent, *alternative]),
                Instr::Try(Try { seq, catches }) => {
                    found.push(*seq);
                    found.extend(catches.iter().filter_map(|catch| match catch {
                        LegacyCatch::Catch { handler, .. } | LegacyCatch::CatchAll { handler } => Some(*handler),
                        LegacyCatch::Delegate { .. } => None,
                    }));
                }
                _ => {}
            }
        }
        index += 1;
    }
    found
}

fn makes_calls(func: &LocalFunction, sequences: &[InstrSeqId]) -> bool {
    sequences.iter().any(|seq| {
        func.block(*seq).instrs.iter().any(|(instr, _)| {
            matches!(
                instr,
                Instr::Call(_)
                    | Instr::CallIndirect(_)
                    | Instr::CallRef(_)
                    | Instr::ReturnCall(_)
                    | Instr::ReturnCallIndirect(_)
                    | Instr::ReturnCallRef(_)
            )
        })
    })
}

struct Spill<'a> {
    frame: LocalId,
    /// Holds a call's result while it is copied to the frame.
    scratch: LocalId,
    frame_size: i32,
    stack_pointer: GlobalId,
    memory: MemoryId,
    slots: &'a [LocalId],
}

type Instrs = Vec<(Instr, InstrLocId)>;

fn at(instr: Instr) -> (Instr, InstrLocId) {
    (instr, InstrLocId::default())
}

impl Spill<'_> {
    fn store(&self, local: LocalId, out: &mut Instrs) {
        if let Some(slot) = self.slots.iter().position(|slot| *slot == local) {
            self.store_in_slot(local, slot, out);
        }
    }

    fn store_in_slot(&self, local: LocalId, slot: usize, out: &mut Instrs) {
        out.push(at(Instr::LocalGet(LocalGet { local: self.frame })));
        out.push(at(Instr::LocalGet(LocalGet { local })));
        out.push(at(Instr::Store(Store {
            memory: self.memory,
            kind: StoreKind::I32 { atomic: false },
            arg: MemArg { align: 4, offset: slot as u64 * 4 },
        })));
    }

    /// frame = SP - size; SP = frame; then the arguments into their slots.
    fn prologue(&self, args: &[LocalId]) -> Instrs {
        let mut out = vec![
            at(Instr::GlobalGet(GlobalGet { global: self.stack_pointer })),
            at(Instr::Const(Const { value: Value::I32(self.frame_size) })),
            at(Instr::Binop(Binop { op: BinaryOp::I32Sub })),
            at(Instr::LocalTee(LocalTee { local: self.frame })),
            at(Instr::GlobalSet(GlobalSet { global: self.stack_pointer })),
        ];
        for arg in args {
            self.store(*arg, &mut out);
        }
        out
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

    fn rewrite(&self, instrs: Instrs, produces_i32: &dyn Fn(&Instr) -> bool, next_result_slot: &mut usize) -> Instrs {
        let mut out = Vec::with_capacity(instrs.len());
        for (instr, location) in instrs {
            match instr {
                ref call if produces_i32(call) => {
                    // result → scratch → its slot, and back on the stack.
                    out.push((instr, location));
                    out.push(at(Instr::LocalTee(LocalTee { local: self.scratch })));
                    self.store_in_slot(self.scratch, *next_result_slot, &mut out);
                    *next_result_slot += 1;
                }
                Instr::LocalSet(LocalSet { local }) => {
                    out.push((instr, location));
                    self.store(local, &mut out);
                }
                Instr::LocalTee(LocalTee { local }) => {
                    // The tee'd value stays on the stack under the store's
                    // own two operands.
                    out.push((instr, location));
                    self.store(local, &mut out);
                }
                Instr::Return(Return {}) => {
                    out.extend(self.epilogue());
                    out.push((instr, location));
                }
                Instr::ReturnCall(_) | Instr::ReturnCallIndirect(_) | Instr::ReturnCallRef(_) => {
                    // A tail call would run the callee in this frame's
                    // place; pop the frame first like a return.
                    out.extend(self.epilogue());
                    out.push((instr, location));
                }
                _ => out.push((instr, location)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spilled(wat: &str) -> (Vec<u8>, SpillStats) {
        let mut module = Module::from_buffer(&wat::parse_str(wat).unwrap()).unwrap();
        let stats = spill_pointers(&mut module).unwrap();
        let bytes = module.emit_wasm();
        wasmparser::Validator::new().validate_all(&bytes).expect("the spilled module validates");
        (bytes, stats)
    }

    const MODULE: &str = r#"(module
        (memory (export "memory") 1)
        (global $__stack_pointer (mut i32) (i32.const 4096))
        (global $seen (mut i32) (i32.const 0))
        (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
        ;; Reads the caller's second slot ($x) while the caller is suspended
        ;; in this call, as a collection scanning from the stack pointer would.
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
    fn only_functions_that_call_get_frames() {
        let (_, stats) = spilled(MODULE);
        // `caller` spills $p, $x and the results of its two calls; `leaf`,
        // `observe` and the getters make no calls.
        assert_eq!(stats, SpillStats { functions: 1, slots: 4 });
    }

    #[test]
    fn locals_are_visible_in_memory_during_calls_and_the_stack_is_balanced() {
        let (bytes, _) = spilled(MODULE);
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, &bytes).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
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
        // while observe runs; its slot is the first after the (no) locals.
        let (bytes, stats) = spilled(
            r#"(module
                (memory (export "memory") 1)
                (global $__stack_pointer (mut i32) (i32.const 4096))
                (func $make (result i32) (i32.const 1234))
                (func $observe (result i32) (i32.load (global.get $__stack_pointer)))
                (func $pair (param i32 i32) (result i32) (local.get 1))
                (func (export "run") (result i32) (call $pair (call $make) (call $observe))))"#,
        );
        assert_eq!(stats, SpillStats { functions: 1, slots: 3 });
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, &bytes).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 1234, "make's result was in the frame while observe ran");
    }
}
