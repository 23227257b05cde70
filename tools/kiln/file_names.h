// Output file names derived from tensor names, which may hold anything
// ("/model/fc/Gemm_output_0", "logits:0", "..").
#pragma once

#include <string>
#include <vector>

namespace kiln::cli {

// Keeps [A-Za-z0-9._-], maps every other byte to '_', refuses a leading '.'
// (hidden files, "..") and caps the length; never empty.
std::string sanitize_file_stem(const std::string& name);

// Sanitized stems for all names, made unique (case-insensitively, for file
// systems that fold case) by appending _1, _2, ...
std::vector<std::string> unique_file_stems(const std::vector<std::string>& names);

}  // namespace kiln::cli
