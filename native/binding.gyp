{
  "targets": [
    {
      "target_name": "tsnn_blas",
      "sources": ["tsnn_blas.c"],
      "cflags": ["-O3", "-fno-math-errno"],
      "conditions": [
        ["OS=='mac'", { "libraries": ["-framework Accelerate"] }],
        ["OS!='mac'", { "libraries": ["-lopenblas"], "cflags": ["-march=native"] }]
      ]
    }
  ]
}
