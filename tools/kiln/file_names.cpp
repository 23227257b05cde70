#include "file_names.h"

#include <cctype>
#include <set>

namespace kiln::cli {

namespace {
constexpr size_t kMaxStem = 120;  // leaves room for suffixes under the usual 255-byte limit

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::string sanitize_file_stem(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    out += ok ? c : '_';
  }
  if (out.size() > kMaxStem) out.resize(kMaxStem);
  if (out.empty() || out.front() == '.') out = "_" + out;
  return out;
}

std::vector<std::string> unique_file_stems(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::set<std::string> used;
  for (const std::string& name : names) {
    std::string base = sanitize_file_stem(name);
    std::string stem = base;
    for (int i = 1; used.count(lower(stem)); ++i) stem = base + "_" + std::to_string(i);
    used.insert(lower(stem));
    out.push_back(stem);
  }
  return out;
}

}  // namespace kiln::cli
