#pragma once
// The routing tree of an Alertmanager configuration (`route:`), loaded, validated, inherited and
// matched as Alertmanager 0.25 does (config.Route, dispatch.NewRoute, Route.Match, Route.Key),
// with the group labels and group key of the aggregation groups it creates.
// Thread-safety: a parsed tree is immutable; const use from many threads is safe.

#include <boost/json/fwd.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "alerting/label_set.h"
#include "alerting/matcher.h"
#include "base/status.h"

namespace platops::alerting {

// Options of a route that sets none and whose ancestors set none (dispatch.DefaultRouteOpts).
inline constexpr std::chrono::milliseconds kDefaultGroupWait{30'000};
inline constexpr std::chrono::milliseconds kDefaultGroupInterval{5 * 60'000};
inline constexpr std::chrono::milliseconds kDefaultRepeatInterval{4 * 3'600'000};

// The field path of the root route in errors and in Route::path().
inline constexpr const char* kRootRoutePath = "route";

// One node of the tree with its options resolved: `receiver`, `group_by`, `group_wait`,
// `group_interval` and `repeat_interval` come from the nearest ancestor-or-self that sets them
// (else the defaults above); matchers, `continue` and the time intervals are the node's own.
class Route {
 public:
  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;

  const std::string& receiver() const { return receiver_; }
  // True for `group_by: ['...']` (here or inherited): every label of an alert groups it.
  bool group_by_all() const { return group_by_all_; }
  // The group_by labels. As in Alertmanager, a route that sets `['...']` keeps the set it
  // inherited here, which plays no part in grouping while group_by_all() is true. A route whose
  // `group_by` is absent or an empty list inherits both.
  const std::set<std::string>& group_by() const { return group_by_; }
  std::chrono::milliseconds group_wait() const { return group_wait_; }
  std::chrono::milliseconds group_interval() const { return group_interval_; }
  std::chrono::milliseconds repeat_interval() const { return repeat_interval_; }
  // Names from `time_intervals` / `mute_time_intervals` of the configuration, in file order.
  const std::vector<std::string>& mute_time_intervals() const { return mute_time_intervals_; }
  const std::vector<std::string>& active_time_intervals() const { return active_time_intervals_; }
  // `continue`: whether later siblings are still tried after this route matched.
  bool continue_matching() const { return continue_; }
  // `match` (as equality), `match_re` (as regex matchers whose value is `^(?:re)$`, as
  // Alertmanager stores them) and `matchers`, together, sorted by name, value, then type.
  const std::vector<Matcher>& matchers() const { return matchers_; }

  const Route* parent() const { return parent_; }
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }
  // Where the route sits in the configuration: "route", "route.routes[1].routes[0]".
  const std::string& path() const { return path_; }

  // Route.Key(): the parent's key, "/", then the matchers as `{a="b",c=~"d"}`; "{}" for the
  // root. Not unique: siblings with equal matchers share it. (Alertmanager 0.25 has no
  // Route.ID(); it came later, so there is none here.)
  std::string Key() const { return key_; }

  // The routes an alert with `labels` goes to, in order: depth-first, left to right. A route
  // whose matchers accept the labels yields the matches of its children, or itself when none
  // of them matches; after a child that matched, later siblings are tried only when that child
  // has `continue: true`. Empty when this route's own matchers reject the labels.
  std::vector<const Route*> Match(const LabelSet& labels) const;

  // Calls `visit` on this route and then, depth-first in file order, on every descendant.
  void Walk(const std::function<void(const Route&)>& visit) const;

 private:
  friend class RouteBuilder;
  Route() = default;

  const Route* parent_ = nullptr;
  std::string path_;
  std::string key_;
  std::string receiver_;
  bool group_by_all_ = false;
  std::set<std::string> group_by_;
  std::chrono::milliseconds group_wait_ = kDefaultGroupWait;
  std::chrono::milliseconds group_interval_ = kDefaultGroupInterval;
  std::chrono::milliseconds repeat_interval_ = kDefaultRepeatInterval;
  std::vector<std::string> mute_time_intervals_;
  std::vector<std::string> active_time_intervals_;
  bool continue_ = false;
  std::vector<Matcher> matchers_;
  std::vector<std::unique_ptr<Route>> routes_;
};

// Loads the `route:` section from its JSON form. Scalars may be strings or numbers (a number
// stands for its decimal text), `continue` a boolean or a YAML 1.1 boolean word. `receivers`
// holds the configured receiver names, `time_intervals` the names from both `time_intervals`
// and `mute_time_intervals`. Errors are InvalidArgument with Alertmanager's message where it has
// one and the field path from "route" (`route.routes[1].group_by[2]`); unknown fields are
// refused by path. Checks, first error wins: each route's own fields (a child before its
// parent's group_by and interval checks), then the root's receiver, matchers, mute and active
// time intervals, then receivers used anywhere, then time intervals used anywhere, then the
// root's `continue`.
Result<std::unique_ptr<Route>> ParseRouteTree(const boost::json::value& route,
                                              const std::set<std::string>& receivers,
                                              const std::set<std::string>& time_intervals);

// getGroupLabels: the labels of `alert_labels` named in the route's group_by, or all of them
// when it groups by all labels.
LabelSet GroupLabels(const Route& route, const LabelSet& alert_labels);

// aggrGroup.GroupKey(): Key() + ":" + the group labels as prometheus/common 0.38 prints a label
// set: `name="value"` items (values quoted as Go's %q) sorted as whole strings, joined by ", "
// in braces. Sorting the items, not the names, puts `a1="x"` before `a="y"`. Webhook payloads
// carry this as `groupKey`.
std::string GroupKey(const Route& route, const LabelSet& group_labels);

}  // namespace platops::alerting
