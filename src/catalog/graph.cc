#include "catalog/graph.h"

#include <algorithm>
#include <deque>

namespace platops::catalog {

Graph::Graph(std::vector<NodeInfo> nodes, const std::vector<Edge>& edges)
    : nodes_(std::move(nodes)), out_(nodes_.size()), in_(nodes_.size()) {
  index_.reserve(nodes_.size());
  for (uint32_t i = 0; i < nodes_.size(); ++i) index_.emplace(nodes_[i].slug, i);
  for (const auto& e : edges) {
    auto f = index_.find(e.from), t = index_.find(e.to);
    if (f == index_.end() || t == index_.end()) continue;
    out_[f->second].push_back({t->second, e.hard});
    in_[t->second].push_back({f->second, e.hard});
  }
}

std::vector<GraphNode> Graph::Walk(const std::string& slug, bool transitive,
                                   const std::vector<std::vector<Adj>>& adj) const {
  std::vector<GraphNode> out;
  auto it = index_.find(slug);
  if (it == index_.end()) return out;
  const uint32_t start = it->second;
  std::vector<int> depth(nodes_.size(), -1);
  std::vector<uint32_t> first_hop(nodes_.size());
  std::vector<bool> first_hard(nodes_.size());
  depth[start] = 0;
  std::deque<uint32_t> queue{start};
  while (!queue.empty()) {
    uint32_t n = queue.front();
    queue.pop_front();
    if (!transitive && depth[n] >= 1) continue;
    for (const Adj& a : adj[n]) {
      if (depth[a.to] >= 0) continue;
      depth[a.to] = depth[n] + 1;
      first_hop[a.to] = n == start ? a.to : first_hop[n];
      first_hard[a.to] = n == start ? a.hard : first_hard[n];
      queue.push_back(a.to);
      const NodeInfo& info = nodes_[a.to];
      out.push_back({info.slug, info.name, info.tier, depth[a.to],
                     first_hard[a.to] ? "hard" : "soft", nodes_[first_hop[a.to]].slug});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const GraphNode& a, const GraphNode& b) {
    return a.depth != b.depth ? a.depth < b.depth : a.slug < b.slug;
  });
  return out;
}

std::vector<GraphNode> Graph::Dependents(const std::string& slug, bool transitive) const {
  return Walk(slug, transitive, in_);
}

std::vector<GraphNode> Graph::Dependencies(const std::string& slug, bool transitive) const {
  return Walk(slug, transitive, out_);
}

}  // namespace platops::catalog
