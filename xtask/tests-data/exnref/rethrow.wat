;; `rethrow` to its own handler and to enclosing handlers by depth; the
;; translation keeps each handler's exception in its own exnref local.
;; Lines starting with `;; expect` are checked by xtask/src/postprocess/exnref.rs.
(module
  (tag $a (param i32))
  (tag $b (param i32))

  ;; Tells what reached the caller: 100 + payload of $a, 200 + payload of $b.
  (func $observe (param $scenario i32) (result i32)
    try (result i32)
      local.get $scenario
      call_indirect (type $scenario)
    catch $a
      i32.const 100
      i32.add
    catch $b
      i32.const 200
      i32.add
    end)
  (type $scenario (func (result i32)))
  (table funcref (elem $own $catch-all $outer $through-blocks $caught-inside $after-inner $in-loop))

  ;; expect observe 0 -> 101
  (func $own (result i32)
    try (result i32)
      i32.const 1
      throw $a
    catch $a
      drop
      rethrow 0
    end)

  ;; expect observe 1 -> 202
  (func $catch-all (result i32)
    try (result i32)
      i32.const 2
      throw $b
    catch_all
      rethrow 0
    end)

  ;; From a nested handler, `rethrow 1` names the outer handler's exception.
  ;; expect observe 2 -> 103
  (func $outer (result i32)
    try (result i32)
      i32.const 3
      throw $a
    catch $a
      drop
      try (result i32)
        i32.const 4
        throw $b
      catch $b
        drop
        rethrow 1
      end
    end)

  ;; Blocks between the rethrow and its handler count as labels too.
  ;; expect observe 3 -> 205
  (func $through-blocks (result i32)
    try (result i32)
      i32.const 5
      throw $b
    catch $b
      drop
      block
        loop
          rethrow 2
        end
      end
      i32.const 0
    end)

  ;; A rethrow inside a nested try body is caught by that try.
  ;; expect observe 4 -> 56
  (func $caught-inside (result i32)
    try (result i32)
      i32.const 6
      throw $a
    catch $a
      try (param i32) (result i32)
        drop
        rethrow 1
      catch $a
        i32.const 50
        i32.add
      end
    end)

  ;; After an inner handler has run (and caught $b), `rethrow 0` still
  ;; names the outer handler's exception.
  ;; expect observe 5 -> 107
  (func $after-inner (result i32)
    try (result i32)
      i32.const 7
      throw $a
    catch $a
      drop
      try
        i32.const 8
        throw $b
      catch $b
        drop
      end
      rethrow 0
    end)

  ;; A handler entered on every iteration: each rethrow is of the exception
  ;; caught in that iteration, seen by the inner catch_all, until the third.
  ;; expect observe 6 -> 112
  (global $round (mut i32) (i32.const 0))
  (func $in-loop (result i32)
    i32.const 0
    global.set $round
    loop $again
      try
        global.get $round
        i32.const 10
        i32.add
        throw $a
      catch $a
        drop
        global.get $round
        i32.const 2
        i32.eq
        if
          rethrow 1
        end
        try
          rethrow 1
        catch_all
          global.get $round
          i32.const 1
          i32.add
          global.set $round
        end
        br $again
      end
    end
    i32.const -1)

  (func (export "observe") (param i32) (result i32)
    local.get 0
    call $observe)
)
