#include "ir/shape.h"

#include "base/checked_math.h"

namespace kiln {

std::string Dim::to_string() const {
  if (is_static()) return std::to_string(value);
  return symbol.empty() ? "?" : symbol;
}

Shape Shape::of(const std::vector<int64_t>& sizes) {
  Shape s;
  for (int64_t v : sizes) s.dims.emplace_back(v);
  return s;
}

bool Shape::is_static() const {
  for (const Dim& d : dims)
    if (!d.is_static()) return false;
  return true;
}

std::optional<std::vector<int64_t>> Shape::static_dims() const {
  std::vector<int64_t> out;
  out.reserve(dims.size());
  for (const Dim& d : dims) {
    if (!d.is_static()) return std::nullopt;
    out.push_back(d.value);
  }
  return out;
}

std::optional<std::vector<int64_t>> Shape::bound_dims() const {
  std::vector<int64_t> out;
  out.reserve(dims.size());
  for (const Dim& d : dims) {
    int64_t v = d.is_static() ? d.value : d.max;
    if (v < 0) return std::nullopt;
    out.push_back(v);
  }
  return out;
}

Expected<int64_t> Shape::numel() const {
  auto s = static_dims();
  if (!s) return InvalidArgument("shape ", to_string(), " is not static");
  auto n = checked_product(*s);
  if (!n) return OutOfRange("element count of shape ", to_string(), " overflows");
  return *n;
}

std::string Shape::to_string() const {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ",";
    out += dims[i].to_string();
  }
  return out + "]";
}

std::string dims_to_string(const std::vector<int64_t>& dims) { return Shape::of(dims).to_string(); }

Expected<int64_t> normalize_axis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank)
    return OutOfRange(what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

Expected<std::vector<int64_t>> broadcast_dims(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return InvalidArgument("shapes ", dims_to_string(a), " and ", dims_to_string(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  size_t r = std::max(a.rank(), b.rank());
  Shape out;
  out.dims.resize(r);
  for (size_t i = 0; i < r; ++i) {
    Dim da = i < r - a.rank() ? Dim(1) : a.dims[i - (r - a.rank())];
    Dim db = i < r - b.rank() ? Dim(1) : b.dims[i - (r - b.rank())];
    if (da.is_static() && db.is_static()) {
      if (da.value != db.value && da.value != 1 && db.value != 1)
        return InvalidArgument("shapes ", a.to_string(), " and ", b.to_string(), " do not broadcast");
      out.dims[i] = da.value == 1 ? db : da;
    } else if (da.is_static()) {
      out.dims[i] = da.value == 1 ? db : da;
    } else if (db.is_static()) {
      out.dims[i] = db.value == 1 ? da : db;
    } else {
      out.dims[i] = da;  // two symbols: equal at run time, or the model is wrong
    }
  }
  return out;
}

}  // namespace kiln
