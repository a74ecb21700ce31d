;; Branches that leave try bodies and handlers for labels outside them, and
;; branches to a try's own label, which now ends a block around the handler.
;; Lines starting with `;; expect` are checked by xtask/src/postprocess/exnref.rs.
(module
  (tag $e (param i32))

  (func $throw-if (param i32)
    local.get 0
    if
      local.get 0
      throw $e
    end)

  ;; From the body and from the handler to a block around the try, with a value.
  ;; expect out-of-body 0 -> 11
  ;; expect out-of-body 1 -> 22
  ;; expect out-of-body 2 -> 3
  (func (export "out-of-body") (param $x i32) (result i32)
    block $out (result i32)
      try (result i32)
        i32.const 11
        local.get $x
        i32.eqz
        br_if $out
        drop
        local.get $x
        call $throw-if
        i32.const 0
      catch $e
        i32.const 1
        i32.eq
        if
          i32.const 22
          br $out
        end
        i32.const 3
      end
    end)

  ;; `br 0` at the top of a body or handler names the try itself.
  ;; expect own-label 0 -> 5
  ;; expect own-label 4 -> 9
  (func (export "own-label") (param $x i32) (result i32)
    try $t (result i32)
      i32.const 5
      local.get $x
      i32.eqz
      br_if $t
      drop
      local.get $x
      call $throw-if
      unreachable
    catch $e
      i32.const 5
      i32.add
      br $t
    end)

  ;; br_table in a handler choosing among the loop around the try, the try's
  ;; own label and a block further out.
  ;; expect table 0 -> 102
  ;; expect table 1 -> 101
  ;; expect table 2 -> 1001
  (func (export "table") (param $x i32) (result i32)
    (local $turns i32)
    block $done
      loop $again
        try $t
          local.get $turns
          i32.const 1
          i32.add
          local.tee $turns
          local.get $x
          i32.add
          throw $e
        catch $e
          i32.const 1
          i32.sub
          br_table $again $t $done
        end
        local.get $turns
        i32.const 100
        i32.add
        return
      end
    end
    local.get $turns
    i32.const 1000
    i32.add)

  ;; `return` from a body and from a handler.
  ;; expect returns 0 -> 40
  ;; expect returns 6 -> 46
  (func (export "returns") (param $x i32) (result i32)
    try
      local.get $x
      call $throw-if
      i32.const 40
      return
    catch $e
      i32.const 40
      i32.add
      return
    end
    i32.const -1)

  ;; A branch from inside a delegating try, crossing the try_table it becomes.
  ;; expect from-delegate 0 -> 70
  ;; expect from-delegate 8 -> 108
  (func (export "from-delegate") (param $x i32) (result i32)
    try $t (result i32)
      block $skip
        try
          try
            local.get $x
            i32.eqz
            br_if $skip
            local.get $x
            call $throw-if
          delegate $t
        catch_all
          i32.const -1
          return
        end
      end
      i32.const 70
    catch $e
      i32.const 100
      i32.add
    end)
)
