// TensorProto -> Tensor. Weights are viewed in place where they can be: raw
// data in the mapped model file, external data in a mapped weights file.
// Typed fields (float_data, int32_data, ...) are converted into owned storage.
#include <sys/stat.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "base/checked_math.h"
#include "onnx/onnx_model.h"

namespace kiln::onnx {
namespace {

namespace fs = std::filesystem;

// Weights stay in the mapped file (no copy). Protobuf places raw_data at any
// offset, so a view may be unaligned for its type: Tensor reads elements with
// memcpy, and typed pointers are used only after Tensor::aligned(). Empty
// tensors get owned storage, so their pointer is never null.
Expected<Tensor> view_or_copy(DType dtype, std::vector<int64_t> dims, const uint8_t* data, size_t nbytes,
                              std::shared_ptr<const void> owner, const Limits& limits) {
  if (nbytes > 0) return Tensor::view(dtype, std::move(dims), data, nbytes, std::move(owner));
  return Tensor::alloc(dtype, std::move(dims), limits);
}

// Maps each external weights file once per process while any tensor still
// uses it: a model with hundreds of tensors in one multi-gigabyte file would
// otherwise map it hundreds of times and exhaust the address space. The key
// includes the inode, size and mtime so a replaced file is mapped afresh.
Expected<std::shared_ptr<MappedFile>> map_shared(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error(ErrorCode::kIoError, "cannot stat '", path, "'");
  std::string key = str(path, '\n', st.st_dev, ':', st.st_ino, ':', st.st_size, ':', st.st_mtim.tv_sec, '.',
                        st.st_mtim.tv_nsec);
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<MappedFile>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(key); it != cache.end())
    if (auto file = it->second.lock()) return file;
  KILN_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  std::erase_if(cache, [](const auto& e) { return e.second.expired(); });
  cache[key] = file;
  return file;
}

// A non-negative decimal integer, the whole string (external_data offset/length).
bool parse_size(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

// True if `path` lies strictly inside `dir` (both canonical).
bool is_inside(const fs::path& dir, const fs::path& path) {
  auto d = dir.begin(), p = path.begin();
  for (; d != dir.end(); ++d, ++p) {
    if (d->empty()) continue;  // a trailing separator's empty component
    if (p == path.end() || *d != *p) return false;
  }
  return p != path.end();
}

struct Target {
  DType dtype;
  std::vector<int64_t> dims;
  size_t nbytes;
};

Expected<Tensor> external_tensor(const TensorProto& proto, const std::string& what, Target target,
                                 const std::string& model_dir, const Limits& limits) {
  if (model_dir.empty())
    return InvalidArgument(what, " keeps its data in an external file, which needs the model's directory "
                           "(a model parsed from memory cannot use external data)");
  std::string location;
  bool has_length = false;
  uint64_t offset = 0, length = 0;
  for (const auto& [key, value] : proto.external_data) {
    if (key == "location") {
      location = value;
    } else if (key == "offset") {
      if (!parse_size(value, offset)) return InvalidArgument(what, ": external data offset '", value, "' is not a number");
    } else if (key == "length") {
      if (!parse_size(value, length)) return InvalidArgument(what, ": external data length '", value, "' is not a number");
      has_length = true;
    }  // "checksum" and unknown keys: not needed to read the bytes
  }
  if (location.empty()) return InvalidArgument(what, " has external data without a location");
  if (location.find('\0') != std::string::npos) return InvalidArgument(what, ": external data location contains a NUL byte");

  // The location is a path relative to the model's directory that must stay
  // inside it: a hostile model must not read /etc/passwd or ../secret.
  fs::path rel(location);
  if (rel.is_absolute() || location.front() == '/')
    return InvalidArgument(what, ": external data location '", location, "' is an absolute path");
  for (const fs::path& part : rel)
    if (part == "..") return InvalidArgument(what, ": external data location '", location, "' contains '..'");
  std::error_code ec;
  fs::path dir = fs::canonical(model_dir, ec);
  if (ec) return Error(ErrorCode::kIoError, what, ": cannot resolve the model directory '", model_dir, "': ", ec.message());
  // canonical() resolves every symlink, so a link pointing out of the directory is caught here.
  fs::path full = fs::canonical(fs::path(model_dir) / rel, ec);
  if (ec)
    return Error(ErrorCode::kIoError, what, ": cannot open external data '", location, "' in '", model_dir, "': ",
                 ec.message());
  if (!is_inside(dir, full))
    return InvalidArgument(what, ": external data location '", location, "' resolves to '", full.string(),
                           "', outside the model directory");

  KILN_ASSIGN_OR_RETURN(auto file, map_shared(full.string()));
  uint64_t size = file->bytes().size();
  if (offset > size)
    return OutOfRange(what, ": external data offset ", offset, " is past the end of '", location, "' (", size, " bytes)");
  // Without a length the data runs to the end of the file (as onnx reads it).
  if (!has_length) length = size - offset;
  if (length > size - offset)
    return OutOfRange(what, ": external data [", offset, ", +", length, ") runs past the end of '", location, "' (",
                      size, " bytes)");
  if (length != target.nbytes)
    return InvalidArgument(what, ": external data length ", length, " does not match ", dtype_name(target.dtype),
                           dims_to_string(target.dims), " (", target.nbytes, " bytes)");
  const uint8_t* data = file->bytes().data() + offset;
  return view_or_copy(target.dtype, std::move(target.dims), data, target.nbytes, std::move(file), limits);
}

// int32_data holds every type narrower than 32 bits, one element per value.
// Values outside the type's range mean a broken file, not something to wrap.
Expected<Tensor> from_int32_data(const TensorProto& proto, const std::string& what, Target target,
                                 const Limits& limits) {
  int64_t lo = INT32_MIN, hi = INT32_MAX;
  switch (target.dtype) {
    case DType::kInt8: lo = -128, hi = 127; break;
    case DType::kUInt8: lo = 0, hi = 255; break;
    case DType::kBool: lo = 0, hi = 1; break;
    // Bit patterns: accept them written as signed or unsigned.
    case DType::kFloat16:
    case DType::kBFloat16: lo = -32768, hi = 65535; break;
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2: lo = -128, hi = 255; break;
    default: break;
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(target.dtype, std::move(target.dims), limits));
  uint8_t* out = t.mutable_bytes();
  size_t esize = dtype_size(target.dtype);
  for (size_t i = 0; i < proto.int32_data.size(); ++i) {
    int32_t v = proto.int32_data[i];
    if (v < lo || v > hi)
      return InvalidArgument(what, ": int32_data[", i, "] = ", v, " is out of range for ", dtype_name(target.dtype));
    uint32_t bits = static_cast<uint32_t>(v);
    std::memcpy(out + i * esize, &bits, esize);  // low bytes (little-endian host)
  }
  return t;
}

template <typename T>
Expected<Tensor> from_typed(const std::vector<T>& values, Target target, const Limits& limits) {
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(target.dtype, std::move(target.dims), limits));
  if (!values.empty()) std::memcpy(t.mutable_bytes(), values.data(), values.size() * sizeof(T));
  return t;
}

}  // namespace

Expected<Tensor> tensor_from_proto(const TensorProto& proto, const std::string& model_dir,
                                   std::shared_ptr<const void> owner, const Limits& limits) {
  const std::string what = str("tensor '", proto.name, "'");
  if (proto.has_segment) return Unsupported(what, " is segmented, which Kiln does not support");
  if (proto.data_type == 0) return InvalidArgument(what, " has no data_type");
  DType dtype = dtype_from_onnx(proto.data_type);
  if (dtype == DType::kUndefined)
    return Unsupported(what, " has type ", onnx_dtype_name(proto.data_type), ", which Kiln does not support");
  for (size_t i = 0; i < proto.dims.size(); ++i)
    if (proto.dims[i] < 0) return InvalidArgument(what, " has a negative dim ", proto.dims[i], " at axis ", i);
  auto numel = checked_product(proto.dims);
  auto bytes = numel ? checked_mul(*numel, static_cast<int64_t>(dtype_size(dtype))) : std::nullopt;
  if (!bytes) return OutOfRange(what, " has shape ", dims_to_string(proto.dims), ", whose size overflows");
  if (*bytes > limits.max_tensor_bytes)
    return ResourceExhausted(what, " (", dtype_name(dtype), dims_to_string(proto.dims), ") needs ", *bytes,
                             " bytes, over the limit of ", limits.max_tensor_bytes, " (limits.max_tensor_bytes)");
  Target target{dtype, proto.dims, static_cast<size_t>(*bytes)};

  // Exactly one source of data: raw, typed, or external.
  struct Source {
    const char* name;
    size_t count;
  };
  const Source typed[] = {{"float_data", proto.float_data.size()},   {"int32_data", proto.int32_data.size()},
                          {"int64_data", proto.int64_data.size()},   {"double_data", proto.double_data.size()},
                          {"uint64_data", proto.uint64_data.size()}, {"string_data", proto.string_data.size()}};
  const Source* present = nullptr;
  for (const Source& s : typed) {
    if (!s.count) continue;
    if (present) return InvalidArgument(what, " has both ", present->name, " and ", s.name);
    present = &s;
  }
  // An empty raw_data next to typed values is taken as absent.
  bool use_raw = proto.has_raw_data && (!proto.raw_data.empty() || !present);
  if (use_raw && present) return InvalidArgument(what, " has both raw_data and ", present->name);

  if (proto.data_location == 1) {
    if (use_raw || present) return InvalidArgument(what, " has external data and also data in the model");
    return external_tensor(proto, what, std::move(target), model_dir, limits);
  }
  if (proto.data_location != 0) return InvalidArgument(what, " has unknown data_location ", proto.data_location);
  if (!proto.external_data.empty())
    return InvalidArgument(what, " lists external_data entries but its data_location is not EXTERNAL");

  if (use_raw) {
    if (proto.raw_data.size() != target.nbytes)
      return InvalidArgument(what, " (", dtype_name(dtype), dims_to_string(proto.dims), ") needs ", target.nbytes,
                             " bytes but raw_data has ", proto.raw_data.size());
    return view_or_copy(dtype, std::move(target.dims), proto.raw_data.data(), target.nbytes, std::move(owner), limits);
  }
  if (!present) {
    if (*numel == 0) return Tensor::alloc(dtype, std::move(target.dims), limits);
    return InvalidArgument(what, " (", dtype_name(dtype), dims_to_string(proto.dims), ") has no data");
  }

  // Which typed field each type is stored in (onnx.proto, TensorProto comments).
  const char* expected = "int32_data";
  switch (dtype) {
    case DType::kFloat32: expected = "float_data"; break;
    case DType::kFloat64: expected = "double_data"; break;
    case DType::kInt64: expected = "int64_data"; break;
    default: break;
  }
  if (std::strcmp(present->name, expected) != 0)
    return InvalidArgument(what, " is ", dtype_name(dtype), " but its values are in ", present->name, " (expected ",
                           expected, ")");
  if (static_cast<int64_t>(present->count) != *numel)
    return InvalidArgument(what, " (", dtype_name(dtype), dims_to_string(proto.dims), ") has ", *numel,
                           " elements but ", present->name, " holds ", present->count);
  switch (dtype) {
    case DType::kFloat32: return from_typed(proto.float_data, std::move(target), limits);
    case DType::kFloat64: return from_typed(proto.double_data, std::move(target), limits);
    case DType::kInt64: return from_typed(proto.int64_data, std::move(target), limits);
    case DType::kInt32: return from_typed(proto.int32_data, std::move(target), limits);
    default: return from_int32_data(proto, what, std::move(target), limits);
  }
}

}  // namespace kiln::onnx
