#include "shape_spec.h"

namespace kiln::cli {

const char* const kShapeSpecGrammar =
    "shapes grammar:  NAME:DxDx...[,NAME:DxDx...]\n"
    "  NAME  an input name; everything up to the last ':' of the entry,\n"
    "        or 'quoted' (needed when the name contains ',')\n"
    "  D     a dimension, a decimal integer >= 0\n"
    "  e.g.  --shapes=input:1x3x224x224,mask:1x128";

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Quotes a fragment of user input for a message, without control bytes.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out + "'";
}

Expected<std::vector<int64_t>> parse_dims(std::string_view text, std::string_view entry) {
  std::vector<int64_t> dims;
  if (text.empty()) return InvalidArgument("entry ", quoted(entry), " has no dims after ':'");
  size_t pos = 0;
  while (true) {
    size_t end = text.find('x', pos);
    std::string_view part = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (part.empty()) return InvalidArgument("entry ", quoted(entry), " has an empty dim (dims are separated by one 'x')");
    int64_t value = 0;
    for (char c : part) {
      if (c < '0' || c > '9')
        return InvalidArgument("entry ", quoted(entry), ": dim ", quoted(part), " is not a non-negative integer");
      value = value * 10 + (c - '0');
      if (value > kMaxSpecDim) return InvalidArgument("entry ", quoted(entry), ": dim ", quoted(part), " is too large");
    }
    if (dims.size() == kMaxSpecRank)
      return InvalidArgument("entry ", quoted(entry), " has more than ", kMaxSpecRank, " dims");
    dims.push_back(value);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return dims;
}

// Splits at ',' outside single quotes.
Expected<std::vector<std::string_view>> split_entries(std::string_view spec) {
  std::vector<std::string_view> entries;
  bool in_quote = false;
  size_t start = 0;
  for (size_t i = 0; i <= spec.size(); ++i) {
    if (i < spec.size() && spec[i] == '\'') in_quote = !in_quote;
    if (i == spec.size() || (spec[i] == ',' && !in_quote)) {
      entries.push_back(spec.substr(start, i - start));
      start = i + 1;
    }
  }
  if (in_quote) return InvalidArgument("unterminated quote in ", quoted(spec));
  return entries;
}

}  // namespace

Expected<ShapeMap> parse_shape_spec(std::string_view spec) {
  if (trim(spec).empty()) return InvalidArgument("the shape spec is empty");
  KILN_ASSIGN_OR_RETURN(std::vector<std::string_view> entries, split_entries(spec));
  ShapeMap out;
  for (std::string_view raw : entries) {
    std::string_view entry = trim(raw);
    if (entry.empty()) return InvalidArgument("empty entry in ", quoted(spec), " (stray ',')");
    std::string name;
    std::string_view dims_text;
    if (entry.front() == '\'') {
      size_t close = entry.find('\'', 1);  // split_entries guarantees a closing quote
      name = std::string(entry.substr(1, close - 1));
      std::string_view rest = entry.substr(close + 1);
      if (rest.empty() || rest.front() != ':')
        return InvalidArgument("entry ", quoted(entry), ": expected ':' after the quoted name");
      dims_text = rest.substr(1);
    } else {
      size_t colon = entry.rfind(':');
      if (colon == std::string_view::npos) return InvalidArgument("entry ", quoted(entry), " has no ':' (want NAME:DIMS)");
      name = std::string(trim(entry.substr(0, colon)));
      dims_text = entry.substr(colon + 1);
      if (name.find('\'') != std::string::npos)
        return InvalidArgument("entry ", quoted(entry), ": a quote may only enclose the whole name");
    }
    if (name.empty()) return InvalidArgument("entry ", quoted(entry), " has an empty name");
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, parse_dims(trim(dims_text), entry));
    if (!out.emplace(name, std::move(dims)).second)
      return InvalidArgument("input ", quoted(name), " is given twice");
  }
  return out;
}

std::string format_spec_dims(const std::vector<int64_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += 'x';
    out += std::to_string(dims[i]);
  }
  return out;
}

Expected<ShapeMap> parse_shape_specs(const std::vector<std::string>& specs) {
  ShapeMap all;
  for (const std::string& spec : specs) {
    KILN_ASSIGN_OR_RETURN(ShapeMap one, parse_shape_spec(spec));
    for (auto& [name, dims] : one)
      if (!all.emplace(name, std::move(dims)).second) return InvalidArgument("input ", quoted(name), " is given twice");
  }
  return all;
}

}  // namespace kiln::cli
