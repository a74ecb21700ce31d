;; Block types of `try`: results through a type index, and parameters, which
;; the translation threads through the blocks it adds instead of spilling.
;; Lines starting with `;; expect` are checked by xtask/src/postprocess/exnref.rs.
(module
  (type $two (func (result i32 i64)))
  (type $take-give (func (param i32 i64) (result i64 i32)))
  (tag $int (param i32))
  (tag $wide (param i64))

  (func $throw-if-odd (param i32)
    local.get 0
    i32.const 1
    i32.and
    if
      local.get 0
      throw $int
    end)

  ;; Multi-value result through a type index; each handler produces both.
  ;; expect multi 4 -> 400
  ;; expect multi 5 -> 1005
  (func (export "multi") (param $x i32) (result i32)
    try (type $two)
      local.get $x
      call $throw-if-odd
      local.get $x
      i64.const 100
    catch $int
      i64.const 1000
    end
    i32.wrap_i64
    ;; i32 on top: multiply or add, folded into one number
    local.get $x
    i32.const 1
    i32.and
    if (param i32 i32) (result i32)
      i32.add
    else
      i32.mul
    end)

  ;; Parameters and results both: the operands are on the stack before the try.
  ;; expect params 2 -> 64
  ;; expect params 3 -> 3003
  (func (export "params") (param $x i32) (result i32)
    (local $hi i64)
    local.get $x
    i64.const 60
    try (type $take-give)
      ;; (x, 60) -> (x + 60, x), with a throw on odd x in between
      local.set $hi
      i64.extend_i32_u
      local.get $hi
      i64.add
      local.get $x
      call $throw-if-odd
      local.get $x
    catch $int
      i64.extend_i32_u
      i64.const 3000
      i64.add
      i32.const 0
    end
    local.set $x
    i32.wrap_i64
    local.get $x
    i32.add)

  ;; A parameter-only try whose handler has a wide payload and no result.
  ;; expect sink 7 -> 7
  ;; expect sink -1 -> 42
  (global $sunk (mut i32) (i32.const 0))
  (func (export "sink") (param $x i32) (result i32)
    local.get $x
    try (param i32)
      local.tee $x
      i32.const 0
      i32.lt_s
      if
        i64.const 42
        throw $wide
      end
      local.get $x
      global.set $sunk
    catch $wide
      i32.wrap_i64
      global.set $sunk
    end
    global.get $sunk)

  ;; A try with no clause at all is just a block.
  ;; expect clauseless 9 -> 9
  (func (export "clauseless") (param i32) (result i32)
    try (result i32)
      local.get 0
    end)
)
