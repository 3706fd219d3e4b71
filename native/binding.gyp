{
  "targets": [
    {
      "target_name": "resnet_onednn",
      "sources": [
        "src/addon.cc",
        "src/common.cc",
        "src/conv.cc",
        "src/conv_params.cc",
        "src/conv_gemm.cc",
        "src/conv_winograd.cc",
        "src/batch_norm.cc",
        "src/pooling.cc",
        "src/eltwise.cc",
        "src/reduce.cc",
        "src/matmul.cc",
        "src/resize.cc",
        "src/in_place.cc",
        "src/bf16.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fopenmp", "-fexceptions", "-frtti"],
      "cflags": ["-O3", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
