// A minimal protobuf encoder for tests: builds ONNX messages (valid or
// deliberately broken) byte by byte, so the reader's tests need neither
// libprotobuf nor Python.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace kiln::onnx::testing {

class Pb {
 public:
  Pb& varint(uint32_t field, uint64_t v) {
    tag(field, 0);
    raw_varint(v);
    return *this;
  }
  Pb& fixed32(uint32_t field, uint32_t v) {
    tag(field, 5);
    append(&v, 4);
    return *this;
  }
  Pb& f32(uint32_t field, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    return fixed32(field, bits);
  }
  Pb& fixed64(uint32_t field, uint64_t v) {
    tag(field, 1);
    append(&v, 8);
    return *this;
  }
  Pb& f64(uint32_t field, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    return fixed64(field, bits);
  }
  Pb& bytes(uint32_t field, std::span<const uint8_t> b) {
    tag(field, 2);
    raw_varint(b.size());
    append(b.data(), b.size());
    return *this;
  }
  Pb& string(uint32_t field, std::string_view s) {
    return bytes(field, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  Pb& msg(uint32_t field, const Pb& m) { return bytes(field, m.data()); }
  Pb& packed_varints(uint32_t field, const std::vector<uint64_t>& values) {
    Pb body;
    for (uint64_t v : values) body.raw_varint(v);
    return bytes(field, body.data());
  }
  Pb& packed_f32(uint32_t field, const std::vector<float>& values) {
    return bytes(field, {reinterpret_cast<const uint8_t*>(values.data()), values.size() * 4});
  }
  Pb& packed_f64(uint32_t field, const std::vector<double>& values) {
    return bytes(field, {reinterpret_cast<const uint8_t*>(values.data()), values.size() * 8});
  }
  Pb& group(uint32_t field, const Pb& body) {
    tag(field, 3);
    append(body.data().data(), body.size());
    tag(field, 4);
    return *this;
  }
  Pb& tag(uint32_t field, int wire_type) {
    raw_varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
    return *this;
  }
  Pb& raw_varint(uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Pb& raw(std::initializer_list<uint8_t> b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  Pb& append(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }

  const std::vector<uint8_t>& data() const { return bytes_; }
  std::vector<uint8_t>& data() { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
};

// Negative int64 values are written as their 64-bit two's complement.
inline uint64_t i64(int64_t v) { return static_cast<uint64_t>(v); }

}  // namespace kiln::onnx::testing
