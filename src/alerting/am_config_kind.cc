#include "alerting/am_config_kind.h"

#include <boost/json.hpp>

#include "alerting/am_config.h"
#include "base/json_reader.h"
#include "base/strings.h"

namespace platops::alerting {

namespace json = boost::json;

namespace {

constexpr const char* kReadOnlyFields[] = {"version", "created_at", "updated_at"};

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }

// The document with every sealed secret opened; an error names a value that does not open.
Result<json::value> Opened(json::value doc, const SecretBox& box, const std::string& path) {
  Status failed = Status::Ok();
  ForEachSecret(doc, [&](json::value& secret) {
    if (!failed.ok() || !secret.is_string()) return;
    const std::string_view text = secret.get_string();
    if (!SecretBox::LooksSealed(text)) return;
    auto plain = box.Open(text);
    if (!plain.ok()) {
      failed = InvalidArgument(
          "a sealed secret does not open with this platops's key (sealed by another one?); "
          "apply the secret itself",
          path);
      return;
    }
    secret = json::string(*plain);
  });
  if (!failed.ok()) return failed;
  return doc;
}

// The event payload: the document with its secrets masked.
json::object Masked(const json::object& doc) {
  json::value v = doc;
  ForEachSecret(v, [](json::value& secret) { secret = json::string("<secret>"); });
  return v.get_object();
}

}  // namespace

std::vector<store::Migration> AlertmanagerConfigStore::Migrations() {
  return {{"alerting_am_config", 1,
           "CREATE TABLE alertmanager_config ("
           " name TEXT PRIMARY KEY, doc TEXT NOT NULL, version INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"}};
}

AlertmanagerConfigStore::AlertmanagerConfigStore(store::Store& store, const events::EventLog& log,
                                                 const Clock& clock, const SecretBox& box)
    : store_(store), log_(log), clock_(clock), box_(box) {}

Status AlertmanagerConfigStore::Load() {
  std::optional<json::object> doc;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT doc FROM alertmanager_config"
                                                   " WHERE name = $1",
                                                   {std::string(kKey)}));
    if (!row) return Status::Ok();
    PLATOPS_ASSIGN_OR_RETURN(json::value v, ParseJson(row->Text(0)));
    if (!v.is_object()) return Internal("the stored Alertmanager configuration is not an object");
    doc = std::move(v.get_object());
    return Status::Ok();
  }));
  std::lock_guard lock(mu_);
  doc_ = std::move(doc);
  return Status::Ok();
}

std::optional<std::string> AlertmanagerConfigStore::Current() const {
  std::optional<json::object> doc;
  {
    std::lock_guard lock(mu_);
    doc = doc_;
  }
  if (!doc) return std::nullopt;
  auto opened = Opened(json::value(std::move(*doc)), box_, "");
  if (!opened.ok()) return std::nullopt;
  return JsonToString(*opened);
}

Result<std::optional<std::string>> AlertmanagerConfigStore::In(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne("SELECT doc FROM alertmanager_config WHERE name = $1",
                            {std::string(kKey)}));
  if (!row) return std::optional<std::string>();
  PLATOPS_ASSIGN_OR_RETURN(json::value v, ParseJson(row->Text(0)));
  PLATOPS_ASSIGN_OR_RETURN(json::value opened, Opened(std::move(v), box_, ""));
  return std::optional<std::string>(JsonToString(opened));
}

void AlertmanagerConfigStore::SetCheck(std::function<Status(store::Tx&)> check) {
  check_ = std::move(check);
}

Status AlertmanagerConfigStore::CheckState(store::Tx& tx) const {
  return check_ ? check_(tx) : Status::Ok();
}

void AlertmanagerConfigStore::OnChange(std::function<void()> f) {
  std::lock_guard lock(change_mu_);
  on_change_ = std::move(f);
}

Result<json::object> AlertmanagerConfigStore::Decode(const json::value& input,
                                                     const std::string& path) const {
  if (!input.is_object()) return InvalidArgument("must be a mapping", path);
  json::value doc = input;
  for (const char* f : kReadOnlyFields) doc.get_object().erase(f);
  if (const json::value* t = doc.get_object().if_contains("templates");
      t != nullptr && !(t->is_array() && t->get_array().empty()) && !t->is_null()) {
    return InvalidArgument(
        "templates name files on the server and are not accepted in an applied configuration; "
        "keep them in the file of alerting.alertmanager_config",
        path.empty() ? "templates" : path + ".templates");
  }
  PLATOPS_ASSIGN_OR_RETURN(json::value plain, Opened(std::move(doc), box_, path));
  AmConfigOptions options;  // No read_file: a `*_file` field is refused with its path.
  auto parsed = ParseAlertmanagerConfig(JsonToString(plain), options);
  if (!parsed.ok()) {
    const std::string field = parsed.status().field();
    return InvalidArgument(std::string(parsed.status().message()),
                           path.empty() ? field : (field.empty() ? path : path + "." + field));
  }
  // Seal: an unchanged secret keeps its stored sealed value, so an unchanged document compares
  // equal to the stored one.
  std::map<std::string, std::string> stored;
  {
    std::lock_guard lock(mu_);
    if (doc_) {
      json::value current = *doc_;
      ForEachSecret(current, [&](json::value& secret) {
        if (!secret.is_string()) return;
        auto opened = box_.Open(secret.get_string());
        if (opened.ok()) stored.emplace(*opened, std::string(secret.get_string()));
      });
    }
  }
  ForEachSecret(plain, [&](json::value& secret) {
    if (!secret.is_string()) return;
    const std::string text(secret.get_string());
    auto it = stored.find(text);
    secret = json::string(it != stored.end() ? it->second : box_.Seal(text));
  });
  return std::move(plain.get_object());
}

Result<std::map<std::string, json::object>> AlertmanagerConfigStore::List(store::Tx& tx) const {
  std::map<std::string, json::object> out;
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name, doc FROM alertmanager_config"));
  for (const auto& r : rows) {
    PLATOPS_ASSIGN_OR_RETURN(json::value v, ParseJson(r.Text(1)));
    if (!v.is_object()) return Internal("the stored Alertmanager configuration is not an object");
    out.emplace(r.Text(0), std::move(v.get_object()));
  }
  return out;
}

Status AlertmanagerConfigStore::Put(store::Tx& tx, const std::string& actor,
                                    const json::object& spec, bool create) {
  const std::string text = JsonToString(spec);
  const std::string key(kKey);
  PLATOPS_ASSIGN_OR_RETURN(
      auto existing,
      tx.QueryOne("SELECT doc, version FROM alertmanager_config WHERE name = $1", {key}));
  const int64_t now = Ms(clock_.Now());
  json::object payload;
  std::string action;
  if (create) {
    if (existing) return Conflict("an Alertmanager configuration is applied already");
    action = "alertmanager_config.created";
    payload["after"] = Masked(spec);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO alertmanager_config (name, doc, version, created_at, updated_at)"
                " VALUES ($1, $2, 1, $3, $3)",
                {key, text, now})
            .status());
  } else {
    if (!existing) return NotFound("no Alertmanager configuration is applied");
    if (existing->Text(0) == text) return Status::Ok();
    action = "alertmanager_config.updated";
    auto before = ParseJson(existing->Text(0));
    if (before.ok() && before->is_object()) {
      payload["changes"] = JsonChanges(Masked(before->get_object()), Masked(spec));
    }
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE alertmanager_config SET doc = $2, version = $3, updated_at = $4"
                " WHERE name = $1",
                {key, text, existing->Int(1) + 1, now})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, action, "alertmanager_config", key, JsonToString(payload)})
          .status());
  tx.AfterCommit([this, spec] { Changed(spec); });
  return Status::Ok();
}

Status AlertmanagerConfigStore::Delete(store::Tx& tx, const std::string& actor,
                                       const std::string& key) {
  PLATOPS_ASSIGN_OR_RETURN(
      auto existing, tx.QueryOne("SELECT doc FROM alertmanager_config WHERE name = $1", {key}));
  if (!existing) return NotFound("no Alertmanager configuration is applied");
  PLATOPS_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM alertmanager_config WHERE name = $1", {key}).status());
  PLATOPS_RETURN_IF_ERROR(log_.Append(tx, {actor, "alertmanager_config.deleted",
                                           "alertmanager_config", key, "{}"})
                              .status());
  tx.AfterCommit([this] { Changed(std::nullopt); });
  return Status::Ok();
}

void AlertmanagerConfigStore::Changed(std::optional<json::object> doc) {
  {
    std::lock_guard lock(mu_);
    doc_ = std::move(doc);
  }
  std::lock_guard lock(change_mu_);
  if (on_change_) on_change_();
}

void RegisterAlertmanagerConfigKind(config::KindRegistry& registry,
                                    AlertmanagerConfigStore& configs) {
  config::KindHandler h;
  h.kind = "AlertmanagerConfig";
  h.order = 90;
  h.write_role = 4;  // routes every alert and holds the receivers' credentials: admins only
  h.recognizes = [](const json::object& doc) {
    return doc.contains("route") || doc.contains("receivers");
  };
  h.decode = [&configs](const json::value& doc, const std::string& path) {
    return configs.Decode(doc, path);
  };
  h.key = [](const json::object&) { return std::string(AlertmanagerConfigStore::kKey); };
  h.references = [](const json::object&) { return std::vector<config::Reference>{}; };
  h.list = [&configs](store::Tx& tx) { return configs.List(tx); };
  h.put = [&configs](store::Tx& tx, const std::string& actor, const json::object& spec,
                   bool create) { return configs.Put(tx, actor, spec, create); };
  h.remove = [&configs](store::Tx& tx, const std::string& actor, const std::string& key) {
    return configs.Delete(tx, actor, key);
  };
  h.check_state = [&configs](store::Tx& tx) { return configs.CheckState(tx); };
  registry.Register(std::move(h));
}

}  // namespace platops::alerting
