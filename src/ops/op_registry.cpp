#include <atomic>

#include "ops/families.h"
#include "ops/op_schema.h"

namespace kiln {

void register_all_families(OpRegistry& r);

const Tensor* InferContext::input_value(size_t i) const {
  if (!has_input(i)) return nullptr;
  return node_.inputs[i]->constant.get();
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  if (outputs_.size() <= i) outputs_.resize(i + 1);
  outputs_[i].set = true;
  outputs_[i].dtype = dtype;
  outputs_[i].shape = std::move(shape);
}

void InferContext::set_output_value(size_t i, Tensor value) {
  set_output(i, value.dtype(), value.shape());
  outputs_[i].value = std::make_shared<const Tensor>(std::move(value));
}

void InferContext::set_output_unknown_rank(size_t i, DType dtype) {
  set_output(i, dtype, Shape());
  outputs_[i].rank_known = false;
}

Dim InferContext::unknown_dim(const std::string& hint, int64_t max) const {
  static std::atomic<int64_t> counter{0};
  return Dim::symbolic(str(hint.empty() ? node_.op : hint, "_", counter++), max);
}

Expected<Tensor*> CpuContext::alloc_output(size_t i, DType dtype, std::vector<int64_t> dims) {
  if (i >= outputs_.size()) return Internal(node_.label(), ": output ", i, " does not exist");
  auto t = Tensor::alloc(dtype, std::move(dims), limits_);
  if (!t.ok()) return t.status().with_context(str(node_.label(), " output ", i));
  outputs_[i] = std::move(t).value();
  return &outputs_[i];
}

void OpRegistry::add(OpSchema schema) {
  auto key = std::make_pair(schema.domain, schema.name);
  if (schemas_.count(key)) {
    problems_ += str(" op ", schema.name, " is registered twice;");
    return;
  }
  schemas_.emplace(key, std::move(schema));
}

const OpSchema* OpRegistry::find(const std::string& domain, const std::string& op, int64_t opset) const {
  const OpSchema* s = find_any(domain, op);
  if (!s || opset < s->since_opset) return nullptr;
  return s;
}

const OpSchema* OpRegistry::find_any(const std::string& domain, const std::string& op) const {
  std::string d = domain == "ai.onnx" ? "" : domain;
  auto it = schemas_.find({d, op});
  return it == schemas_.end() ? nullptr : &it->second;
}

Status OpRegistry::self_check() const {
  std::string problems = problems_;
  std::map<std::pair<std::string, std::string>, int> case_count;
  for (const OpCase& c : cases_) case_count[{c.domain, c.op}]++;
  for (const auto& [key, s] : schemas_) {
    if (!s.infer) problems += str(" ", s.name, " has no shape inference;");
    if (!s.cpu) problems += str(" ", s.name, " has no CPU reference;");
    if (!case_count[key]) problems += str(" ", s.name, " has no test case;");
  }
  for (const auto& [key, n] : case_count)
    if (!find_any(key.first, key.second)) problems += str(" case for unknown op ", key.second, ";");
  if (!problems.empty()) return Internal("op registry self-check failed:", problems);
  return Status::Ok();
}

const OpRegistry& OpRegistry::global() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    register_all_families(*r);
    return r;
  }();
  return *registry;
}

}  // namespace kiln
