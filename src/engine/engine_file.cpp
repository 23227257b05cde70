#include "engine/engine_file.h"

#include <algorithm>
#include <cstring>

#include "base/checked_math.h"
#include "base/mapped_file.h"

namespace kiln {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'E', 'N', 'G', '\0'};
constexpr size_t kHeaderBytes = 32;  // magic, version, section count, file size, checksum
constexpr size_t kEntryBytes = 32;   // id, reserved, offset, size, checksum
constexpr uint64_t kWeightAlign = 256;

enum SectionId : uint32_t { kMeta = 1, kTensors = 2, kLayers = 3, kIo = 4, kWeights = 5 };
const char* section_name(uint32_t id) {
  switch (id) {
    case kMeta: return "META";
    case kTensors: return "TENSORS";
    case kLayers: return "LAYERS";
    case kIo: return "IO";
    case kWeights: return "WEIGHTS";
  }
  return "unknown";
}

class Writer {
 public:
  void u8(uint8_t v) { buf.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void i32(int32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf.insert(buf.end(), b, b + n);
  }
  std::vector<uint8_t> buf;
};

// Bounds-checked reads; the first failure sticks and names the section.
class Reader {
 public:
  Reader(std::span<const uint8_t> b, const char* section) : b_(b), section_(section) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return b_.size() - pos_; }
  Status status() const {
    return ok_ ? Status::Ok() : InvalidArgument("section ", section_, " is malformed: ", error_);
  }
  void fail(const std::string& what) {
    if (ok_) error_ = what;
    ok_ = false;
  }
  bool raw(void* out, size_t n) {
    if (!ok_ || n > remaining()) {
      fail(kiln::str("needs ", n, " more bytes at offset ", pos_, " of ", b_.size()));
      if (out && n) std::memset(out, 0, n);
      return false;
    }
    if (n) std::memcpy(out, b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  uint8_t u8() { uint8_t v = 0; raw(&v, 1); return v; }
  uint32_t u32() { uint32_t v = 0; raw(&v, 4); return v; }
  int32_t i32() { int32_t v = 0; raw(&v, 4); return v; }
  uint64_t u64() { uint64_t v = 0; raw(&v, 8); return v; }
  int64_t i64() { int64_t v = 0; raw(&v, 8); return v; }
  float f32() { float v = 0; raw(&v, 4); return v; }
  std::string str() {
    uint32_t n = u32();
    if (n > remaining()) {
      fail(kiln::str("string of ", n, " bytes exceeds the section"));
      return {};
    }
    std::string s(n, '\0');
    raw(s.data(), n);
    return s;
  }
  // An element count that must fit in the remaining bytes at `min_bytes` each.
  uint32_t count(size_t min_bytes) {
    uint32_t n = u32();
    if (ok_ && static_cast<uint64_t>(n) * std::max<size_t>(min_bytes, 1) > remaining()) {
      fail(kiln::str("count ", n, " is larger than the section allows"));
      return 0;
    }
    return n;
  }

 private:
  std::span<const uint8_t> b_;
  const char* section_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string error_;
};

void write_tensor_value(Writer& w, const Tensor& t) {
  w.i32(static_cast<int32_t>(t.dtype()));
  w.u32(static_cast<uint32_t>(t.rank()));
  for (int64_t d : t.dims()) w.i64(d);
  w.u64(t.nbytes());
  w.raw(t.bytes(), t.nbytes());
}

Expected<Tensor> read_tensor_value(Reader& r) {
  auto dtype = static_cast<DType>(r.i32());
  uint32_t rank = r.count(8);
  std::vector<int64_t> dims(rank);
  for (auto& d : dims) d = r.i64();
  uint64_t nbytes = r.u64();
  if (!r.ok()) return r.status();
  if (dtype_size(dtype) == 0) return InvalidArgument("an attribute tensor has an unknown type");
  if (nbytes > r.remaining()) return InvalidArgument("an attribute tensor's data exceeds its section");
  // Check the shape against the stored byte count before allocating, so a
  // corrupted dim cannot ask for more memory than the file holds.
  auto count = checked_product(dims);
  auto expected = count ? checked_mul(*count, static_cast<int64_t>(dtype_size(dtype))) : std::nullopt;
  if (!expected || static_cast<uint64_t>(*expected) != nbytes)
    return InvalidArgument("an attribute tensor's data does not match its shape");
  auto t = Tensor::alloc(dtype, dims);
  if (!t.ok()) return t.status();
  r.raw(t->mutable_bytes(), nbytes);
  return t;
}

void write_attr(Writer& w, const Attr& a) {
  w.u8(static_cast<uint8_t>(a.kind));
  switch (a.kind) {
    case AttrKind::kInt: w.i64(a.i); break;
    case AttrKind::kFloat: w.f32(a.f); break;
    case AttrKind::kString: w.str(a.s); break;
    case AttrKind::kInts:
      w.u32(static_cast<uint32_t>(a.ints.size()));
      for (int64_t v : a.ints) w.i64(v);
      break;
    case AttrKind::kFloats:
      w.u32(static_cast<uint32_t>(a.floats.size()));
      for (float v : a.floats) w.f32(v);
      break;
    case AttrKind::kStrings:
      w.u32(static_cast<uint32_t>(a.strings.size()));
      for (const auto& s : a.strings) w.str(s);
      break;
    case AttrKind::kTensor: write_tensor_value(w, a.t); break;
    case AttrKind::kTensors:
      w.u32(static_cast<uint32_t>(a.tensors.size()));
      for (const auto& t : a.tensors) write_tensor_value(w, t);
      break;
    case AttrKind::kGraph:
    case AttrKind::kGraphs: break;  // never stored in plans
  }
}

Expected<Attr> read_attr(Reader& r) {
  Attr a;
  uint8_t kind = r.u8();
  if (kind > static_cast<uint8_t>(AttrKind::kGraphs)) return InvalidArgument("unknown attribute kind ", int(kind));
  a.kind = static_cast<AttrKind>(kind);
  switch (a.kind) {
    case AttrKind::kInt: a.i = r.i64(); break;
    case AttrKind::kFloat: a.f = r.f32(); break;
    case AttrKind::kString: a.s = r.str(); break;
    case AttrKind::kInts: {
      uint32_t n = r.count(8);
      for (uint32_t i = 0; i < n; ++i) a.ints.push_back(r.i64());
      break;
    }
    case AttrKind::kFloats: {
      uint32_t n = r.count(4);
      for (uint32_t i = 0; i < n; ++i) a.floats.push_back(r.f32());
      break;
    }
    case AttrKind::kStrings: {
      uint32_t n = r.count(4);
      for (uint32_t i = 0; i < n; ++i) a.strings.push_back(r.str());
      break;
    }
    case AttrKind::kTensor: {
      KILN_ASSIGN_OR_RETURN(a.t, read_tensor_value(r));
      break;
    }
    case AttrKind::kTensors: {
      uint32_t n = r.count(16);
      for (uint32_t i = 0; i < n; ++i) {
        KILN_ASSIGN_OR_RETURN(Tensor t, read_tensor_value(r));
        a.tensors.push_back(std::move(t));
      }
      break;
    }
    case AttrKind::kGraph:
    case AttrKind::kGraphs: return InvalidArgument("graph attributes cannot appear in an engine");
  }
  if (!r.ok()) return r.status();
  return a;
}

std::vector<uint8_t> meta_section(const EnginePlan& p) {
  Writer w;
  w.str(p.device_name);
  w.i32(p.sm_major);
  w.i32(p.sm_minor);
  w.i32(p.cuda_runtime_version);
  w.i32(p.cudnn_version);
  w.i32(p.cublas_version);
  w.str(p.kiln_version);
  return std::move(w.buf);
}

std::vector<uint8_t> tensors_section(const EnginePlan& p) {
  Writer w;
  w.u32(static_cast<uint32_t>(p.tensors.size()));
  for (const auto& t : p.tensors) {
    w.str(t.name);
    w.i32(static_cast<int32_t>(t.dtype));
    w.u8(static_cast<uint8_t>(t.layout));
    w.u8(static_cast<uint8_t>(t.storage));
    w.u32(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) w.i64(d);
    w.u64(t.offset);
    w.u64(t.bytes);
    w.u8(t.data_dependent ? 1 : 0);
    w.u64(t.dims_offset);
  }
  return std::move(w.buf);
}

std::vector<uint8_t> layers_section(const EnginePlan& p) {
  Writer w;
  w.u32(static_cast<uint32_t>(p.layers.size()));
  for (const auto& l : p.layers) {
    w.str(l.name);
    w.str(l.op);
    w.str(l.kernel);
    w.u32(static_cast<uint32_t>(l.inputs.size()));
    for (int32_t t : l.inputs) w.i32(t);
    w.u32(static_cast<uint32_t>(l.outputs.size()));
    for (int32_t t : l.outputs) w.i32(t);
    uint32_t attrs = 0;
    for (const auto& [k, a] : l.attrs)
      if (a.kind != AttrKind::kGraph && a.kind != AttrKind::kGraphs) ++attrs;
    w.u32(attrs);
    for (const auto& [k, a] : l.attrs) {
      if (a.kind == AttrKind::kGraph || a.kind == AttrKind::kGraphs) continue;
      w.str(k);
      write_attr(w, a);
    }
    w.u32(static_cast<uint32_t>(l.tactic.size()));
    for (int64_t t : l.tactic) w.i64(t);
    w.u64(l.workspace_bytes);
  }
  return std::move(w.buf);
}

std::vector<uint8_t> io_section(const EnginePlan& p) {
  Writer w;
  w.u32(static_cast<uint32_t>(p.inputs.size()));
  for (int32_t t : p.inputs) w.i32(t);
  w.u32(static_cast<uint32_t>(p.outputs.size()));
  for (int32_t t : p.outputs) w.i32(t);
  w.u64(p.arena_bytes);
  w.u64(p.workspace_offset);
  w.u64(p.workspace_bytes);
  return std::move(w.buf);
}

Status read_meta(std::span<const uint8_t> b, EnginePlan& p) {
  Reader r(b, "META");
  p.device_name = r.str();
  p.sm_major = r.i32();
  p.sm_minor = r.i32();
  p.cuda_runtime_version = r.i32();
  p.cudnn_version = r.i32();
  p.cublas_version = r.i32();
  p.kiln_version = r.str();
  return r.status();
}

Status read_tensors(std::span<const uint8_t> b, EnginePlan& p) {
  Reader r(b, "TENSORS");
  uint32_t n = r.count(30);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    PlanTensor t;
    t.name = r.str();
    t.dtype = static_cast<DType>(r.i32());
    t.layout = static_cast<Layout>(r.u8());
    t.storage = static_cast<Storage>(r.u8());
    uint32_t rank = r.count(8);
    for (uint32_t d = 0; d < rank; ++d) t.dims.push_back(r.i64());
    t.offset = r.u64();
    t.bytes = r.u64();
    uint8_t data_dependent = r.u8();
    t.dims_offset = r.u64();
    if (!r.ok()) break;
    if (data_dependent > 1 || (data_dependent && t.storage != Storage::kOutput))
      return InvalidArgument("section TENSORS: tensor '", t.name, "' has an invalid data-dependent flag");
    t.data_dependent = data_dependent == 1;
    auto numel = checked_product(t.dims);
    auto bytes = numel ? checked_mul(*numel, static_cast<int64_t>(dtype_size(t.dtype))) : std::nullopt;
    if (dtype_size(t.dtype) == 0 || !bytes || static_cast<uint64_t>(*bytes) != t.bytes)
      return InvalidArgument("section TENSORS: tensor '", t.name, "' has an invalid type, shape or size");
    if (static_cast<uint8_t>(t.layout) > 1 || static_cast<uint8_t>(t.storage) > 3)
      return InvalidArgument("section TENSORS: tensor '", t.name, "' has an unknown layout or storage");
    p.tensors.push_back(std::move(t));
  }
  return r.status();
}

Status read_layers(std::span<const uint8_t> b, EnginePlan& p) {
  Reader r(b, "LAYERS");
  uint32_t n = r.count(40);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    PlanLayer l;
    l.name = r.str();
    l.op = r.str();
    l.kernel = r.str();
    uint32_t ni = r.count(4);
    for (uint32_t k = 0; k < ni; ++k) l.inputs.push_back(r.i32());
    uint32_t no = r.count(4);
    for (uint32_t k = 0; k < no; ++k) l.outputs.push_back(r.i32());
    uint32_t na = r.count(5);
    for (uint32_t k = 0; k < na && r.ok(); ++k) {
      std::string key = r.str();
      auto a = read_attr(r);
      if (!a.ok()) return a.status().with_context(str("section LAYERS: layer '", l.name, "' attribute '", key, "'"));
      l.attrs[key] = std::move(a).value();
    }
    uint32_t nt = r.count(8);
    for (uint32_t k = 0; k < nt; ++k) l.tactic.push_back(r.i64());
    l.workspace_bytes = r.u64();
    p.layers.push_back(std::move(l));
  }
  return r.status();
}

Status read_io(std::span<const uint8_t> b, EnginePlan& p) {
  Reader r(b, "IO");
  uint32_t ni = r.count(4);
  for (uint32_t k = 0; k < ni; ++k) p.inputs.push_back(r.i32());
  uint32_t no = r.count(4);
  for (uint32_t k = 0; k < no; ++k) p.outputs.push_back(r.i32());
  p.arena_bytes = r.u64();
  p.workspace_offset = r.u64();
  p.workspace_bytes = r.u64();
  return r.status();
}

// Cross-references between sections: indices, offsets and sizes.
Status validate(const EnginePlan& p) {
  auto valid = [&](int32_t t) { return t >= 0 && static_cast<size_t>(t) < p.tensors.size(); };
  for (const auto& l : p.layers) {
    for (int32_t t : l.inputs)
      if (t != -1 && !valid(t)) return InvalidArgument("layer '", l.name, "' reads tensor ", t, ", which does not exist");
    for (int32_t t : l.outputs)
      if (!valid(t)) return InvalidArgument("layer '", l.name, "' writes tensor ", t, ", which does not exist");
  }
  for (int32_t t : p.inputs)
    if (!valid(t)) return InvalidArgument("engine input ", t, " does not exist");
  for (int32_t t : p.outputs)
    if (!valid(t)) return InvalidArgument("engine output ", t, " does not exist");
  auto end_ok = [](uint64_t off, uint64_t bytes, uint64_t limit) { return off <= limit && bytes <= limit - off; };
  if (p.workspace_offset > p.arena_bytes || !end_ok(p.workspace_offset, p.workspace_bytes, p.arena_bytes))
    return InvalidArgument("the workspace lies outside the activation arena");
  for (const auto& t : p.tensors) {
    if (t.storage == Storage::kWeight && !end_ok(t.offset, t.bytes, p.weights.size()))
      return InvalidArgument("weight tensor '", t.name, "' lies outside the weight section");
    if (t.storage == Storage::kActivation && !end_ok(t.offset, t.bytes, p.arena_bytes))
      return InvalidArgument("activation '", t.name, "' lies outside the arena");
    if (t.data_dependent && (t.dims_offset % 8 || !end_ok(t.dims_offset, 8 * t.dims.size(), p.arena_bytes)))
      return InvalidArgument("the dims of output '", t.name, "' lie outside the arena");
  }
  return Status::Ok();
}

template <typename T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

uint64_t engine_checksum(std::span<const uint8_t> bytes) {
  const uint64_t p1 = 0x9E3779B185EBCA87ULL, p2 = 0xC2B2AE3D27D4EB4FULL;
  uint64_t h = 0x27D4EB2F165667C5ULL ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    h ^= read_le<uint64_t>(bytes.data() + i) * p1;
    h = ((h << 31) | (h >> 33)) * p2;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  h ^= (tail | (uint64_t{bytes.size() - i} << 56)) * p1;
  h = ((h << 31) | (h >> 33)) * p2;
  h ^= h >> 29;
  h *= p1;
  h ^= h >> 32;
  return h;
}

std::vector<uint8_t> serialize_engine(const EnginePlan& plan) {
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> sections = {
      {kMeta, meta_section(plan)}, {kTensors, tensors_section(plan)}, {kLayers, layers_section(plan)},
      {kIo, io_section(plan)}};
  const uint32_t count = static_cast<uint32_t>(sections.size() + 1);
  uint64_t offset = kHeaderBytes + uint64_t{count} * kEntryBytes;
  Writer table;
  std::vector<uint64_t> offsets;
  for (const auto& [id, body] : sections) {
    offsets.push_back(offset);
    table.u32(id);
    table.u32(0);
    table.u64(offset);
    table.u64(body.size());
    table.u64(engine_checksum(body));
    offset += body.size();
  }
  uint64_t weights_offset = (offset + kWeightAlign - 1) / kWeightAlign * kWeightAlign;
  table.u32(kWeights);
  table.u32(0);
  table.u64(weights_offset);
  table.u64(plan.weights.size());
  table.u64(engine_checksum(plan.weights));
  uint64_t file_size = weights_offset + plan.weights.size();

  Writer out;
  out.raw(kMagic, 8);
  out.u32(kEngineFormatVersion);
  out.u32(count);
  out.u64(file_size);
  // The header checksum covers the fields above and the section table.
  Writer covered;
  covered.raw(out.buf.data(), out.buf.size());
  covered.raw(table.buf.data(), table.buf.size());
  out.u64(engine_checksum(covered.buf));
  out.raw(table.buf.data(), table.buf.size());
  for (const auto& [id, body] : sections) out.raw(body.data(), body.size());
  out.buf.resize(weights_offset, 0);
  out.raw(plan.weights.data(), plan.weights.size());
  return std::move(out.buf);
}

Status save_engine(const EnginePlan& plan, const std::string& path) {
  std::vector<uint8_t> bytes = serialize_engine(plan);
  return write_file_atomic(path, bytes);
}

Expected<EnginePlan> load_engine(std::span<const uint8_t> b, const std::string& what) {
  auto fail = [&](const Status& s) { return s.with_context(what); };
  if (b.size() < 8 || std::memcmp(b.data(), kMagic, 8) != 0)
    return fail(InvalidArgument("not a Kiln engine file (wrong magic)"));
  if (b.size() < kHeaderBytes) return fail(InvalidArgument("truncated: the header needs ", kHeaderBytes, " bytes, the file has ", b.size()));
  uint32_t version = read_le<uint32_t>(b.data() + 8);
  if (version != kEngineFormatVersion)
    return fail(Unsupported("engine format version ", version, "; this Kiln reads version ", kEngineFormatVersion,
                            " (rebuild the engine)"));
  uint32_t count = read_le<uint32_t>(b.data() + 12);
  uint64_t file_size = read_le<uint64_t>(b.data() + 16);
  uint64_t header_sum = read_le<uint64_t>(b.data() + 24);
  if (count == 0 || count > 64) return fail(InvalidArgument("corrupted header: ", count, " sections"));
  uint64_t table_end = kHeaderBytes + uint64_t{count} * kEntryBytes;
  if (b.size() < table_end)
    return fail(InvalidArgument("truncated: the section table ends at byte ", table_end, " but the file has ", b.size(), " bytes"));
  std::vector<uint8_t> covered(b.begin(), b.begin() + 24);
  covered.insert(covered.end(), b.begin() + kHeaderBytes, b.begin() + static_cast<ptrdiff_t>(table_end));
  if (engine_checksum(covered) != header_sum)
    return fail(InvalidArgument("header checksum mismatch (file corrupted)"));
  if (file_size != b.size())
    return fail(InvalidArgument("truncated or extended: the header says ", file_size, " bytes, the file has ", b.size()));

  EnginePlan plan;
  bool seen[6] = {};
  // Bytes no section covers (the padding before WEIGHTS) must be zero, so a
  // flipped byte anywhere in the file is caught.
  std::vector<std::pair<uint64_t, uint64_t>> covered_ranges = {{0, table_end}};
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = b.data() + kHeaderBytes + size_t{i} * kEntryBytes;
    uint32_t id = read_le<uint32_t>(e);
    uint64_t off = read_le<uint64_t>(e + 8), size = read_le<uint64_t>(e + 16), sum = read_le<uint64_t>(e + 24);
    if (id < kMeta || id > kWeights || seen[id]) return fail(InvalidArgument("corrupted section table (section id ", id, ")"));
    seen[id] = true;
    if (off > b.size() || size > b.size() - off)
      return fail(InvalidArgument("truncated: section ", section_name(id), " ends at byte ", off + size, " but the file has ", b.size(), " bytes"));
    covered_ranges.emplace_back(off, off + size);
    std::span<const uint8_t> body = b.subspan(off, size);
    if (engine_checksum(body) != sum)
      return fail(InvalidArgument("checksum mismatch in section ", section_name(id), " (file corrupted)"));
    Status s;
    switch (id) {
      case kMeta: s = read_meta(body, plan); break;
      case kTensors: s = read_tensors(body, plan); break;
      case kLayers: s = read_layers(body, plan); break;
      case kIo: s = read_io(body, plan); break;
      case kWeights:
        if (off % kWeightAlign) s = InvalidArgument("the weight section is not aligned");
        plan.weights.assign(body.begin(), body.end());
        break;
    }
    if (!s.ok()) return fail(s);
  }
  for (uint32_t id = kMeta; id <= kWeights; ++id)
    if (!seen[id]) return fail(InvalidArgument("section ", section_name(id), " is missing"));
  std::sort(covered_ranges.begin(), covered_ranges.end());
  uint64_t cursor = 0;
  for (const auto& [begin, end] : covered_ranges) {
    for (uint64_t k = cursor; k < begin; ++k)
      if (b[k] != 0) return fail(InvalidArgument("corrupted padding at byte ", k));
    cursor = std::max(cursor, end);
  }
  for (uint64_t k = cursor; k < b.size(); ++k)
    if (b[k] != 0) return fail(InvalidArgument("corrupted trailing byte ", k));
  Status v = validate(plan);
  if (!v.ok()) return fail(v);
  return plan;
}

Expected<EnginePlan> load_engine_file(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file.ok()) return file.status();
  return load_engine((*file)->bytes(), path);
}

}  // namespace kiln
