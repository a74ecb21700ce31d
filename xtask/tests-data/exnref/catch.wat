;; Tagged and catch-all clauses: which clause wins, and what payload it sees.
;; Lines starting with `;; expect` are checked by the tests in
;; xtask/src/postprocess/exnref.rs against both engines.
(module
  (tag $none)
  (tag $int (param i32))
  (tag $pair (param i64 i32))
  (tag $unhandled (param i32))

  ;; 0: return normally, 1: $none, 2: $int, 3: $pair, 4: $unhandled
  (func $raise (param $which i32)
    block $pair
      block $int
        block $none
          block $ok
            local.get $which
            br_table $ok $none $int $pair 4
          end
          return
        end
        throw $none
      end
      i32.const 20
      throw $int
    end
    i64.const 30
    i32.const 3
    throw $pair)

  (func $throw-unhandled
    i32.const 99
    throw $unhandled)

  ;; expect clauses 0 -> 100
  ;; expect clauses 1 -> 1
  ;; expect clauses 2 -> 21
  ;; expect clauses 3 -> 33
  ;; expect clauses 4 -> 4
  (func (export "clauses") (param $which i32) (result i32)
    (local $low i32)
    try (result i32)
      local.get $which
      i32.const 4
      i32.eq
      if
        call $throw-unhandled
      end
      local.get $which
      call $raise
      i32.const 100
    catch $none
      i32.const 1
    catch $int
      i32.const 1
      i32.add
    catch $pair
      local.set $low
      i32.wrap_i64
      local.get $low
      i32.add
    catch_all
      i32.const 4
    end)

  ;; Without catch_all an unmatched tag leaves the function.
  ;; expect only-int 2 -> 20
  ;; expect only-int 1 -> throw
  ;; expect only-int 0 -> 7
  (func (export "only-int") (param $which i32) (result i32)
    try (result i32)
      local.get $which
      call $raise
      i32.const 7
    catch $int
    end)

  ;; A handler may fall off with the payload dropped and the try empty-typed;
  ;; the global records which path ran.
  (global $trace (mut i32) (i32.const 0))
  ;; expect void-try 0 -> 1
  ;; expect void-try 3 -> 35
  (func (export "void-try") (param $which i32) (result i32)
    i32.const 0
    global.set $trace
    try
      local.get $which
      call $raise
      i32.const 1
      global.set $trace
    catch $pair
      global.set $trace
      i32.wrap_i64
      global.get $trace
      i32.add
      i32.const 2
      i32.add
      global.set $trace
    end
    global.get $trace)

  ;; A tag thrown directly in the try body, not from a callee.
  ;; expect local-throw 5 -> 15
  (func (export "local-throw") (param i32) (result i32)
    try (result i32)
      local.get 0
      throw $int
    catch $int
      i32.const 10
      i32.add
    end)
)
