#pragma once
// Graph: an immutable snapshot of the service dependency graph for traversals. Cycles are allowed
// in the data; traversals visit each service once (breadth first, so depth is the shortest path).
// Thread-safety: immutable after construction; share freely.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace platops::catalog {

struct GraphNode {
  std::string slug;
  std::string name;
  int tier = 0;
  int depth = 0;     // 1 for direct neighbours
  std::string kind;  // "hard" or "soft": the kind of the first edge on the shortest path
  std::string via;   // the neighbour of the start on that path (itself at depth 1)
};

class Graph {
 public:
  struct NodeInfo {
    std::string slug, name;
    int tier = 0;
  };
  struct Edge {
    std::string from, to;  // `from` depends on `to`
    bool hard = true;
  };
  Graph(std::vector<NodeInfo> nodes, const std::vector<Edge>& edges);

  bool Contains(const std::string& slug) const { return index_.count(slug) > 0; }
  // Services that depend on `slug` (its blast radius) / that `slug` depends on.
  // `transitive` false: direct neighbours only. Ordered by depth, then slug.
  std::vector<GraphNode> Dependents(const std::string& slug, bool transitive) const;
  std::vector<GraphNode> Dependencies(const std::string& slug, bool transitive) const;
  size_t node_count() const { return nodes_.size(); }

 private:
  struct Adj {
    uint32_t to;
    bool hard;
  };
  std::vector<GraphNode> Walk(const std::string& slug, bool transitive,
                              const std::vector<std::vector<Adj>>& adj) const;

  std::vector<NodeInfo> nodes_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::vector<Adj>> out_;  // depends on
  std::vector<std::vector<Adj>> in_;   // depended on by
};

}  // namespace platops::catalog
