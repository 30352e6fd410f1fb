{
  "targets": [
    {
      "target_name": "floe_native",
      "sources": ["json_tensor.cc"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
