// Floe's native request decoding: a nested JSON list of numbers of a known shape, read straight
// into a Float32Array. Each number becomes exactly what JavaScript's Math.fround(Number(text))
// gives: std::from_chars reads the decimal as the nearest double (correctly rounded), and the cast
// rounds that to the nearest float32, as TensorFlow Serving's parse-then-cast does.
//
// It only ever says yes or no: on anything unexpected (a syntax error, another shape, a token that
// is not a number, a value outside the float32 range) it returns -1 and the JavaScript decoder
// (serving/decode.ts) reads the same bytes again and names the problem.
#include <node_api.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

namespace {

struct Reader {
  const uint8_t* b;
  size_t n;
  size_t p;
  float* out;
  size_t o;
  size_t out_len;
};

inline void SkipWs(Reader& r) {
  while (r.p < r.n) {
    uint8_t c = r.b[r.p];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
    r.p++;
  }
}

inline bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// One JSON number (RFC 8259 grammar) at r.p into r.out[r.o].
//
// The first 19 significant digits are gathered in an integer while the grammar is checked; one
// conversion to double and one multiplication or division by an exact power of ten then come
// within 2^-51 of the decimal's value. The float32 that rounds to is certain when the values 2^-49
// either side round to it too (rounding is monotonic, and the nearest double to the decimal lies
// between them), which is checked; only otherwise (about one number in a million, or exponents
// beyond ±22) std::from_chars reads the token to the correctly rounded double first.
bool Number(Reader& r) {
  size_t start = r.p, p = r.p;
  const uint8_t* b = r.b;
  const bool negative = p < r.n && b[p] == '-';
  if (negative) p++;
  if (p >= r.n || !IsDigit(b[p])) return false;
  uint64_t mantissa = 0;
  int digits = 0;     // significant digits gathered
  int exp10 = 0;      // decimal exponent of the gathered integer
  if (b[p] == '0') {
    p++;
    if (p < r.n && IsDigit(b[p])) return false;  // no leading zeros
  } else {
    while (p < r.n && IsDigit(b[p])) {
      if (digits < 19) {
        mantissa = mantissa * 10 + (b[p] - '0');
        digits++;
      } else {
        exp10++;  // a digit past the 19th: dropped, its place kept
      }
      p++;
    }
  }
  if (p < r.n && b[p] == '.') {
    p++;
    if (p >= r.n || !IsDigit(b[p])) return false;
    while (p < r.n && IsDigit(b[p])) {
      if (digits < 19) {
        if (mantissa != 0 || b[p] != '0') {
          mantissa = mantissa * 10 + (b[p] - '0');
          digits++;
        }
        exp10--;
      }
      p++;
    }
  }
  if (p < r.n && (b[p] == 'e' || b[p] == 'E')) {
    p++;
    int sign = 1;
    if (p < r.n && (b[p] == '+' || b[p] == '-')) sign = b[p++] == '-' ? -1 : 1;
    if (p >= r.n || !IsDigit(b[p])) return false;
    int e = 0;
    while (p < r.n && IsDigit(b[p])) {
      if (e < 100000) e = e * 10 + (b[p] - '0');
      p++;
    }
    exp10 += sign * e;
  }
  float f;
  bool done = false;
  if (mantissa == 0) {
    f = negative ? -0.0f : 0.0f;
    done = true;
  } else if (exp10 >= -22 && exp10 <= 22) {
    double d = static_cast<double>(mantissa);
    d = exp10 < 0 ? d / kPow10[-exp10] : d * kPow10[exp10];
    f = static_cast<float>(d);
    constexpr double kBelow = 1.0 - 1.0 / (1ull << 49), kAbove = 1.0 + 1.0 / (1ull << 49);
    if (static_cast<float>(d * kBelow) == f && static_cast<float>(d * kAbove) == f) {
      if (negative) f = -f;
      done = true;
    }
  }
  if (!done) {
    double d;
    const char* first = reinterpret_cast<const char*>(b + start);
    const char* last = reinterpret_cast<const char*>(b + p);
    std::from_chars_result res = std::from_chars(first, last, d);
    // Out of the double range: JavaScript reads ±Infinity or ±0; leave such rare cases to it.
    if (res.ec != std::errc() || res.ptr != last) return false;
    f = static_cast<float>(d);
  }
  if (std::isinf(f)) return false;  // outside the float32 range: an error the JS decoder names
  if (r.o >= r.out_len) return false;
  r.out[r.o++] = f;
  r.p = p;
  return true;
}

// A list of exactly shape[d] items at r.p (its '['), numbers at the innermost level.
bool List(Reader& r, const std::vector<int64_t>& shape, size_t d) {
  if (r.p >= r.n || r.b[r.p] != '[') return false;
  r.p++;
  const int64_t count = shape[d];
  const bool inner = d + 1 == shape.size();
  for (int64_t i = 0; i < count; i++) {
    SkipWs(r);
    if (!(inner ? Number(r) : List(r, shape, d + 1))) return false;
    SkipWs(r);
    if (r.p >= r.n) return false;
    const uint8_t c = r.b[r.p];
    if (i + 1 < count) {
      if (c != ',') return false;
    } else if (c != ']') {
      return false;
    }
    r.p++;
  }
  if (count == 0) {
    SkipWs(r);
    if (r.p >= r.n || r.b[r.p] != ']') return false;
    r.p++;
  }
  return true;
}

// decodeNumberTensor(bytes: Uint8Array, start: number, shape: number[], out: Float32Array,
//                    offset: number): number — the index after the tensor's closing ']', or -1.
napi_value DecodeNumberTensor(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, args, nullptr, nullptr) != napi_ok || argc < 5) {
    napi_throw_type_error(env, nullptr, "decodeNumberTensor(bytes, start, shape, out, offset)");
    return nullptr;
  }
  napi_typedarray_type bytes_type, out_type;
  size_t bytes_len, out_len;
  void* bytes_data;
  void* out_data;
  napi_value ab;
  size_t byte_offset;
  if (napi_get_typedarray_info(env, args[0], &bytes_type, &bytes_len, &bytes_data, &ab, &byte_offset) != napi_ok ||
      bytes_type != napi_uint8_array ||
      napi_get_typedarray_info(env, args[3], &out_type, &out_len, &out_data, &ab, &byte_offset) != napi_ok ||
      out_type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, "decodeNumberTensor: bytes must be a Uint8Array and out a Float32Array");
    return nullptr;
  }
  int64_t start, offset;
  uint32_t dims;
  if (napi_get_value_int64(env, args[1], &start) != napi_ok || napi_get_value_int64(env, args[4], &offset) != napi_ok ||
      napi_get_array_length(env, args[2], &dims) != napi_ok) {
    napi_throw_type_error(env, nullptr, "decodeNumberTensor: start and offset must be numbers, shape an array");
    return nullptr;
  }
  std::vector<int64_t> shape(dims);
  for (uint32_t k = 0; k < dims; k++) {
    napi_value v;
    if (napi_get_element(env, args[2], k, &v) != napi_ok || napi_get_value_int64(env, v, &shape[k]) != napi_ok ||
        shape[k] < 0) {
      napi_throw_type_error(env, nullptr, "decodeNumberTensor: shape must hold non-negative integers");
      return nullptr;
    }
  }
  int64_t end = -1;
  if (dims > 0 && start >= 0 && static_cast<size_t>(start) < bytes_len && offset >= 0 &&
      static_cast<size_t>(offset) <= out_len) {
    Reader r{static_cast<const uint8_t*>(bytes_data), bytes_len, static_cast<size_t>(start),
             static_cast<float*>(out_data), static_cast<size_t>(offset), out_len};
    if (List(r, shape, 0)) end = static_cast<int64_t>(r.p);
  }
  napi_create_int64(env, end, &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "decodeNumberTensor", NAPI_AUTO_LENGTH, DecodeNumberTensor, nullptr, &fn);
  napi_set_named_property(env, exports, "decodeNumberTensor", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
