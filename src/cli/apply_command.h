#pragma once
// `platops apply` and `platops export`: configuration as code between files and the server.
// The helpers are pure so tests can check them without a server. Thread-safety: pure functions.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <vector>

#include "base/status.h"

namespace platops::cli {

// One document read for apply, with where it came from.
struct SourceDocument {
  boost::json::value body;
  std::string file;  // the path as found ("conf/services.yaml")
  int index = 0;     // position among the file's non-empty documents, from 0
};

// Reads every path: a directory contributes all its .yaml, .yml and .json files, recursively,
// sorted by path; a file is read whatever its name. YAML files are document streams; a .json
// file is one document, or a list of documents. The error names the file.
Result<std::vector<SourceDocument>> ReadDocuments(const std::vector<std::string>& paths);

// The body of POST /api/v1/apply.
boost::json::object ApplyRequestJson(const std::vector<SourceDocument>& docs, bool dry_run,
                                     bool prune);

// "services.yaml" for kind "Service": the lower-case plural of the kind.
std::string KindFileName(const std::string& kind);

// Groups exported documents by kind (in their first-seen order) and writes one YAML stream per
// kind into `dir` (created when missing). Returns the written paths. Same documents, same bytes.
Result<std::vector<std::string>> WriteExport(const boost::json::array& documents,
                                             const std::string& dir);

}  // namespace platops::cli
