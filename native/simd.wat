;; The vector passes over a model's weights, in WebAssembly SIMD, for the wasm engine
;; (src/linalg/engines/simd.ts loads this module).
;;
;;   axpy:       y[i] += alpha·x[i]                       the SGD step
;;   axpySumSq:  y[i] += alpha·x[i], and return Σ x[i]²    the L2 term: dW += 2·reg·W and reg·ΣW²
;;
;; Each element gets exactly the arithmetic of the JS loops in blas1.ts: x[i] and y[i] widened to
;; float64, y + alpha·x in float64, one rounding back to float32. So the results are the JS loops'
;; bit for bit, four elements at a time (two float64 lanes each half). Σx² is added in float64 on
;; four running sums (one per position in a group of four), joined at the end.
;;
;; Widening lanes 2, 3 takes a shuffle that moves them to lanes 0, 1 first (i8x16.shuffle 8..15 0..7);
;; the two float32x2 halves of a result are joined by another (0..7 16..23). The steps are written
;; out in each function rather than called: V8 does not inline wasm calls, and a call per four
;; elements costs twice the time.
;;
;; x and y are byte offsets into the imported memory; n is the element count. simd.ts keeps both
;; arrays of a call in one memory.
;;
;; After an edit, npm run build:simd writes the module into src/linalg/engines/simd_module.ts
;; (a test checks that it matches this file).
(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "axpy") (param $alpha f64) (param $x i32) (param $y i32) (param $n i32)
    (local $a v128) (local $vx v128) (local $vy v128) (local $end i32) (local $end4 i32)
    (local.set $a (f64x2.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    ;; four at a time
    (block $done (loop $four
      (br_if $done (i32.ge_u (local.get $y) (local.get $end4)))
      (local.set $vx (v128.load (local.get $x)))
      (local.set $vy (v128.load (local.get $y)))
      (v128.store (local.get $y)
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 ;; [lo0 lo1 hi0 hi1]
          (f32x4.demote_f64x2_zero                               ;; elements 0, 1
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $vy))
                       (f64x2.mul (local.get $a) (f64x2.promote_low_f32x4 (local.get $vx)))))
          (f32x4.demote_f64x2_zero                               ;; elements 2, 3
            (f64x2.add (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vy) (local.get $vy)))
                       (f64x2.mul (local.get $a) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vx) (local.get $vx))))))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $four)))
    ;; the last n mod 4, one at a time
    (block $rest (loop $one
      (br_if $rest (i32.ge_u (local.get $y) (local.get $end)))
      (f32.store (local.get $y)
        (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (local.get $y)))
                                 (f64.mul (local.get $alpha) (f64.promote_f32 (f32.load (local.get $x)))))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br $one))))

  (func (export "axpySumSq") (param $alpha f64) (param $x i32) (param $y i32) (param $n i32) (result f64)
    (local $a v128) (local $vx v128) (local $vy v128) (local $end i32) (local $end4 i32)
    (local $x01 v128) (local $x23 v128) (local $s01 v128) (local $s23 v128) (local $s f64) (local $v f64)
    (local.set $a (f64x2.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $four
      (br_if $done (i32.ge_u (local.get $y) (local.get $end4)))
      (local.set $vx (v128.load (local.get $x)))
      (local.set $vy (v128.load (local.get $y)))
      (local.set $x01 (f64x2.promote_low_f32x4 (local.get $vx)))
      (local.set $x23 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vx) (local.get $vx))))
      (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x01) (local.get $x01))))
      (local.set $s23 (f64x2.add (local.get $s23) (f64x2.mul (local.get $x23) (local.get $x23))))
      (v128.store (local.get $y)
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $vy)) (f64x2.mul (local.get $a) (local.get $x01))))
          (f32x4.demote_f64x2_zero
            (f64x2.add (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vy) (local.get $vy)))
                       (f64x2.mul (local.get $a) (local.get $x23))))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $four)))
    ;; s = (s0 + s2) + (s1 + s3)
    (local.set $s01 (f64x2.add (local.get $s01) (local.get $s23)))
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $s01)) (f64x2.extract_lane 1 (local.get $s01))))
    (block $rest (loop $one
      (br_if $rest (i32.ge_u (local.get $y) (local.get $end)))
      (local.set $v (f64.promote_f32 (f32.load (local.get $x))))
      (local.set $s (f64.add (local.get $s) (f64.mul (local.get $v) (local.get $v))))
      (f32.store (local.get $y)
        (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (local.get $y))) (f64.mul (local.get $alpha) (local.get $v)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br $one)))
    (local.get $s))
)
