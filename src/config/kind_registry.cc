#include "config/kind_registry.h"

#include <boost/json.hpp>

#include <set>
#include <stdexcept>

#include "base/strings.h"

namespace platops::config {

namespace json = boost::json;

void KindRegistry::Register(KindHandler handler) {
  std::string name = handler.kind;
  if (!kinds_.emplace(name, std::move(handler)).second)
    throw std::logic_error("kind registered twice: " + name);
}

const KindHandler* KindRegistry::Find(const std::string& kind) const {
  auto it = kinds_.find(kind);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::string KindRegistry::KindOf(const json::object& doc) const {
  auto kind_it = doc.find("kind");
  if (kind_it != doc.end()) {
    return kind_it->value().is_string() ? std::string(kind_it->value().get_string()) : "";
  }
  // A document of another tool's format that one kind takes as is (an Alertmanager file).
  const KindHandler* taker = nullptr;
  for (const auto& [name, h] : kinds_) {
    if (!h.recognizes || !h.recognizes(doc)) continue;
    if (taker != nullptr) return "";
    taker = &h;
  }
  return taker != nullptr ? taker->kind : "";
}

std::vector<const KindHandler*> KindRegistry::All() const {
  std::vector<const KindHandler*> out;
  for (const auto& [_, h] : kinds_) out.push_back(&h);
  std::stable_sort(out.begin(), out.end(),
                   [](const KindHandler* a, const KindHandler* b) { return a->order < b->order; });
  return out;
}

std::vector<std::string> KindRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto* h : All()) out.push_back(h->kind);
  return out;
}

std::string_view PlanActionName(PlanAction a) {
  switch (a) {
    case PlanAction::kCreate:
      return "create";
    case PlanAction::kUpdate:
      return "update";
    case PlanAction::kDelete:
      return "delete";
    case PlanAction::kUnchanged:
      return "unchanged";
  }
  return "unchanged";
}

namespace {

struct Decoded {
  const KindHandler* handler;
  json::object spec;
  std::string key;
  const Document* source;
};

std::vector<std::string> ChangedFields(const json::object& before, const json::object& after) {
  std::vector<std::string> out;
  for (const auto& kv : after) {
    auto it = before.find(kv.key());
    if (it == before.end() || it->value() != kv.value()) out.emplace_back(kv.key());
  }
  for (const auto& kv : before)
    if (!after.contains(kv.key())) out.emplace_back(kv.key());
  return out;
}

}  // namespace

Result<ApplyResult> Apply(store::Store& store, const KindRegistry& registry,
                          const std::vector<Document>& docs, const ApplyOptions& options,
                          const std::string& actor) {
  ApplyResult result;
  auto fail = [&](const Document& d, std::string kind, std::string key, Status st) {
    result.errors.push_back({d.file, d.index, std::move(kind), std::move(key), std::move(st)});
  };

  // 1. Decode and validate each document on its own.
  std::vector<Decoded> decoded;
  std::map<std::pair<std::string, std::string>, const Document*> seen;
  for (const auto& d : docs) {
    if (!d.body.is_object()) {
      fail(d, "", "", InvalidArgument("a document must be a mapping with a kind"));
      continue;
    }
    const auto& obj = d.body.get_object();
    auto kind_it = obj.find("kind");
    std::string kind = registry.KindOf(obj);
    if (kind.empty() && (kind_it == obj.end() || !kind_it->value().is_string())) {
      fail(d, "", "",
           InvalidArgument("is required: one of " + Join(registry.Names(), ", "), "kind"));
      continue;
    }
    const KindHandler* h = registry.Find(kind);
    if (!h) {
      fail(d, kind, "",
           InvalidArgument("unknown kind \"" + Abbreviate(kind) +
                               "\"; known kinds: " + Join(registry.Names(), ", "),
                           "kind"));
      continue;
    }
    json::object rest = obj;
    rest.erase("kind");
    auto spec = h->decode(json::value(std::move(rest)), "");
    if (!spec.ok()) {
      fail(d, kind, "", spec.status());
      continue;
    }
    std::string key = h->key(*spec);
    if (auto [it, inserted] = seen.emplace(std::make_pair(kind, key), &d); !inserted) {
      fail(d, kind, key,
           InvalidArgument(kind + " \"" + key + "\" is defined twice (also document " +
                           std::to_string(it->second->index) +
                           (it->second->file.empty() ? "" : " of " + it->second->file) + ")"));
      continue;
    }
    decoded.push_back({h, std::move(*spec), key, &d});
  }

  // 2. Plan against current state, check references against the state after the apply, and
  // apply — all inside one write transaction, which a dry run or any error rolls back.
  std::set<std::string> input_kinds;
  for (const auto& d : decoded) input_kinds.insert(d.handler->kind);
  Status st = store.Write([&](store::Tx& tx) -> Status {
    std::map<std::string, std::map<std::string, json::object>> current;
    for (const auto* h : registry.All()) {
      PLATOPS_ASSIGN_OR_RETURN(current[h->kind], h->list(tx));
    }
    std::map<std::string, std::set<std::string>> final_keys;
    for (const auto& [kind, objs] : current)
      for (const auto& [key, _] : objs) final_keys[kind].insert(key);
    std::map<std::string, std::set<std::string>> named;
    for (const auto& d : decoded) {
      final_keys[d.handler->kind].insert(d.key);
      named[d.handler->kind].insert(d.key);
    }
    std::vector<PlanItem> deletes;
    if (options.prune) {
      for (const auto& kind : input_kinds) {
        for (const auto& [key, _] : current[kind]) {
          if (!named[kind].count(key)) {
            deletes.push_back({kind, key, PlanAction::kDelete, {}});
            final_keys[kind].erase(key);
          }
        }
      }
    }
    for (const auto& d : decoded) {
      for (const auto& ref : d.handler->references(d.spec)) {
        if (!final_keys[ref.kind].count(ref.key)) {
          fail(*d.source, d.handler->kind, d.key,
               Unprocessable(ref.kind + " \"" + ref.key +
                                 "\" does not exist and is not defined in this apply",
                             ref.field));
        }
      }
    }
    if (!result.errors.empty()) return Status::Ok();

    std::vector<const Decoded*> ordered;
    for (const auto& d : decoded) ordered.push_back(&d);
    std::stable_sort(ordered.begin(), ordered.end(), [](const Decoded* a, const Decoded* b) {
      return a->handler->order < b->handler->order;
    });
    for (const Decoded* d : ordered) {
      auto& objs = current[d->handler->kind];
      auto it = objs.find(d->key);
      PlanItem item{d->handler->kind, d->key, PlanAction::kCreate, {}};
      if (it != objs.end()) {
        item.changed_fields = ChangedFields(it->second, d->spec);
        item.action = item.changed_fields.empty() ? PlanAction::kUnchanged : PlanAction::kUpdate;
      }
      result.plan.push_back(std::move(item));
    }
    std::stable_sort(deletes.begin(), deletes.end(), [&](const PlanItem& a, const PlanItem& b) {
      return registry.Find(a.kind)->order > registry.Find(b.kind)->order;
    });
    for (auto& del : deletes) result.plan.push_back(del);
    if (options.dry_run) return Status::Ok();

    // Creates and updates in kind order, then deletes (most dependent kinds first): by then no
    // object in the input still refers to what is deleted.
    for (size_t i = 0; i < ordered.size(); ++i) {
      const PlanItem& item = result.plan[i];
      if (item.action == PlanAction::kUnchanged) continue;
      Status s =
          ordered[i]->handler->put(tx, actor, ordered[i]->spec, item.action == PlanAction::kCreate);
      if (!s.ok()) {
        fail(*ordered[i]->source, item.kind, item.key, s);
        return s;
      }
    }
    for (const auto& del : deletes) {
      Status s = registry.Find(del.kind)->remove(tx, actor, del.key);
      if (!s.ok())
        return Status(s.code(), del.kind + " \"" + del.key + "\": " + s.message(), s.field());
    }
    std::set<std::string> changed;
    for (size_t i = 0; i < ordered.size(); ++i) {
      if (result.plan[i].action != PlanAction::kUnchanged) changed.insert(result.plan[i].kind);
    }
    for (const auto& del : deletes) changed.insert(del.kind);
    for (const auto* h : registry.All()) {
      if (!h->check_state || !changed.count(h->kind)) continue;
      Status s = h->check_state(tx);
      if (!s.ok()) return Status(s.code(), h->kind + ": " + s.message(), s.field());
    }
    result.applied = true;
    return Status::Ok();
  });
  if (!result.errors.empty()) {
    result.applied = false;
    return result;
  }
  PLATOPS_RETURN_IF_ERROR(st);
  if (options.dry_run) result.applied = false;
  return result;
}

const KindHandler* FindIgnoringCase(const KindRegistry& registry, const std::string& kind) {
  for (const auto* h : registry.All()) {
    if (EqualsIgnoreCase(h->kind, kind)) return h;
  }
  return nullptr;
}

Status Delete(store::Store& store, const KindRegistry& registry, const std::string& kind,
              const std::string& key, const std::string& actor) {
  const KindHandler* h = FindIgnoringCase(registry, kind);
  if (h == nullptr) {
    return NotFound("no kind " + QuoteForMessage(kind) + "; kinds: " + Join(registry.Names(), ", "));
  }
  return store.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto current, h->list(tx));
    if (!current.count(key)) return NotFound(h->kind + " " + QuoteForMessage(key) + " does not exist");
    PLATOPS_RETURN_IF_ERROR(h->remove(tx, actor, key));
    if (h->check_state) {
      Status s = h->check_state(tx);
      if (!s.ok()) return Status(s.code(), h->kind + ": " + s.message(), s.field());
    }
    return Status::Ok();
  });
}

Result<std::vector<json::object>> Export(store::Store& store, const KindRegistry& registry) {
  std::vector<json::object> out;
  PLATOPS_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    for (const auto* h : registry.All()) {
      PLATOPS_ASSIGN_OR_RETURN(auto objs, h->list(tx));
      for (auto& [key, spec] : objs) {
        json::object doc;
        doc["kind"] = h->kind;
        for (auto& kv : spec) doc[kv.key()] = kv.value();
        out.push_back(std::move(doc));
      }
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace platops::config
