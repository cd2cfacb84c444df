;; A matrix product in WebAssembly SIMD, for the simd engine (src/linalg/engines/gemm.ts loads it):
;;
;;   C (M×N) = A (M×K) · B (K×N)        all float32
;;
;; The work is done 4 rows by 8 columns of C at a time (a tile), by $tile below. Its 4×8 sums are
;; eight 4-lane vectors held in locals for the whole loop over k, so each step of that loop reads
;; 8 numbers of B (two vectors) and 4 of A (each broadcast to a vector) and does 32 multiply-adds:
;;
;;   for k:  b0, b1 = B[k, j:j+4], B[k, j+4:j+8]
;;           for r in 0..3:  x = A[i+r, k] in every lane;  c[r][0] += x·b0;  c[r][1] += x·b1
;;
;; B is read from a packed copy (pack_b, pack_bt): the columns in panels 8 wide, each panel K rows
;; of 8 numbers one after the other, so the loop over k walks B contiguously. A is read through
;; strides (bytes): ars from one row to the next, aks from one k to the next, ats from one tile of
;; 4 rows to the next. A row-major A is read as it is (ars = 4K, aks = 4); Aᵀ is first packed by
;; pack_at into groups of 4 rows, k after k (ars = 4, aks = 16), which the loop over k then also
;; walks in order (read through its own strides it ran at 30 GF/s rather than 45). The sums run
;; over k in order, 0 to K−1, one rounding per add; the loop over k is cut into blocks of kc rows
;; (kept in cache), and a tile carries its sums from one block to the next through C in float32,
;; which is what it would hold in the local anyway. So every element of C gets the same arithmetic
;; wherever the tiles, blocks or threads fall.
;;
;; In this file the multiply-add is written as a multiply then an add (two roundings). Where the
;; runtime has relaxed SIMD, native/build_gemm.mjs also builds a second module in which each of
;; them is f32x4.relaxed_madd, one instruction (a fused multiply-add where the CPU has one).
;;
;; All addresses are byte offsets into this module's own memory, which gemm.ts grows as needed.
;; After an edit, npm run build:gemm writes both modules into src/linalg/engines/gemm_module.ts
;; (a test checks that they match this file).
(module
  (memory (export "memory") 1 65536)

  ;; C[i:i+4, j:j+8] = (C[i:i+4, j:j+8] if $add, else 0) + A[i:i+4, k0:k0+kn] · B[k0:k0+kn, j:j+8]
  ;; $pa: A[i, k0]; $pb: the packed panel at row k0; $pc: C[i, j]; $ldc: bytes from one row of C to the next.
  (func $tile (param $pa i32) (param $ars i32) (param $aks i32) (param $pb i32) (param $pc i32) (param $ldc i32) (param $kn i32) (param $add i32)
    (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pc1 i32) (local $pc2 i32) (local $pc3 i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $pa1 (i32.add (local.get $pa) (local.get $ars)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $ars)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $ars)))
    (local.set $pc1 (i32.add (local.get $pc) (local.get $ldc)))
    (local.set $pc2 (i32.add (local.get $pc1) (local.get $ldc)))
    (local.set $pc3 (i32.add (local.get $pc2) (local.get $ldc)))
    ;; The sums start at zero (a v128 local starts at zero) or at what C holds.
    (if (local.get $add) (then
      (local.set $c00 (v128.load (local.get $pc)))  (local.set $c01 (v128.load offset=16 (local.get $pc)))
      (local.set $c10 (v128.load (local.get $pc1))) (local.set $c11 (v128.load offset=16 (local.get $pc1)))
      (local.set $c20 (v128.load (local.get $pc2))) (local.set $c21 (v128.load offset=16 (local.get $pc2)))
      (local.set $c30 (v128.load (local.get $pc3))) (local.set $c31 (v128.load offset=16 (local.get $pc3)))))
    (loop $k
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa1)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa2)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa3)))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $pa (i32.add (local.get $pa) (local.get $aks)))
      (local.set $pa1 (i32.add (local.get $pa1) (local.get $aks)))
      (local.set $pa2 (i32.add (local.get $pa2) (local.get $aks)))
      (local.set $pa3 (i32.add (local.get $pa3) (local.get $aks)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $k (local.tee $kn (i32.sub (local.get $kn) (i32.const 1)))))
    (v128.store (local.get $pc) (local.get $c00))  (v128.store offset=16 (local.get $pc) (local.get $c01))
    (v128.store (local.get $pc1) (local.get $c10)) (v128.store offset=16 (local.get $pc1) (local.get $c11))
    (v128.store (local.get $pc2) (local.get $c20)) (v128.store offset=16 (local.get $pc2) (local.get $c21))
    (v128.store (local.get $pc3) (local.get $c30)) (v128.store offset=16 (local.get $pc3) (local.get $c31)))

  ;; C = A · B, M a multiple of 4, N of 8, K ≥ 1. A(4t + r, k) is at $a + t·$ats + r·$ars + k·$aks; $bp holds B
  ;; packed (pack_b, pack_bt); C is row-major with rows $ldc bytes apart. For each block of kc rows
  ;; of B, every tile of C in turn: the 4 rows of A stay in cache while the panels go by.
  (func (export "gemm") (param $a i32) (param $ars i32) (param $aks i32) (param $ats i32) (param $bp i32) (param $c i32) (param $ldc i32)
                        (param $M i32) (param $N i32) (param $K i32) (param $kc i32)
    (local $k0 i32) (local $kn i32) (local $i i32) (local $j i32) (local $arow i32) (local $crow i32) (local $panel i32)
    (loop $kblock
      (local.set $kn (i32.sub (local.get $K) (local.get $k0)))
      (if (i32.gt_u (local.get $kn) (local.get $kc)) (then (local.set $kn (local.get $kc))))
      (local.set $i (i32.const 0))
      (loop $rows
        (local.set $arow (i32.add (local.get $a) (i32.add (i32.mul (i32.shr_u (local.get $i) (i32.const 2)) (local.get $ats)) (i32.mul (local.get $k0) (local.get $aks)))))
        (local.set $crow (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (local.set $panel (i32.add (local.get $bp) (i32.shl (local.get $k0) (i32.const 5)))) ;; panel 0, row k0
        (local.set $j (i32.const 0))
        (loop $cols
          (call $tile (local.get $arow) (local.get $ars) (local.get $aks) (local.get $panel)
                      (i32.add (local.get $crow) (i32.shl (local.get $j) (i32.const 2))) (local.get $ldc)
                      (local.get $kn) (local.get $k0))
          (local.set $panel (i32.add (local.get $panel) (i32.shl (local.get $K) (i32.const 5)))) ;; next panel: K·8 numbers on
          (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 8))) (local.get $N))))
        (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $M))))
      (br_if $kblock (i32.lt_u (local.tee $k0 (i32.add (local.get $k0) (local.get $kn))) (local.get $K)))))

  ;; Pack Aᵀ for the kernel: $src holds S (K×M, M a multiple of 4, rows $ld bytes apart), A = Sᵀ.
  ;; At $dst, for each 4 rows of A (tile t), K groups of 4: A[4t:4t+4, 0], A[4t:4t+4, 1], …
  (func (export "pack_at") (param $src i32) (param $ld i32) (param $dst i32) (param $K i32) (param $M i32)
    (local $i i32) (local $k i32) (local $s i32)
    (loop $tiles
      (local.set $s (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $k (local.get $K))
      (loop $rows
        (v128.store (local.get $dst) (v128.load (local.get $s)))
        (local.set $s (i32.add (local.get $s) (local.get $ld)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br_if $rows (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (br_if $tiles (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $M)))))

  ;; Pack B (K×N, N a multiple of 8, rows $ld bytes apart at $src) into panels at $dst:
  ;; panel p is B[0, 8p:8p+8], B[1, 8p:8p+8], …, B[K−1, 8p:8p+8].
  (func (export "pack_b") (param $src i32) (param $ld i32) (param $dst i32) (param $K i32) (param $N i32)
    (local $j i32) (local $k i32) (local $s i32)
    (loop $panels
      (local.set $s (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $k (local.get $K))
      (loop $rows
        (v128.store (local.get $dst) (v128.load (local.get $s)))
        (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $s)))
        (local.set $s (i32.add (local.get $s) (local.get $ld)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br_if $rows (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (br_if $panels (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 8))) (local.get $N)))))

  ;; The same panels for B = Sᵀ, where $src holds S (N×K, rows $ld bytes apart): B[k, j] = S[j, k].
  (func (export "pack_bt") (param $src i32) (param $ld i32) (param $dst i32) (param $K i32) (param $N i32)
    (local $j i32) (local $k i32) (local $t i32) (local $s i32)
    (loop $panels
      (local.set $k (i32.const 0))
      (loop $rows
        (local.set $s (i32.add (i32.add (local.get $src) (i32.mul (local.get $j) (local.get $ld))) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $t (i32.const 8))
        (loop $eight ;; S[j, k], S[j+1, k], …, S[j+7, k]
          (f32.store (local.get $dst) (f32.load (local.get $s)))
          (local.set $s (i32.add (local.get $s) (local.get $ld)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
          (br_if $eight (local.tee $t (i32.sub (local.get $t) (i32.const 1)))))
        (br_if $rows (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $K))))
      (br_if $panels (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 8))) (local.get $N))))))
