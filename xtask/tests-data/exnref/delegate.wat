;; `delegate` to an enclosing try, a block, a loop, a handler and the caller,
;; with and without handlers in between to skip.
;; Lines starting with `;; expect` are checked by xtask/src/postprocess/exnref.rs.
(module
  (tag $a (param i32))
  (tag $b)

  (func $throw-a-if (param i32)
    local.get 0
    if
      local.get 0
      throw $a
    end)

  ;; Delegating to the nearest try behaves like not delegating at all.
  ;; expect direct 0 -> 1
  ;; expect direct 5 -> 105
  (func (export "direct") (param i32) (result i32)
    try $t (result i32)
      try (result i32)
        local.get 0
        call $throw-a-if
        i32.const 1
      delegate $t
    catch $a
      i32.const 100
      i32.add
    end)

  ;; The handler in between is skipped.
  ;; expect skip 0 -> 1
  ;; expect skip 6 -> 306
  (func (export "skip") (param i32) (result i32)
    try $t (result i32)
      try (result i32)
        try (result i32)
          local.get 0
          call $throw-a-if
          i32.const 1
        delegate $t
      catch $a
        i32.const 200
        i32.add
      end
    catch $a
      i32.const 300
      i32.add
    end)

  ;; A block label: the exception is thrown where the block sits, so the
  ;; try_table inside the block is skipped but the try around it catches.
  ;; expect to-block 7 -> 407
  (func (export "to-block") (param i32) (result i32)
    try (result i32)
      block $blk (result i32)
        try (result i32)
          try (result i32)
            local.get 0
            call $throw-a-if
            i32.const 1
          delegate $blk
        catch_all
          i32.const -1
        end
      end
    catch $a
      i32.const 400
      i32.add
    end)

  ;; A handler's label: the exception leaves that handler's try.
  ;; expect to-handler 8 -> 508
  (func (export "to-handler") (param i32) (result i32)
    try (result i32)
      try (result i32)
        throw $b
      catch $b
        try (result i32)
          try (result i32)
            local.get 0
            call $throw-a-if
            i32.const 1
          delegate 2
        catch_all
          i32.const -1
        end
      end
    catch $a
      i32.const 500
      i32.add
    end)

  ;; The function's own label: the exception goes to the caller.
  ;; expect caller-trivial 0 -> 1
  ;; expect caller-trivial 3 -> throw
  (func (export "caller-trivial") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw-a-if
      i32.const 1
    delegate 0)

  ;; expect caller-skipping 0 -> 1
  ;; expect caller-skipping 4 -> throw
  (func (export "caller-skipping") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        call $throw-a-if
        i32.const 1
      delegate 1
    catch_all
      i32.const -1
    end)

  ;; A loop label: `br $l` from inside the delegating try still restarts
  ;; the loop; the delegated exception skips the catch_all inside the loop.
  ;; expect to-loop 3 -> 603
  (global $count (mut i32) (i32.const 0))
  (func (export "to-loop") (param $limit i32) (result i32)
    i32.const 0
    global.set $count
    try (result i32)
      loop $l
        try
          try
            global.get $count
            i32.const 1
            i32.add
            global.set $count
            global.get $count
            local.get $limit
            i32.lt_s
            br_if $l
            global.get $count
            call $throw-a-if
          delegate $l
        catch_all
          i32.const -1
          return
        end
      end
      i32.const 0
    catch $a
      i32.const 600
      i32.add
    end)

  ;; Two delegates to one target share its landing, one of them from inside
  ;; a handler; the target takes a parameter.
  ;; expect shared 0 -> 10
  ;; expect shared 1 -> 701
  ;; expect shared 2 -> 702
  (func (export "shared") (param $x i32) (result i32)
    i32.const 10
    try $t (param i32) (result i32)
      try
        try
          local.get $x
          i32.const 1
          i32.eq
          call $throw-a-if
        delegate $t
        local.get $x
        i32.eqz
        br_if 0
        throw $b
      catch $b
        try
          try
            local.get $x
            call $throw-a-if
          delegate $t
        catch_all
          i32.const -3
          return
        end
      catch_all
        i32.const -1
        return
      end
    catch $a
      i32.const 700
      i32.add
    end)

  ;; Nested delegates: the inner one names a target beyond the outer one's.
  ;; expect nested 9 -> 809
  (func (export "nested") (param i32) (result i32)
    try $t1 (result i32)
      try $t2 (result i32)
        try (result i32)
          try (result i32)
            local.get 0
            call $throw-a-if
            i32.const 1
          delegate $t1
        delegate $t2
      catch $a
        i32.const -2
        i32.add
      end
    catch $a
      i32.const 800
      i32.add
    end)
)
