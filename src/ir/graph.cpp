#include "ir/graph.h"

#include <algorithm>
#include <set>

namespace kiln {

std::string Value::type_string() const {
  return str(dtype_name(dtype), shape_known ? shape.to_string() : std::string("[?]"));
}

std::string Node::label() const { return str("node '", name, "' (", domain.empty() ? "" : domain + ".", op, ")"); }

const Attr* Node::find_attr(const std::string& key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? nullptr : &it->second;
}

namespace {
Status wrong_kind(const Node& n, const std::string& key, AttrKind want, AttrKind got) {
  return n.error(ErrorCode::kInvalidArgument, "attribute '", key, "' must be ", attr_kind_name(want), ", got ",
                 attr_kind_name(got));
}
}  // namespace

Expected<int64_t> Node::attr_int(const std::string& key, int64_t dflt) const {
  const Attr* a = find_attr(key);
  if (!a) return dflt;
  if (a->kind != AttrKind::kInt) return wrong_kind(*this, key, AttrKind::kInt, a->kind);
  return a->i;
}

Expected<int64_t> Node::attr_int(const std::string& key) const {
  if (!find_attr(key)) return error(ErrorCode::kInvalidArgument, "required attribute '", key, "' is missing");
  return attr_int(key, 0);
}

Expected<float> Node::attr_float(const std::string& key, float dflt) const {
  const Attr* a = find_attr(key);
  if (!a) return dflt;
  if (a->kind != AttrKind::kFloat) return wrong_kind(*this, key, AttrKind::kFloat, a->kind);
  return a->f;
}

Expected<std::string> Node::attr_string(const std::string& key, const std::string& dflt) const {
  const Attr* a = find_attr(key);
  if (!a) return dflt;
  if (a->kind != AttrKind::kString) return wrong_kind(*this, key, AttrKind::kString, a->kind);
  return a->s;
}

Expected<std::vector<int64_t>> Node::attr_ints(const std::string& key, const std::vector<int64_t>& dflt) const {
  const Attr* a = find_attr(key);
  if (!a) return dflt;
  if (a->kind != AttrKind::kInts) return wrong_kind(*this, key, AttrKind::kInts, a->kind);
  return a->ints;
}

Expected<std::vector<int64_t>> Node::attr_ints_required(const std::string& key) const {
  if (!find_attr(key)) return error(ErrorCode::kInvalidArgument, "required attribute '", key, "' is missing");
  return attr_ints(key);
}

Expected<std::vector<float>> Node::attr_floats(const std::string& key, const std::vector<float>& dflt) const {
  const Attr* a = find_attr(key);
  if (!a) return dflt;
  if (a->kind != AttrKind::kFloats) return wrong_kind(*this, key, AttrKind::kFloats, a->kind);
  return a->floats;
}

Expected<Value*> Graph::add_value(const std::string& name) {
  if (by_name_.count(name)) return InvalidArgument("value '", name, "' is defined twice");
  values_.push_back(std::make_unique<Value>());
  Value* v = values_.back().get();
  v->name = name;
  by_name_[name] = v;
  return v;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Status Graph::rename_value(Value* v, const std::string& name) {
  if (v->name == name) return Status::Ok();
  if (by_name_.count(name)) return InvalidArgument("cannot rename '", v->name, "' to '", name, "': name taken");
  by_name_.erase(v->name);
  v->name = name;
  by_name_[name] = v;
  return Status::Ok();
}

Value* Graph::add_unique_value(const std::string& hint) {
  std::string name = hint;
  while (by_name_.count(name)) name = str(hint, "__", ++unique_counter_);
  return add_value(name).value();
}

Expected<Node*> Graph::add_node(std::string op, std::string name, std::vector<Value*> inputs,
                                std::vector<Value*> outputs, std::string domain, int64_t opset) {
  for (Value* out : outputs) {
    if (out && out->producer)
      return InvalidArgument("value '", out->name, "' is produced by both node '", out->producer->name,
                             "' and node '", name, "'");
  }
  auto node = std::make_unique<Node>();
  node->op = std::move(op);
  node->name = std::move(name);
  node->domain = std::move(domain);
  node->opset = opset;
  node->inputs = std::move(inputs);
  node->outputs = std::move(outputs);
  Node* n = node.get();
  for (Value* in : n->inputs)
    if (in) in->users.push_back(n);
  for (Value* out : n->outputs)
    if (out) out->producer = n;
  nodes_.push_back(std::move(node));
  return n;
}

void Graph::remove_node(Node* node) {
  for (Value* in : node->inputs) {
    if (!in) continue;
    auto& u = in->users;
    u.erase(std::remove(u.begin(), u.end(), node), u.end());
  }
  for (Value* out : node->outputs)
    if (out && out->producer == node) out->producer = nullptr;
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(), [&](const auto& p) { return p.get() == node; }),
               nodes_.end());
}

void Graph::replace_all_uses(Value* from, Value* to) {
  for (Node* user : from->users) {
    for (Value*& in : user->inputs)
      if (in == from) in = to;
    to->users.push_back(user);
  }
  from->users.clear();
  for (Value*& out : outputs) {
    if (out == from) {
      out = to;
      to->is_graph_output = true;
      from->is_graph_output = false;
    }
  }
}

void Graph::remove_dead_values() {
  std::vector<std::unique_ptr<Value>> kept;
  for (auto& v : values_) {
    bool live = v->producer || !v->users.empty() || v->is_graph_input || v->is_graph_output;
    if (live) {
      kept.push_back(std::move(v));
    } else {
      by_name_.erase(v->name);
    }
  }
  values_ = std::move(kept);
}

void Graph::remove_dead_nodes() {
  std::set<const Node*> live;
  std::vector<const Value*> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (!v || !v->producer || live.count(v->producer)) continue;
    live.insert(v->producer);
    for (const Value* in : v->producer->inputs) stack.push_back(in);
  }
  std::vector<Node*> dead;
  for (auto& n : nodes_)
    if (!live.count(n.get())) dead.push_back(n.get());
  for (Node* n : dead) remove_node(n);
}

Status Graph::sort_topologically() {
  std::map<const Node*, size_t> pending;
  for (auto& n : nodes_) {
    size_t count = 0;
    for (Value* in : n->inputs)
      if (in && in->producer) ++count;
    pending[n.get()] = count;
  }
  std::vector<std::unique_ptr<Node>> ordered;
  std::vector<std::unique_ptr<Node>> rest = std::move(nodes_);
  nodes_.clear();
  // Repeated stable sweeps keep the original order where it is already valid.
  bool progress = true;
  while (!rest.empty() && progress) {
    progress = false;
    std::vector<std::unique_ptr<Node>> next;
    for (auto& n : rest) {
      if (pending[n.get()] == 0) {
        for (Value* out : n->outputs) {
          if (!out) continue;
          // `users` lists a node once per input slot, matching the count above.
          for (Node* u : out->users) --pending[u];
        }
        ordered.push_back(std::move(n));
        progress = true;
      } else {
        next.push_back(std::move(n));
      }
    }
    rest = std::move(next);
  }
  if (!rest.empty()) {
    std::string name = rest.front()->name;
    for (auto& n : rest) ordered.push_back(std::move(n));
    nodes_ = std::move(ordered);
    return InvalidArgument("the graph has a cycle through node '", name, "'");
  }
  nodes_ = std::move(ordered);
  return Status::Ok();
}

}  // namespace kiln
