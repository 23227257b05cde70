#include "onnx/importer.h"

namespace kiln {

Expected<ImportedModel> import_onnx_model(onnx::ModelProto, const std::string&, const ImportOptions&) {
  return Unsupported("importer not written yet");
}

}  // namespace kiln
