// A small decoder of the protobuf wire format over a byte span, written for
// files Kiln does not trust. Every length is checked against the bytes that
// remain, varints stop at 10 bytes, and nothing is allocated from a length
// before the bytes behind it are known to exist. Errors are Status values
// naming the source (file), the field path ("graph.node[12].attribute[3].ints")
// and the byte offset.
//
// Encoding reference: https://protobuf.dev/programming-guides/encoding/
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace kiln::onnx::wire {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,  // deprecated groups: skipped whole, never decoded
  kEndGroup = 4,
  kFixed32 = 5,
};
const char* wire_type_name(WireType t);

// Field number -> name, for error messages. One table per message type.
struct FieldName {
  uint32_t number;
  const char* name;
};
using FieldNames = std::span<const FieldName>;

// One field as read from the wire. Groups have already been skipped; their
// body is in `bytes` with type kStartGroup.
struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t bits = 0;               // varint value, or the raw fixed32/fixed64 bits
  std::span<const uint8_t> bytes;  // payload of a length-delimited field
  size_t offset = 0;               // offset of the tag from the start of the buffer
  const char* name = nullptr;      // from the message's FieldNames; null if unknown
};

// A message being read: a sub-span of the decoder's buffer and a position in it.
struct Message {
  std::span<const uint8_t> bytes;
  size_t pos = 0;
  FieldNames names;
  bool done() const { return pos >= bytes.size(); }
};

// Reads one varint at `pos`; on success advances `pos`. Returns null on
// success, else a short reason ("truncated varint", "varint overflows 64 bits").
const char* read_varint(std::span<const uint8_t> buf, size_t& pos, uint64_t& out);

class Decoder {
 public:
  Decoder(std::string source, std::span<const uint8_t> buffer) : source_(std::move(source)), buffer_(buffer) {}

  // The whole buffer as a message.
  Message root(FieldNames names) const { return Message{buffer_, 0, names}; }

  // Reads the next field of `m` (the caller checks m.done() first) and
  // consumes its value. Unknown fields need no further handling.
  Status next(Message& m, Field& f);

  // Typed views of a field; each checks the wire type first.
  Status to_int64(const Field& f, int64_t& out);
  Status to_int32(const Field& f, int32_t& out);  // int32 and enums: low 32 bits, as protobuf does
  Status to_float(const Field& f, float& out);
  Status to_bytes(const Field& f, std::span<const uint8_t>& out);
  Status to_string(const Field& f, std::string& out);
  Status to_message(const Field& f, FieldNames names, Message& out);

  // Repeated scalars, packed (one length-delimited run) or unpacked (one value
  // per field) alike; values are appended.
  Status append(const Field& f, std::vector<int64_t>& out);
  Status append(const Field& f, std::vector<int32_t>& out);
  Status append(const Field& f, std::vector<uint64_t>& out);
  Status append(const Field& f, std::vector<float>& out);
  Status append(const Field& f, std::vector<double>& out);

  // The path of the message being read grows while a Scope lives:
  //   auto scope = decoder.enter(field, index);   // "node[3]"
  class Scope {
   public:
    explicit Scope(Decoder* d) : d_(d) {}
    ~Scope() {
      if (d_) d_->path_.pop_back();
    }
    Scope(Scope&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;

   private:
    Decoder* d_;
  };
  [[nodiscard]] Scope enter(const Field& f, int64_t index = -1);

  // An error about field `f` (or, with a null field, the current message),
  // formatted "source: path.field: reason at offset N".
  template <typename... Args>
  Status fail(ErrorCode code, const Field* f, const Args&... args) const {
    return make_error(code, f ? f->name : nullptr, f ? f->number : 0, f ? f->offset : offset_of_path(),
                      str(args...));
  }
  template <typename... Args>
  Status fail(const Field& f, const Args&... args) const {
    return fail(ErrorCode::kInvalidArgument, &f, args...);
  }

  const std::string& source() const { return source_; }
  std::span<const uint8_t> buffer() const { return buffer_; }
  size_t offset_of(const uint8_t* p) const { return static_cast<size_t>(p - buffer_.data()); }

 private:
  struct PathPart {
    const char* name;
    uint32_t number;
    int64_t index;
    size_t offset;
  };
  Status make_error(ErrorCode code, const char* name, uint32_t number, size_t offset, const std::string& reason) const;
  Status wrong_type(const Field& f, const char* expected) const;
  Status skip_group(const Message& m, Field& f, size_t& pos);
  size_t offset_of_path() const { return path_.empty() ? 0 : path_.back().offset; }
  template <typename T, typename Decode>
  Status append_varints(const Field& f, std::vector<T>& out, Decode decode);
  template <typename T, size_t N>
  Status append_fixed(const Field& f, std::vector<T>& out);

  std::string source_;
  std::span<const uint8_t> buffer_;
  std::vector<PathPart> path_;
};

}  // namespace kiln::onnx::wire
