;; Nesting: tries inside bodies and handlers, exceptions thrown by handlers,
;; and recursion, where every frame has its own try and its own exnref local.
;; Lines starting with `;; expect` are checked by xtask/src/postprocess/exnref.rs.
(module
  (tag $e (param i32))
  (tag $f (param i32))

  ;; A handler that throws is not covered by its own try, only by outer ones.
  ;; expect handler-throws 1 -> 1011
  ;; expect handler-throws 0 -> 5
  (func (export "handler-throws") (param $x i32) (result i32)
    try (result i32)
      try (result i32)
        local.get $x
        if
          local.get $x
          throw $e
        end
        i32.const 5
      catch $e
        i32.const 10
        i32.add
        throw $f
      catch $f
        drop
        i32.const -1
      end
    catch $f
      i32.const 1000
      i32.add
    end)

  ;; Three levels, the throw picks the level by tag: $e is caught innermost
  ;; only when $x is odd, else it passes through to the middle one.
  ;; expect levels 1 -> 111
  ;; expect levels 2 -> 222
  ;; expect levels 0 -> 300
  (func (export "levels") (param $x i32) (result i32)
    try (result i32)
      try (result i32)
        try (result i32)
          local.get $x
          i32.eqz
          if
            i32.const 0
            throw $f
          end
          local.get $x
          throw $e
        catch $e
          local.set $x
          local.get $x
          i32.const 1
          i32.and
          i32.eqz
          if
            local.get $x
            throw $e
          end
          local.get $x
          i32.const 110
          i32.add
        end
      catch $e
        i32.const 220
        i32.add
      end
    catch $f
      i32.const 300
      i32.add
    end)

  ;; Each recursive frame catches, adds its depth and rethrows, so the
  ;; payload seen at the top is the base value; the count of handlers
  ;; that ran is kept in a global.
  ;; expect recurse 5 -> 6007
  (global $handled (mut i32) (i32.const 0))
  (func $down (param $n i32) (result i32)
    try (result i32)
      local.get $n
      i32.eqz
      if
        i32.const 7
        throw $e
      end
      local.get $n
      i32.const 1
      i32.sub
      call $down
    catch $e
      drop
      global.get $handled
      i32.const 1
      i32.add
      global.set $handled
      rethrow 0
    end)
  (func (export "recurse") (param $n i32) (result i32)
    i32.const 0
    global.set $handled
    try (result i32)
      local.get $n
      call $down
    catch $e
      global.get $handled
      i32.const 1000
      i32.mul
      i32.add
    end)
)
