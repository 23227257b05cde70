#include "onnx/proto_wire.h"

#include <bit>
#include <cstring>

namespace kiln::onnx::wire {

// Fixed-width values are little-endian on the wire; they are copied as is.
static_assert(std::endian::native == std::endian::little, "the wire decoder assumes a little-endian host");

namespace {

// Deprecated groups may nest; a bound keeps a hostile run of start-group tags
// from costing more than a fixed amount of state.
constexpr int kMaxGroupDepth = 32;

const char* field_name(FieldNames names, uint32_t number) {
  for (const FieldName& n : names)
    if (n.number == number) return n.name;
  return nullptr;
}

// Reads the value of a non-group field of wire type `wt` at `pos`. Returns an
// empty string on success, else the reason.
std::string read_value(std::span<const uint8_t> buf, size_t& pos, WireType wt, uint64_t& bits,
                       std::span<const uint8_t>& bytes) {
  size_t left = buf.size() - pos;
  switch (wt) {
    case WireType::kVarint:
      if (const char* why = read_varint(buf, pos, bits)) return why;
      return {};
    case WireType::kFixed64:
      if (left < 8) return str("truncated fixed64 (", left, " bytes left)");
      std::memcpy(&bits, buf.data() + pos, 8);
      pos += 8;
      return {};
    case WireType::kFixed32: {
      if (left < 4) return str("truncated fixed32 (", left, " bytes left)");
      uint32_t v;
      std::memcpy(&v, buf.data() + pos, 4);
      bits = v;
      pos += 4;
      return {};
    }
    case WireType::kLen: {
      uint64_t len;
      if (const char* why = read_varint(buf, pos, len)) return str(why, " (length)");
      left = buf.size() - pos;
      if (len > left) return str("length ", len, " exceeds the ", left, " bytes left");
      bytes = buf.subspan(pos, static_cast<size_t>(len));
      pos += static_cast<size_t>(len);
      return {};
    }
    default: return str("invalid wire type ", static_cast<int>(wt));
  }
}

// Reads a tag; returns an empty string on success.
std::string read_tag(std::span<const uint8_t> buf, size_t& pos, uint32_t& number, WireType& wt) {
  uint64_t tag;
  if (const char* why = read_varint(buf, pos, tag)) return str(why, " (field tag)");
  if (tag > UINT32_MAX) return "field tag overflows 32 bits";
  number = static_cast<uint32_t>(tag >> 3);
  wt = static_cast<WireType>(tag & 7);
  if (number == 0) return "field number 0";
  if (static_cast<int>(wt) > 5) return str("invalid wire type ", static_cast<int>(wt));
  return {};
}

}  // namespace

const char* wire_type_name(WireType t) {
  switch (t) {
    case WireType::kVarint: return "varint";
    case WireType::kFixed64: return "fixed64";
    case WireType::kLen: return "length-delimited";
    case WireType::kStartGroup: return "start-group";
    case WireType::kEndGroup: return "end-group";
    case WireType::kFixed32: return "fixed32";
  }
  return "invalid";
}

const char* read_varint(std::span<const uint8_t> buf, size_t& pos, uint64_t& out) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (pos + i >= buf.size()) return "truncated varint";
    uint8_t b = buf[pos + i];
    // The tenth byte holds only bit 63; anything more (or a continuation) overflows.
    if (i == 9 && b > 1) return "varint overflows 64 bits";
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      pos += i + 1;
      out = v;
      return nullptr;
    }
  }
  return "varint overflows 64 bits";  // not reached: the tenth byte decides
}

Status Decoder::next(Message& m, Field& f) {
  f = Field{};
  size_t pos = m.pos;
  f.offset = offset_of(m.bytes.data()) + pos;
  std::string why = read_tag(m.bytes, pos, f.number, f.type);
  if (!why.empty()) return fail(f, why);
  f.name = field_name(m.names, f.number);
  if (f.type == WireType::kStartGroup) {
    KILN_RETURN_IF_ERROR(skip_group(m, f, pos));
  } else if (f.type == WireType::kEndGroup) {
    return fail(f, "end-group without a matching start-group");
  } else {
    why = read_value(m.bytes, pos, f.type, f.bits, f.bytes);
    if (!why.empty()) return fail(f, why);
  }
  m.pos = pos;
  return Status::Ok();
}

// Skips a group started by `f` (the start tag already read) up to its
// matching end tag, without recursion; f.bytes becomes the group's body.
Status Decoder::skip_group(const Message& m, Field& f, size_t& pos) {
  uint32_t open[kMaxGroupDepth];
  int depth = 0;
  open[depth++] = f.number;
  size_t body = pos;
  while (true) {
    if (pos >= m.bytes.size()) return fail(f, "group has no end-group tag");
    size_t tag_pos = pos;
    uint32_t number = 0;
    WireType wt = WireType::kVarint;
    std::string why = read_tag(m.bytes, pos, number, wt);
    if (why.empty() && wt == WireType::kStartGroup) {
      if (depth == kMaxGroupDepth) return fail(f, "groups nested deeper than ", kMaxGroupDepth);
      open[depth++] = number;
      continue;
    }
    if (why.empty() && wt == WireType::kEndGroup) {
      if (number != open[depth - 1]) return fail(f, "end-group tag for field ", number, " closes group ", open[depth - 1]);
      if (--depth == 0) {
        f.bytes = m.bytes.subspan(body, tag_pos - body);
        return Status::Ok();
      }
      continue;
    }
    uint64_t bits = 0;
    std::span<const uint8_t> bytes;
    if (why.empty()) why = read_value(m.bytes, pos, wt, bits, bytes);
    if (!why.empty()) return fail(f, why, " inside a group");
  }
}

Status Decoder::wrong_type(const Field& f, const char* expected) const {
  return fail(f, "expected wire type ", expected, ", found ", wire_type_name(f.type));
}

Status Decoder::to_int64(const Field& f, int64_t& out) {
  if (f.type != WireType::kVarint) return wrong_type(f, "varint");
  out = static_cast<int64_t>(f.bits);
  return Status::Ok();
}

Status Decoder::to_int32(const Field& f, int32_t& out) {
  if (f.type != WireType::kVarint) return wrong_type(f, "varint");
  out = static_cast<int32_t>(static_cast<uint32_t>(f.bits));
  return Status::Ok();
}

Status Decoder::to_float(const Field& f, float& out) {
  if (f.type != WireType::kFixed32) return wrong_type(f, "fixed32");
  uint32_t v = static_cast<uint32_t>(f.bits);
  std::memcpy(&out, &v, 4);
  return Status::Ok();
}

Status Decoder::to_bytes(const Field& f, std::span<const uint8_t>& out) {
  if (f.type != WireType::kLen) return wrong_type(f, "length-delimited");
  out = f.bytes;
  return Status::Ok();
}

Status Decoder::to_string(const Field& f, std::string& out) {
  if (f.type != WireType::kLen) return wrong_type(f, "length-delimited");
  out.assign(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
  return Status::Ok();
}

Status Decoder::to_message(const Field& f, FieldNames names, Message& out) {
  if (f.type != WireType::kLen) return wrong_type(f, "length-delimited");
  out = Message{f.bytes, 0, names};
  return Status::Ok();
}

template <typename T, typename Decode>
Status Decoder::append_varints(const Field& f, std::vector<T>& out, Decode decode) {
  if (f.type == WireType::kVarint) {
    out.push_back(decode(f.bits));
    return Status::Ok();
  }
  if (f.type != WireType::kLen) return wrong_type(f, "varint or packed");
  // Every varint ends in a byte without the continuation bit: counting those
  // gives the exact element count before anything is allocated.
  size_t count = 0;
  for (uint8_t b : f.bytes) count += (b & 0x80) == 0;
  out.reserve(out.size() + count);
  size_t pos = 0;
  while (pos < f.bytes.size()) {
    size_t at = pos;
    uint64_t v;
    if (const char* why = read_varint(f.bytes, pos, v))
      return make_error(ErrorCode::kInvalidArgument, f.name, f.number, offset_of(f.bytes.data()) + at,
                        str(why, " in packed element ", out.size()));
    out.push_back(decode(v));
  }
  return Status::Ok();
}

template <typename T, size_t N>
Status Decoder::append_fixed(const Field& f, std::vector<T>& out) {
  static_assert(sizeof(T) == N);
  const WireType single = N == 4 ? WireType::kFixed32 : WireType::kFixed64;
  if (f.type == single) {
    T v;
    std::memcpy(&v, &f.bits, N);  // little-endian: the low N bytes
    out.push_back(v);
    return Status::Ok();
  }
  if (f.type != WireType::kLen) return wrong_type(f, N == 4 ? "fixed32 or packed" : "fixed64 or packed");
  if (f.bytes.size() % N != 0) return fail(f, "packed length ", f.bytes.size(), " is not a multiple of ", N);
  size_t n = f.bytes.size() / N;
  size_t old = out.size();
  out.resize(old + n);
  if (n) std::memcpy(out.data() + old, f.bytes.data(), n * N);
  return Status::Ok();
}

Status Decoder::append(const Field& f, std::vector<int64_t>& out) {
  return append_varints(f, out, [](uint64_t v) { return static_cast<int64_t>(v); });
}
Status Decoder::append(const Field& f, std::vector<int32_t>& out) {
  return append_varints(f, out, [](uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); });
}
Status Decoder::append(const Field& f, std::vector<uint64_t>& out) {
  return append_varints(f, out, [](uint64_t v) { return v; });
}
Status Decoder::append(const Field& f, std::vector<float>& out) { return append_fixed<float, 4>(f, out); }
Status Decoder::append(const Field& f, std::vector<double>& out) { return append_fixed<double, 8>(f, out); }

Decoder::Scope Decoder::enter(const Field& f, int64_t index) {
  path_.push_back(PathPart{f.name, f.number, index, f.offset});
  return Scope(this);
}

Status Decoder::make_error(ErrorCode code, const char* name, uint32_t number, size_t offset,
                           const std::string& reason) const {
  std::string path;
  auto add = [&](const char* n, uint32_t num, int64_t index) {
    if (!path.empty()) path += '.';
    path += n ? std::string(n) : str("field ", num);
    if (index >= 0) path += str("[", index, "]");
  };
  for (const PathPart& p : path_) add(p.name, p.number, p.index);
  if (name || number) add(name, number, -1);
  std::string msg = source_ + ": ";
  if (!path.empty()) msg += path + ": ";
  msg += str(reason, " at offset ", offset);
  return Status(code, msg);
}

}  // namespace kiln::onnx::wire
