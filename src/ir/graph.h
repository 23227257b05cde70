// SSA graph IR. A Value has at most one producer and knows its users; a Node
// carries an op (domain, name, opset) and typed attributes. Values may hold a
// constant (initializers and folded results). The graph keeps its nodes in a
// topological order; passes that reorder call `sort_topologically`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "ir/attr.h"
#include "ir/dtype.h"
#include "ir/layout.h"
#include "ir/shape.h"
#include "ir/tensor.h"

namespace kiln {

class Node;

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  bool shape_known = false;  // false until inference (or the model) fixes the rank
  Node* producer = nullptr;
  std::vector<Node*> users;
  std::shared_ptr<const Tensor> constant;  // set for initializers and folded values
  bool is_graph_input = false;
  bool is_graph_output = false;
  Layout layout = Layout::kLinear;  // chosen by the builder; ONNX semantics ignore it

  bool is_constant() const { return constant != nullptr; }
  std::string type_string() const;  // "float32[1,3,224,224]"
};

class Node {
 public:
  std::string name;
  std::string op;
  std::string domain;  // "" for the default ONNX domain
  int64_t opset = 0;   // opset version of `domain` in the model
  std::vector<Value*> inputs;   // nullptr where an optional input is omitted
  std::vector<Value*> outputs;  // nullptr where an optional output is omitted
  std::map<std::string, Attr> attrs;

  // "node 'conv1' (Conv)": the prefix of every error about this node.
  std::string label() const;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed attribute getters: the default when absent, an error naming the
  // node when present with the wrong kind.
  Expected<int64_t> attr_int(const std::string& key, int64_t dflt) const;
  Expected<float> attr_float(const std::string& key, float dflt) const;
  Expected<std::string> attr_string(const std::string& key, const std::string& dflt) const;
  Expected<std::vector<int64_t>> attr_ints(const std::string& key, const std::vector<int64_t>& dflt = {}) const;
  Expected<std::vector<float>> attr_floats(const std::string& key, const std::vector<float>& dflt = {}) const;
  // Required attributes: an error naming the node when absent.
  Expected<int64_t> attr_int(const std::string& key) const;
  Expected<std::vector<int64_t>> attr_ints_required(const std::string& key) const;
  const Attr* find_attr(const std::string& key) const;

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  bool has_output(size_t i) const { return i < outputs.size() && outputs[i] != nullptr; }

  // An error whose message starts with this node's label.
  template <typename... Args>
  Status error(ErrorCode code, const Args&... args) const {
    return Error(code, label(), ": ", args...);
  }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  std::string name;
  std::vector<Value*> inputs;   // graph inputs (no initializers)
  std::vector<Value*> outputs;  // graph outputs

  // Creates a value; names must be unique (error otherwise).
  Expected<Value*> add_value(const std::string& name);
  Value* find_value(const std::string& name) const;
  // Renames a value; error if the new name is taken.
  Status rename_value(Value* v, const std::string& name);
  // A value with a name not yet used, derived from `hint`.
  Value* add_unique_value(const std::string& hint);
  // Creates a node and links its inputs' users and its outputs' producer.
  Expected<Node*> add_node(std::string op, std::string name, std::vector<Value*> inputs,
                           std::vector<Value*> outputs, std::string domain = "", int64_t opset = 0);
  // Unlinks and deletes a node (its outputs stay, without producer).
  void remove_node(Node* node);
  // Makes every user of `from` read `to` instead (graph outputs too).
  void replace_all_uses(Value* from, Value* to);
  // Removes values with no producer, no users, no constant and not graph I/O.
  void remove_dead_values();
  // Removes nodes whose outputs reach no graph output.
  void remove_dead_nodes();

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }
  size_t num_nodes() const { return nodes_.size(); }

  // Re-orders nodes topologically (stable); error naming a node on a cycle.
  Status sort_topologically();

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::map<std::string, Value*> by_name_;
  int64_t unique_counter_ = 0;
};

}  // namespace kiln
