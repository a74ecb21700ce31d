//! Which i32 values may hold a pointer into the collector's heap.
//!
//! A value needs a slot during a collecting call only if it may be the one
//! reference that keeps an object alive. Such a reference comes, whole,
//! from where pointers come from: an aligned i32 load, an argument, a call's
//! result, a global, or arithmetic on one of these. Values of another
//! origin cannot be one: constants (heap addresses are only known at run
//! time), comparison results, sub-word loads (MicroPython keeps every object
//! pointer in a whole aligned word, the only place its collector looks for
//! one), small values masked out of anything (`x & 3`, under the heap's
//! lowest address), and addresses on the shadow stack (the stack pointer
//! and what is computed from it: clang's frames, a local's address).
//! Locals written only with such values need no slot, and neither do they
//! while waiting on the operand stack.

use std::collections::HashSet;

use walrus::ir::{
    BinaryOp, Binop, Const, GlobalGet, Instr, Load, LoadKind, LocalGet, LocalTee, Select, UnaryOp, Unop, Value,
};
use walrus::{GlobalId, LocalId};

/// Where the collector's heap is not.
pub(super) struct NotHeap {
    /// An address below which the heap never lies.
    pub floor: u32,
    /// The shadow stack's pointer, which lies in the stack, apart from the
    /// heap.
    pub stack_pointer: GlobalId,
}

/// What is known of one i32 on the operand stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Origin {
    /// Whether it may be (or be derived from) a heap pointer.
    pub pointer: bool,
    /// Its value, when it is a constant.
    pub constant: Option<i32>,
}

impl Origin {
    pub const UNKNOWN: Origin = Origin { pointer: true, constant: None };
    const SCALAR: Origin = Origin { pointer: false, constant: None };
}

/// The origin of the one value `instr` pushes, from the operands it pops
/// (`popped`, bottom first). `pointer_locals` are the locals that may hold
/// a pointer; `heap` says where the heap is not.
pub(super) fn result_origin(
    instr: &Instr,
    popped: &[Origin],
    pointer_locals: &HashSet<LocalId>,
    heap: &NotHeap,
) -> Origin {
    let any_pointer = popped.iter().any(|operand| operand.pointer);
    let below_heap = |operand: &Origin| operand.constant.is_some_and(|value| (value as u32) < heap.floor);
    match instr {
        Instr::Const(Const { value: Value::I32(value) }) => Origin { pointer: false, constant: Some(*value) },
        Instr::LocalGet(LocalGet { local }) => Origin { pointer: pointer_locals.contains(local), constant: None },
        Instr::GlobalGet(GlobalGet { global }) if *global == heap.stack_pointer => Origin::SCALAR,
        Instr::LocalTee(LocalTee { .. }) => popped.first().copied().unwrap_or(Origin::UNKNOWN),
        Instr::Load(Load { kind: LoadKind::I32_8 { .. } | LoadKind::I32_16 { .. }, .. }) => Origin::SCALAR,
        Instr::Binop(Binop { op }) if is_comparison(op) => Origin::SCALAR,
        // A mask or a remainder under the heap's lowest address.
        Instr::Binop(Binop { op: BinaryOp::I32And }) if popped.iter().any(below_heap) => Origin::SCALAR,
        Instr::Binop(Binop { op: BinaryOp::I32RemU }) if popped.get(1).is_some_and(below_heap) => Origin::SCALAR,
        Instr::Binop(Binop { op }) if is_i32_arithmetic(op) => Origin { pointer: any_pointer, constant: None },
        Instr::Unop(Unop {
            op:
                UnaryOp::I32Eqz
                | UnaryOp::I64Eqz
                | UnaryOp::I32Clz
                | UnaryOp::I32Ctz
                | UnaryOp::I32Popcnt
                | UnaryOp::I32Extend8S
                | UnaryOp::I32Extend16S
                | UnaryOp::I32TruncSF32
                | UnaryOp::I32TruncUF32
                | UnaryOp::I32TruncSF64
                | UnaryOp::I32TruncUF64
                | UnaryOp::I32TruncSSatF32
                | UnaryOp::I32TruncUSatF32
                | UnaryOp::I32TruncSSatF64
                | UnaryOp::I32TruncUSatF64,
        }) => Origin::SCALAR,
        // A pointer may travel in an i64 (`uintptr_t` widened) or in a
        // float's bits.
        Instr::Unop(_) => Origin::UNKNOWN,
        Instr::Select(Select { .. }) => {
            Origin { pointer: popped.iter().take(2).any(|operand| operand.pointer), constant: None }
        }
        Instr::MemorySize(_) | Instr::MemoryGrow(_) => Origin::SCALAR,
        // Calls, blocks' results, globals, full-word loads.
        _ => Origin::UNKNOWN,
    }
}

fn is_comparison(op: &BinaryOp) -> bool {
    use BinaryOp::*;
    matches!(
        op,
        I32Eq
            | I32Ne
            | I32LtS
            | I32LtU
            | I32GtS
            | I32GtU
            | I32LeS
            | I32LeU
            | I32GeS
            | I32GeU
            | I64Eq
            | I64Ne
            | I64LtS
            | I64LtU
            | I64GtS
            | I64GtU
            | I64LeS
            | I64LeU
            | I64GeS
            | I64GeU
            | F32Eq
            | F32Ne
            | F32Lt
            | F32Gt
            | F32Le
            | F32Ge
            | F64Eq
            | F64Ne
            | F64Lt
            | F64Gt
            | F64Le
            | F64Ge
    )
}

fn is_i32_arithmetic(op: &BinaryOp) -> bool {
    use BinaryOp::*;
    matches!(
        op,
        I32Add
            | I32Sub
            | I32Mul
            | I32DivS
            | I32DivU
            | I32RemS
            | I32RemU
            | I32And
            | I32Or
            | I32Xor
            | I32Shl
            | I32ShrS
            | I32ShrU
            | I32Rotl
            | I32Rotr
    )
}
