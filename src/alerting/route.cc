#include "alerting/route.h"

#include <fmt/format.h>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "alerting/yaml_scalar.h"
#include "base/json_reader.h"
#include "base/time_util.h"

namespace platops::alerting {

namespace {

namespace json = boost::json;

std::string Index(const std::string& field, size_t i) { return fmt::format("{}[{}]", field, i); }


Result<std::vector<std::string>> ScalarList(const json::value& v, const std::string& field) {
  if (!v.is_array()) return InvalidArgument("must be a list", field);
  std::vector<std::string> out;
  const json::array& items = v.get_array();
  for (size_t i = 0; i < items.size(); ++i) {
    PLATOPS_ASSIGN_OR_RETURN(std::string text, ScalarText(items[i], Index(field, i)));
    out.push_back(std::move(text));
  }
  return out;
}

// model.Duration's YAML form: Prometheus duration syntax, with prometheus/common's wording.
Result<std::chrono::milliseconds> ParseRouteDuration(const json::value& v,
                                                     const std::string& field) {
  PLATOPS_ASSIGN_OR_RETURN(std::string text, ScalarText(v, field));
  if (text.empty()) return InvalidArgument("empty duration string", field);
  auto d = ParseDuration(text);
  if (!d.ok()) {
    return InvalidArgument(fmt::format("not a valid duration string: \"{}\"", text), field);
  }
  return *d;
}

// The route as written, before inheritance.
struct RouteConfig {
  std::string path;
  std::string receiver;               // "" when absent: inherit
  std::vector<std::string> group_by;  // the labels other than "..."
  bool group_by_all = false;
  std::vector<Matcher> matchers;              // from match, match_re and matchers; unsorted
  const char* first_matcher_field = nullptr;  // the first of those fields that added one
  std::optional<std::chrono::milliseconds> group_wait;
  std::optional<std::chrono::milliseconds> group_interval;
  std::optional<std::chrono::milliseconds> repeat_interval;
  std::vector<std::string> mute_time_intervals;
  std::vector<std::string> active_time_intervals;
  bool continue_matching = false;
  std::vector<RouteConfig> routes;
};

// `match:` entries become equality matchers.
Status ParseMatch(const json::value& v, RouteConfig& out) {
  const std::string field = out.path + ".match";
  if (!v.is_object()) return InvalidArgument("must be a map of label names to values", field);
  for (const auto& kv : v.get_object()) {
    const std::string name(kv.key());
    const std::string entry = field + "." + name;
    std::string value;
    if (!kv.value().is_null()) {
      PLATOPS_ASSIGN_OR_RETURN(value, ScalarText(kv.value(), entry));
    }
    PLATOPS_ASSIGN_OR_RETURN(Matcher m, Matcher::Create(MatchType::kEqual, name, std::move(value)));
    out.matchers.push_back(std::move(m));
    if (out.first_matcher_field == nullptr) out.first_matcher_field = "match";
  }
  return Status::Ok();
}

// `match_re:` entries become regex matchers whose value is the anchored expression, as
// Alertmanager passes config.Regexp's String() to labels.NewMatcher.
Status ParseMatchRe(const json::value& v, RouteConfig& out) {
  const std::string field = out.path + ".match_re";
  if (!v.is_object()) return InvalidArgument("must be a map of label names to regexps", field);
  for (const auto& kv : v.get_object()) {
    const std::string name(kv.key());
    const std::string entry = field + "." + name;
    if (!IsValidLabelName(name)) {
      return InvalidArgument(fmt::format("invalid label name {}", GoQuote(name)), entry);
    }
    if (kv.value().is_null()) {
      return InvalidArgument(fmt::format("invalid regexp value for {}", GoQuote(name)), entry);
    }
    PLATOPS_ASSIGN_OR_RETURN(std::string re, ScalarText(kv.value(), entry));
    // Compile the expression as written first, so that an error quotes it as Go's would.
    auto plain = Matcher::Create(MatchType::kRegex, name, re);
    if (!plain.ok()) {
      const std::string& message = plain.status().message();
      const size_t go_error = message.find("error parsing regexp:");
      return InvalidArgument(go_error == std::string::npos ? message : message.substr(go_error),
                             entry);
    }
    PLATOPS_ASSIGN_OR_RETURN(Matcher m,
                             Matcher::Create(MatchType::kRegex, name, "^(?:" + re + ")$"));
    out.matchers.push_back(std::move(m));
    if (out.first_matcher_field == nullptr) out.first_matcher_field = "match_re";
  }
  return Status::Ok();
}

Status ParseMatchersField(const json::value& v, RouteConfig& out) {
  const std::string field = out.path + ".matchers";
  PLATOPS_ASSIGN_OR_RETURN(std::vector<std::string> lines, ScalarList(v, field));
  for (size_t i = 0; i < lines.size(); ++i) {
    auto parsed = ParseMatchers(lines[i]);
    if (!parsed.ok()) return InvalidArgument(parsed.status().message(), Index(field, i));
    for (Matcher& m : *parsed) out.matchers.push_back(std::move(m));
    if (!parsed->empty() && out.first_matcher_field == nullptr) {
      out.first_matcher_field = "matchers";
    }
  }
  return Status::Ok();
}

// config.Route.UnmarshalYAML's checks on one route, after its fields (children included)
// decoded.
Status CheckRoute(const RouteConfig& r, const json::value* match,
                  const std::vector<std::string>& group_by_text) {
  if (match != nullptr) {
    for (const auto& kv : match->get_object()) {
      const std::string name(kv.key());
      if (!IsValidLabelName(name)) {
        return InvalidArgument(fmt::format("invalid label name {}", GoQuote(name)),
                               r.path + ".match." + name);
      }
    }
  }
  const std::string group_by_field = r.path + ".group_by";
  for (size_t i = 0; i < group_by_text.size(); ++i) {
    const std::string& label = group_by_text[i];
    if (label != "..." && !IsValidLabelName(label)) {
      return InvalidArgument(fmt::format("invalid label name {} in group_by list", GoQuote(label)),
                             Index(group_by_field, i));
    }
  }
  if (!r.group_by.empty() && r.group_by_all) {
    return InvalidArgument(
        "cannot have wildcard group_by (`...`) and other other labels at the same time",
        group_by_field);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < group_by_text.size(); ++i) {
    const std::string& label = group_by_text[i];
    if (label == "...") continue;
    if (!seen.insert(label).second) {
      return InvalidArgument(fmt::format("duplicated label {} in group_by", GoQuote(label)),
                             Index(group_by_field, i));
    }
  }
  if (r.group_interval && r.group_interval->count() == 0) {
    return InvalidArgument("group_interval cannot be zero", r.path + ".group_interval");
  }
  if (r.repeat_interval && r.repeat_interval->count() == 0) {
    return InvalidArgument("repeat_interval cannot be zero", r.path + ".repeat_interval");
  }
  return Status::Ok();
}

Result<RouteConfig> ParseRouteConfig(const json::value& v, std::string path) {
  JsonReader reader(v, path);
  if (!reader.ok()) return reader.status();
  RouteConfig r;
  r.path = std::move(path);
  auto field = [&](const char* name) { return r.path + "." + name; };

  const json::value* receiver = reader.Raw("receiver");
  const json::value* group_by = reader.Raw("group_by");
  const json::value* cont = reader.Raw("continue");
  const json::value* match = reader.Raw("match");
  const json::value* match_re = reader.Raw("match_re");
  const json::value* matchers = reader.Raw("matchers");
  const json::value* group_wait = reader.Raw("group_wait");
  const json::value* group_interval = reader.Raw("group_interval");
  const json::value* repeat_interval = reader.Raw("repeat_interval");
  const json::value* mute = reader.Raw("mute_time_intervals");
  const json::value* active = reader.Raw("active_time_intervals");
  const json::value* routes = reader.Raw("routes");
  PLATOPS_RETURN_IF_ERROR(reader.Finish());

  if (receiver != nullptr) {
    PLATOPS_ASSIGN_OR_RETURN(r.receiver, ScalarText(*receiver, field("receiver")));
  }
  std::vector<std::string> group_by_text;
  if (group_by != nullptr) {
    PLATOPS_ASSIGN_OR_RETURN(group_by_text, ScalarList(*group_by, field("group_by")));
    for (const std::string& label : group_by_text) {
      if (label == "...") {
        r.group_by_all = true;
      } else {
        r.group_by.push_back(label);
      }
    }
  }
  if (cont != nullptr) {
    PLATOPS_ASSIGN_OR_RETURN(r.continue_matching, ScalarBool(*cont, field("continue")));
  }
  if (match != nullptr) PLATOPS_RETURN_IF_ERROR(ParseMatch(*match, r));
  if (match_re != nullptr) PLATOPS_RETURN_IF_ERROR(ParseMatchRe(*match_re, r));
  if (matchers != nullptr) PLATOPS_RETURN_IF_ERROR(ParseMatchersField(*matchers, r));
  const std::array<std::pair<const json::value*, std::optional<std::chrono::milliseconds>*>, 3>
      durations = {{{group_wait, &r.group_wait},
                    {group_interval, &r.group_interval},
                    {repeat_interval, &r.repeat_interval}}};
  const std::array<const char*, 3> duration_names = {"group_wait", "group_interval",
                                                     "repeat_interval"};
  for (size_t i = 0; i < durations.size(); ++i) {
    if (durations[i].first == nullptr) continue;
    PLATOPS_ASSIGN_OR_RETURN(*durations[i].second,
                             ParseRouteDuration(*durations[i].first, field(duration_names[i])));
  }
  if (mute != nullptr) {
    PLATOPS_ASSIGN_OR_RETURN(r.mute_time_intervals,
                             ScalarList(*mute, field("mute_time_intervals")));
  }
  if (active != nullptr) {
    PLATOPS_ASSIGN_OR_RETURN(r.active_time_intervals,
                             ScalarList(*active, field("active_time_intervals")));
  }
  if (routes != nullptr) {
    if (!routes->is_array()) return InvalidArgument("must be a list of routes", field("routes"));
    const json::array& children = routes->get_array();
    for (size_t i = 0; i < children.size(); ++i) {
      PLATOPS_ASSIGN_OR_RETURN(RouteConfig child,
                               ParseRouteConfig(children[i], Index(field("routes"), i)));
      r.routes.push_back(std::move(child));
    }
  }
  PLATOPS_RETURN_IF_ERROR(CheckRoute(r, match, group_by_text));
  return r;
}

// checkReceiver: children before their parent.
Status CheckReceivers(const RouteConfig& r, const std::set<std::string>& receivers) {
  for (const RouteConfig& child : r.routes) {
    PLATOPS_RETURN_IF_ERROR(CheckReceivers(child, receivers));
  }
  if (!r.receiver.empty() && receivers.count(r.receiver) == 0) {
    return InvalidArgument(fmt::format("undefined receiver {} used in route", GoQuote(r.receiver)),
                           r.path + ".receiver");
  }
  return Status::Ok();
}

// checkTimeInterval: children before their parent, active before mute.
Status CheckTimeIntervals(const RouteConfig& r, const std::set<std::string>& names) {
  for (const RouteConfig& child : r.routes) {
    PLATOPS_RETURN_IF_ERROR(CheckTimeIntervals(child, names));
  }
  const std::array<std::pair<const char*, const std::vector<std::string>*>, 2> lists = {
      {{"active_time_intervals", &r.active_time_intervals},
       {"mute_time_intervals", &r.mute_time_intervals}}};
  for (const auto& [field, list] : lists) {
    for (size_t i = 0; i < list->size(); ++i) {
      if (names.count((*list)[i]) == 0) {
        return InvalidArgument(
            fmt::format("undefined time interval {} used in route", GoQuote((*list)[i])),
            Index(r.path + "." + field, i));
      }
    }
  }
  return Status::Ok();
}

Status CheckRoot(const RouteConfig& root) {
  if (root.receiver.empty()) {
    return InvalidArgument("root route must specify a default receiver", root.path + ".receiver");
  }
  if (!root.matchers.empty()) {
    return InvalidArgument("root route must not have any matchers",
                           root.path + "." + root.first_matcher_field);
  }
  if (!root.mute_time_intervals.empty()) {
    return InvalidArgument("root route must not have any mute time intervals",
                           root.path + ".mute_time_intervals");
  }
  if (!root.active_time_intervals.empty()) {
    return InvalidArgument("root route must not have any active time intervals",
                           root.path + ".active_time_intervals");
  }
  return Status::Ok();
}

bool MatcherLess(const Matcher& a, const Matcher& b) {
  if (a.name() != b.name()) return a.name() < b.name();
  if (a.value() != b.value()) return a.value() < b.value();
  return a.type() < b.type();
}

}  // namespace

// Builds the resolved tree as dispatch.NewRoute does.
class RouteBuilder {
 public:
  static std::unique_ptr<Route> Build(RouteConfig& config, const Route* parent) {
    std::unique_ptr<Route> route(new Route());
    route->parent_ = parent;
    route->path_ = std::move(config.path);
    if (parent != nullptr) {
      route->receiver_ = parent->receiver_;
      route->group_by_all_ = parent->group_by_all_;
      route->group_by_ = parent->group_by_;
      route->group_wait_ = parent->group_wait_;
      route->group_interval_ = parent->group_interval_;
      route->repeat_interval_ = parent->repeat_interval_;
    }
    if (!config.receiver.empty()) route->receiver_ = std::move(config.receiver);
    if (!config.group_by.empty()) {
      route->group_by_ = std::set<std::string>(config.group_by.begin(), config.group_by.end());
      route->group_by_all_ = false;
    } else if (config.group_by_all) {
      route->group_by_all_ = true;
    }
    if (config.group_wait) route->group_wait_ = *config.group_wait;
    if (config.group_interval) route->group_interval_ = *config.group_interval;
    if (config.repeat_interval) route->repeat_interval_ = *config.repeat_interval;
    route->mute_time_intervals_ = std::move(config.mute_time_intervals);
    route->active_time_intervals_ = std::move(config.active_time_intervals);
    route->continue_ = config.continue_matching;
    route->matchers_ = std::move(config.matchers);
    std::sort(route->matchers_.begin(), route->matchers_.end(), MatcherLess);
    route->key_ = parent == nullptr ? MatchersString(route->matchers_)
                                    : parent->key_ + "/" + MatchersString(route->matchers_);
    for (RouteConfig& child : config.routes) {
      route->routes_.push_back(Build(child, route.get()));
    }
    return route;
  }
};

std::vector<const Route*> Route::Match(const LabelSet& labels) const {
  if (!MatchesAll(matchers_, labels)) return {};
  std::vector<const Route*> all;
  for (const std::unique_ptr<Route>& child : routes_) {
    std::vector<const Route*> matches = child->Match(labels);
    const bool matched = !matches.empty();
    all.insert(all.end(), matches.begin(), matches.end());
    if (matched && !child->continue_) break;
  }
  if (all.empty()) all.push_back(this);
  return all;
}

void Route::Walk(const std::function<void(const Route&)>& visit) const {
  visit(*this);
  for (const std::unique_ptr<Route>& child : routes_) child->Walk(visit);
}

Result<std::unique_ptr<Route>> ParseRouteTree(const json::value& route,
                                              const std::set<std::string>& receivers,
                                              const std::set<std::string>& time_intervals) {
  PLATOPS_ASSIGN_OR_RETURN(RouteConfig config, ParseRouteConfig(route, kRootRoutePath));
  PLATOPS_RETURN_IF_ERROR(CheckRoot(config));
  PLATOPS_RETURN_IF_ERROR(CheckReceivers(config, receivers));
  PLATOPS_RETURN_IF_ERROR(CheckTimeIntervals(config, time_intervals));
  if (config.continue_matching) {
    return InvalidArgument("cannot have continue in root route", config.path + ".continue");
  }
  return RouteBuilder::Build(config, nullptr);
}

LabelSet GroupLabels(const Route& route, const LabelSet& alert_labels) {
  if (route.group_by_all()) return alert_labels;
  LabelSet out;
  for (const Label& label : alert_labels) {
    if (route.group_by().count(label.name) > 0) out.Set(label.name, label.value);
  }
  return out;
}

std::string GroupKey(const Route& route, const LabelSet& group_labels) {
  std::vector<std::string> items;
  items.reserve(group_labels.size());
  for (const Label& label : group_labels) items.push_back(label.name + "=" + GoQuote(label.value));
  std::sort(items.begin(), items.end());
  std::string out = route.Key();
  out += ":{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  out += '}';
  return out;
}

}  // namespace platops::alerting
