#include "checks/model.h"

#include "catalog/catalog.h"

namespace platops::checks {

namespace {

constexpr std::pair<CheckType, std::string_view> kCheckTypes[] = {
    {CheckType::kHttp, "http"}, {CheckType::kTcp, "tcp"},   {CheckType::kDns, "dns"},
    {CheckType::kTls, "tls"},   {CheckType::kExec, "exec"}, {CheckType::kHeartbeat, "heartbeat"},
};

constexpr std::pair<Severity, std::string_view> kSeverities[] = {
    {Severity::kCritical, "critical"},
    {Severity::kWarning, "warning"},
    {Severity::kInfo, "info"},
};

}  // namespace

std::string_view CheckTypeName(CheckType t) {
  for (const auto& [type, name] : kCheckTypes)
    if (type == t) return name;
  return "http";
}

std::optional<CheckType> ParseCheckType(std::string_view s) {
  for (const auto& [type, name] : kCheckTypes)
    if (name == s) return type;
  return std::nullopt;
}

std::string_view SeverityName(Severity s) {
  for (const auto& [severity, name] : kSeverities)
    if (severity == s) return name;
  return "critical";
}

std::optional<Severity> ParseSeverity(std::string_view s) {
  for (const auto& [severity, name] : kSeverities)
    if (name == s) return severity;
  return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> SplitCheckId(std::string_view id) {
  size_t dot = id.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view service = id.substr(0, dot), name = id.substr(dot + 1);
  if (!catalog::IsSlug(service) || !catalog::IsSlug(name)) return std::nullopt;
  return std::make_pair(std::string(service), std::string(name));
}

bool Covers(const MaintenanceWindow& w, const CheckDef& c) {
  bool in_scope = false;
  for (const auto& s : w.services) in_scope = in_scope || s == c.service;
  if (!in_scope) return false;
  for (const auto& [name, value] : w.check_labels) {
    auto it = c.labels.find(name);
    if (it == c.labels.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace platops::checks
