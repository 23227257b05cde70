// Small text helpers shared by the commands' reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::cli {

std::string group_digits(int64_t n);         // 3504872 -> "3,504,872"
std::string human_bytes(uint64_t bytes);     // 14019488 -> "13.4 MiB"
std::string format_number(double v);         // %.6g, with "nan"/"inf" spelled out
std::string format_ms(double milliseconds);  // "812.3 ms", "1.25 s"
std::string count_of(uint64_t n, const std::string& noun);  // "1 node", "3 nodes"

// Left-aligned columns separated by two spaces, each row indented by `indent`.
std::string format_table(const std::vector<std::vector<std::string>>& rows, int indent = 2);

}  // namespace kiln::cli
