#pragma once
// KindRegistry: the one list of configuration-as-code kinds (`kind: Service`, ...). Each domain
// module registers its kinds here through its RegisterKinds(); apply, export, the API and the CLI
// read the registry, so a new kind needs no change outside its module.
// Thread-safety: register at start-up; read-only afterwards.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace platops::config {

// A reference from one document to an object of some kind ("Service payments-api depends on
// Service db"), checked against the state the whole apply would leave.
struct Reference {
  std::string kind;
  std::string key;
  std::string field;  // where in the referring document: "depends_on[0].service"
};

struct KindHandler {
  std::string kind;  // "Service"
  // Objects are created and updated in ascending order, deleted in descending order.
  int order = 0;
  // The least role (identity::Role's number: 1 viewer .. 4 admin) that may apply or prune this
  // kind. Default 3, operator.
  int write_role = 3;
  // Decodes and validates a document's fields (everything but `kind`). Returns the normalised
  // spec: the document as export would write it (no version, no timestamps).
  std::function<Result<boost::json::object>(const boost::json::value& doc, const std::string& path)>
      decode;
  // Optional: whether a document without `kind` is one of this kind (an Alertmanager file is
  // recognised by its `route`). Used only when exactly one kind recognises the document.
  std::function<bool(const boost::json::object& doc)> recognizes;
  // The key of a normalised spec ("payments-api").
  std::function<std::string(const boost::json::object& spec)> key;
  // What a normalised spec refers to.
  std::function<std::vector<Reference>(const boost::json::object& spec)> references;
  // Every current object as key -> normalised spec.
  std::function<Result<std::map<std::string, boost::json::object>>(store::Tx& tx)> list;
  // Creates or updates from a normalised spec inside the apply transaction; references were
  // checked already.
  std::function<Status(store::Tx& tx, const std::string& actor, const boost::json::object& spec,
                       bool create)>
      put;
  std::function<Status(store::Tx& tx, const std::string& actor, const std::string& key)> remove;
  // Optional: checks the state an apply leaves, inside its transaction, after all its puts and
  // deletes, for rules that span documents (a Route and the receivers of an
  // AlertmanagerConfig). Called once per apply that created, updated or deleted an object of
  // this kind (not in a dry run); an error aborts the apply.
  std::function<Status(store::Tx& tx)> check_state;
};

class KindRegistry {
 public:
  // REQUIRES: the kind is not registered yet.
  void Register(KindHandler handler);
  const KindHandler* Find(const std::string& kind) const;
  // The kind of a document: its `kind`, or for one without, the one kind that recognizes it.
  // "" when neither.
  std::string KindOf(const boost::json::object& doc) const;
  // Ordered by `order`.
  std::vector<const KindHandler*> All() const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, KindHandler> kinds_;
};

// One document of an apply, with where it came from for error messages.
struct Document {
  boost::json::value body;  // an object with "kind"
  std::string file;         // may be empty
  int index = 0;            // position in its file (or in the request)
};

struct DocumentError {
  std::string file;
  int index = 0;
  std::string kind;
  std::string key;
  Status status;
};

enum class PlanAction { kCreate, kUpdate, kDelete, kUnchanged };
std::string_view PlanActionName(PlanAction a);

struct PlanItem {
  std::string kind;
  std::string key;
  PlanAction action = PlanAction::kUnchanged;
  std::vector<std::string> changed_fields;  // for kUpdate
};

struct ApplyOptions {
  bool dry_run = false;
  // Delete objects of the kinds present in the input that the input does not name.
  bool prune = false;
};

struct ApplyResult {
  std::vector<PlanItem> plan;
  std::vector<DocumentError> errors;  // non-empty: nothing was changed
  bool applied = false;
};

// Validates every document, computes the plan against the current state, and (unless dry_run
// or there are errors) applies it in one write transaction. A non-OK Status means the store
// failed or a write was refused during apply (then nothing was changed either).
Result<ApplyResult> Apply(store::Store& store, const KindRegistry& registry,
                          const std::vector<Document>& docs, const ApplyOptions& options,
                          const std::string& actor);

// Deletes one object, as an apply with --prune would, and checks the state it leaves
// (check_state) in the same transaction. `kind` is matched ignoring case ("route"). kNotFound
// for an unknown kind or key.
Status Delete(store::Store& store, const KindRegistry& registry, const std::string& kind,
              const std::string& key, const std::string& actor);
// The handler of `kind` matched ignoring case; null when there is none.
const KindHandler* FindIgnoringCase(const KindRegistry& registry, const std::string& kind);

// The current state as documents, in apply order, each with "kind" first.
Result<std::vector<boost::json::object>> Export(store::Store& store, const KindRegistry& registry);

}  // namespace platops::config
