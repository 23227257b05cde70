#include "npy.h"

#include <bit>
#include <cstring>
#include <string_view>

#include "base/checked_math.h"
#include "base/mapped_file.h"

namespace kiln::cli {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

namespace {

constexpr uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kPreludeV1 = 10;  // magic, 2 version bytes, u16 header length
constexpr size_t kPreludeV2 = 12;  // ... u32 header length
// NumPy refuses headers above this size unless asked; so do we.
constexpr size_t kMaxHeader = 1 << 20;

struct DescrEntry {
  const char* descr;
  DType dtype;
};
// Byte order '=' (native) and '|' (not applicable) are read as '<' where the
// item size makes them equivalent; '>' is refused.
constexpr DescrEntry kDescrs[] = {
    {"f4", DType::kFloat32}, {"f2", DType::kFloat16}, {"f8", DType::kFloat64}, {"i1", DType::kInt8},
    {"u1", DType::kUInt8},   {"i4", DType::kInt32},   {"i8", DType::kInt64},   {"b1", DType::kBool},
};

Expected<DType> dtype_of_descr(const std::string& descr, const std::string& what) {
  if (descr.size() < 2) return InvalidArgument(what, ": unsupported dtype '", descr, "'");
  char order = descr[0];
  std::string rest = descr.substr(1);
  if (order == '>' && rest != "i1" && rest != "u1" && rest != "b1")
    return Unsupported(what, ": big-endian dtype '", descr, "' is not supported (save with '<' byte order)");
  if (order != '<' && order != '|' && order != '=' && order != '>')
    return Unsupported(what, ": unsupported dtype '", descr, "'");
  for (const auto& e : kDescrs)
    if (rest == e.descr) return e.dtype;
  return Unsupported(what, ": unsupported dtype '", descr,
                     "' (Kiln reads <f4 <f2 <f8 |i1 |u1 <i4 <i8 |b1)");
}

// A cursor over the header dict, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  Status parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    KILN_RETURN_IF_ERROR(expect('{'));
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key;
      KILN_RETURN_IF_ERROR(parse_string(key));
      skip_space();
      KILN_RETURN_IF_ERROR(expect(':'));
      skip_space();
      if (key == "descr") {
        KILN_RETURN_IF_ERROR(parse_string(descr));
        have_descr = true;
      } else if (key == "fortran_order") {
        KILN_RETURN_IF_ERROR(parse_bool(fortran));
        have_order = true;
      } else if (key == "shape") {
        KILN_RETURN_IF_ERROR(parse_shape(shape));
        have_shape = true;
      } else {
        return error("unexpected key '", key, "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') return error("expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size()) return error("trailing bytes after the header dict");
    if (!have_descr || !have_order || !have_shape) return error("the header lacks descr, fortran_order or shape");
    return Status::Ok();
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  template <typename... Args>
  Status error(const Args&... args) const {
    return InvalidArgument(what_, ": malformed .npy header at byte ", pos_, ": ", args...);
  }
  Status expect(char c) {
    if (peek() != c) return error("expected '", c, "'");
    ++pos_;
    return Status::Ok();
  }
  Status parse_string(std::string& out) {
    char quote = peek();
    if (quote != '\'' && quote != '"') return error("expected a quoted string");
    size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return error("unterminated string");
    out = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return Status::Ok();
  }
  Status parse_bool(bool& out) {
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      std::string_view w(word);
      if (s_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        out = value;
        return Status::Ok();
      }
    }
    return error("expected True or False");
  }
  Status parse_shape(std::vector<int64_t>& out) {
    KILN_RETURN_IF_ERROR(expect('('));
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') return error("expected a dimension");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (int64_t{1} << 58)) return error("dimension too large");
        v = v * 10 + (peek() - '0');
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      if (out.size() == 64) return error("more than 64 dimensions");
      out.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') return error("expected ',' or ')'");
    }
    ++pos_;
    return Status::Ok();
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

uint32_t read_le(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

std::string npy_descr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "<f4";
    case DType::kFloat16: return "<f2";
    case DType::kFloat64: return "<f8";
    case DType::kInt8: return "|i1";
    case DType::kUInt8: return "|u1";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kBool: return "|b1";
    default: return "";
  }
}

DType npy_storage_dtype(DType dtype) { return npy_descr(dtype).empty() ? DType::kFloat32 : dtype; }

Expected<Tensor> parse_npy(std::span<const uint8_t> bytes, const std::string& what, const Limits& limits) {
  if (bytes.size() < kPreludeV1 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return InvalidArgument(what, ": not a .npy file (no \\x93NUMPY magic)");
  uint8_t major = bytes[6];
  size_t prelude = major == 1 ? kPreludeV1 : kPreludeV2;
  if (major < 1 || major > 3) return Unsupported(what, ": .npy format version ", int{major}, ".", int{bytes[7]}, " is not supported");
  if (bytes.size() < prelude) return InvalidArgument(what, ": truncated .npy header");
  size_t header_len = read_le(bytes.data() + 8, prelude - 8);
  if (header_len > kMaxHeader) return InvalidArgument(what, ": .npy header of ", header_len, " bytes is too long");
  if (header_len > bytes.size() - prelude)
    return InvalidArgument(what, ": truncated .npy header (", header_len, " bytes declared, ", bytes.size() - prelude,
                           " present)");
  std::string_view header(reinterpret_cast<const char*>(bytes.data() + prelude), header_len);

  std::string descr;
  bool fortran = false;
  std::vector<int64_t> dims;
  KILN_RETURN_IF_ERROR(HeaderParser(header, what).parse(descr, fortran, dims));
  if (fortran)
    return Unsupported(what, ": fortran_order arrays are not supported (save a C-order array: np.ascontiguousarray)");
  KILN_ASSIGN_OR_RETURN(DType dtype, dtype_of_descr(descr, what));

  auto numel = checked_product(dims);
  auto nbytes = numel ? checked_mul(*numel, static_cast<int64_t>(dtype_size(dtype))) : std::nullopt;
  if (!nbytes) return InvalidArgument(what, ": shape ", dims_to_string(dims), " overflows");
  if (*nbytes > limits.max_tensor_bytes)
    return ResourceExhausted(what, ": ", *nbytes, " bytes of data exceed the limit of ", limits.max_tensor_bytes);
  size_t data_size = bytes.size() - prelude - header_len;
  if (static_cast<uint64_t>(*nbytes) != data_size)
    return InvalidArgument(what, ": shape ", dims_to_string(dims), " of ", descr, " needs ", *nbytes,
                           " bytes of data, the file has ", data_size);
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(dtype, dims, limits));
  if (data_size) std::memcpy(t.mutable_bytes(), bytes.data() + prelude + header_len, data_size);
  if (dtype == DType::kBool) {
    for (size_t i = 0; i < data_size; ++i)
      if (t.bytes()[i] > 1) return InvalidArgument(what, ": bool element ", i, " is neither 0 nor 1");
  }
  return t;
}

Expected<Tensor> read_npy(const std::string& path, const Limits& limits) {
  auto file = MappedFile::open(path);
  if (!file.ok()) return file.status();
  return parse_npy((*file)->bytes(), path, limits);
}

Expected<std::vector<uint8_t>> encode_npy(const Tensor& tensor) {
  DType stored = npy_storage_dtype(tensor.dtype());
  if (tensor.dtype() == DType::kUndefined) return InvalidArgument("cannot write a tensor of undefined type");
  std::string shape = "(";
  for (int64_t i = 0; i < tensor.rank(); ++i) shape += str(i ? ", " : "", tensor.dim(i));
  shape += tensor.rank() == 1 ? ",)" : ")";  // a 1-tuple is written "(3,)"
  std::string dict = str("{'descr': '", npy_descr(stored), "', 'fortran_order': False, 'shape': ", shape, ", }");

  // Pad so the data starts on a 64-byte boundary, as NumPy does.
  auto padded = [&](size_t prelude) { return dict.size() + 1 + (64 - (prelude + dict.size() + 1) % 64) % 64; };
  size_t prelude = padded(kPreludeV1) <= 0xffff ? kPreludeV1 : kPreludeV2;
  size_t header_len = padded(prelude);
  dict.resize(header_len - 1, ' ');
  dict += '\n';

  size_t data_bytes = static_cast<size_t>(tensor.numel()) * dtype_size(stored);
  std::vector<uint8_t> out;
  out.reserve(prelude + header_len + data_bytes);
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  out.push_back(prelude == kPreludeV1 ? 1 : 2);
  out.push_back(0);
  for (size_t i = 0; i < prelude - 8; ++i) out.push_back(static_cast<uint8_t>(header_len >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  if (stored == tensor.dtype()) {
    if (data_bytes) out.insert(out.end(), tensor.bytes(), tensor.bytes() + data_bytes);
  } else {
    for (int64_t i = 0; i < tensor.numel(); ++i) {
      float v = static_cast<float>(tensor.get_f64(i));  // exact: bf16 and fp8 are subsets of float32
      uint8_t b[4];
      std::memcpy(b, &v, 4);
      out.insert(out.end(), b, b + 4);
    }
  }
  return out;
}

Status write_npy(const std::string& path, const Tensor& tensor) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, encode_npy(tensor));
  return write_file_atomic(path, bytes);
}

}  // namespace kiln::cli
