#pragma once
// How the CLI prints data: aligned tables, pretty JSON and YAML, and one table layout per
// resource. Thread-safety: pure functions; Table is a value type.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace platops::cli {

enum class OutputFormat { kTable, kJson, kYaml };

// "table", "json" or "yaml".
Result<OutputFormat> ParseOutputFormat(std::string_view name);

// Columns padded to their widest cell (counted in UTF-8 code points), two spaces apart, no
// trailing spaces; the header first. Newlines and tabs inside cells print as spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  // Missing cells print empty; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// One column of a resource table: its header and how to get the cell from an item.
struct Column {
  std::string header;
  std::function<std::string(const boost::json::object& item)> cell;
};

// The text of a JSON value in a cell: strings as they are, "-" for null and empty, lists joined
// with "," (a dependency {"service","kind"} as "db" or "db(soft)"), objects of strings as
// "k=v,k=v", anything else as compact JSON.
std::string CellText(const boost::json::value& v);
// CellText of item[field], "-" when absent.
std::string Field(const boost::json::object& item, std::string_view field);

// Table layouts: SLUG NAME TIER TEAM DEPENDS_ON, SLUG NAME MEMBERS, NAME EMAIL ROLE TIME_ZONE,
// ID NAME USER ROLE EXPIRES LAST_USED REVOKED, SEQ TIME ACTOR ACTION SUBJECT, and the
// dependency graph's SLUG NAME TIER DEPTH KIND VIA.
std::vector<Column> ServiceColumns();
std::vector<Column> TeamColumns();
std::vector<Column> UserColumns();
std::vector<Column> TokenColumns();
std::vector<Column> EventColumns();
std::vector<Column> GraphColumns();

void PrintTable(const std::vector<Column>& columns, const boost::json::array& items,
                std::ostream& out);
// One object as aligned "field  value" lines, in its field order.
void PrintDetail(const boost::json::object& obj, std::ostream& out);

// Two-space indented JSON with a final newline; keys in their order.
std::string PrettyJson(const boost::json::value& v);
// `v` as pretty JSON or as a one-document YAML stream. REQUIRES: format is not kTable.
void PrintData(const boost::json::value& v, OutputFormat format, std::ostream& out);

// ASCII lower case.
std::string Lower(std::string_view s);

}  // namespace platops::cli
