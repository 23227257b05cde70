// Read-only memory mapping of a whole file. Weights in an ONNX file are
// referenced in place: tensors keep a shared_ptr to the mapping alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace kiln {

class MappedFile {
 public:
  static Expected<std::shared_ptr<MappedFile>> open(const std::string& path);
  // A mapping over bytes already in memory (tests, fuzzing); the bytes are copied.
  static std::shared_ptr<MappedFile> from_bytes(std::span<const uint8_t> bytes, std::string name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::unique_ptr<uint8_t[]> owned_;
  std::string path_;
};

// Writes `bytes` to `path` atomically: a temporary file beside it, then rename.
Status write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace kiln
