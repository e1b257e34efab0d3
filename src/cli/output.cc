#include "cli/output.h"

#include <boost/json.hpp>

#include <algorithm>
#include <ostream>

#include "config/yaml_json.h"

namespace platops::cli {

namespace json = boost::json;

namespace {

size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::string Sanitize(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

void WritePretty(const json::value& v, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent) + 2, ' ');
  if (v.is_object()) {
    const auto& obj = v.get_object();
    if (obj.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : obj) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      out += json::serialize(json::value(kv.key()));
      out += ": ";
      WritePretty(kv.value(), indent + 2, out);
    }
    out += '\n';
    out.append(static_cast<size_t>(indent), ' ');
    out += '}';
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    if (arr.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < arr.size(); ++i) {
      if (i) out += ",\n";
      out += pad;
      WritePretty(arr[i], indent + 2, out);
    }
    out += '\n';
    out.append(static_cast<size_t>(indent), ' ');
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

// "db" or "cache(soft)" from one of depends_on's {"service","kind"}.
std::string DependencyText(const json::object& dep) {
  std::string out = Field(dep, "service");
  if (Field(dep, "kind") == "soft") out += "(soft)";
  return out;
}

std::string DependsOn(const json::object& item) { return Field(item, "depends_on"); }

Column FieldColumn(std::string header, std::string field) {
  return {std::move(header),
          [field = std::move(field)](const json::object& item) { return Field(item, field); }};
}

}  // namespace

Result<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  return InvalidArgument("must be table, json or yaml, got \"" + std::string(name) + "\"",
                         "output");
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(header_.size());
  for (auto& c : cells) c = Sanitize(std::move(c));
  rows_.push_back(std::move(cells));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = DisplayWidth(header_[i]);
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) line += "  ";
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - DisplayWidth(row[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(header_);
  for (const auto& row : rows_) print_row(row);
}

std::string CellText(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "-";
    case json::kind::string:
      return v.get_string().empty() ? "-" : std::string(v.get_string());
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::array: {
      if (v.get_array().empty()) return "-";
      std::string out;
      for (const auto& item : v.get_array()) {
        if (!out.empty()) out += ',';
        if (item.is_string()) {
          out += item.get_string();
        } else if (item.is_object() && item.get_object().contains("service")) {
          out += DependencyText(item.get_object());  // depends_on
        } else {
          out += json::serialize(item);
        }
      }
      return out;
    }
    case json::kind::object: {
      if (v.get_object().empty()) return "-";
      std::string out;
      for (const auto& kv : v.get_object()) {
        if (!kv.value().is_string()) return json::serialize(v);
        if (!out.empty()) out += ',';
        out += std::string(kv.key()) + "=" + std::string(kv.value().get_string());
      }
      return out;
    }
    default:
      return json::serialize(v);
  }
}

std::string Field(const json::object& item, std::string_view field) {
  auto it = item.find(field);
  return it == item.end() ? "-" : CellText(it->value());
}

std::vector<Column> ServiceColumns() {
  return {FieldColumn("SLUG", "slug"), FieldColumn("NAME", "name"), FieldColumn("TIER", "tier"),
          FieldColumn("TEAM", "team"), Column{"DEPENDS_ON", DependsOn}};
}

std::vector<Column> TeamColumns() {
  return {FieldColumn("SLUG", "slug"), FieldColumn("NAME", "name"),
          FieldColumn("MEMBERS", "members")};
}

std::vector<Column> UserColumns() {
  return {FieldColumn("NAME", "name"), FieldColumn("EMAIL", "email"), FieldColumn("ROLE", "role"),
          FieldColumn("TIME_ZONE", "time_zone")};
}

std::vector<Column> TokenColumns() {
  return {FieldColumn("ID", "id"),
          FieldColumn("NAME", "name"),
          FieldColumn("USER", "user"),
          FieldColumn("ROLE", "role"),
          Column{"EXPIRES",
                 [](const json::object& item) {
                   std::string s = Field(item, "expires_at");
                   return s == "-" ? std::string("never") : s;
                 }},
          FieldColumn("LAST_USED", "last_used_at"),
          FieldColumn("REVOKED", "revoked_at")};
}

std::vector<Column> EventColumns() {
  return {FieldColumn("SEQ", "seq"), FieldColumn("TIME", "time"), FieldColumn("ACTOR", "actor"),
          FieldColumn("ACTION", "action"),
          Column{"SUBJECT", [](const json::object& item) {
                   auto it = item.find("subject");
                   if (it == item.end() || !it->value().is_object()) return std::string("-");
                   const auto& s = it->value().get_object();
                   return Field(s, "type") + "/" + Field(s, "id");
                 }}};
}

std::vector<Column> GraphColumns() {
  return {FieldColumn("SLUG", "slug"),   FieldColumn("NAME", "name"), FieldColumn("TIER", "tier"),
          FieldColumn("DEPTH", "depth"), FieldColumn("KIND", "kind"), FieldColumn("VIA", "via")};
}

void PrintTable(const std::vector<Column>& columns, const json::array& items, std::ostream& out) {
  std::vector<std::string> header;
  for (const auto& c : columns) header.push_back(c.header);
  Table table(std::move(header));
  for (const auto& item : items) {
    if (!item.is_object()) continue;
    std::vector<std::string> row;
    for (const auto& c : columns) row.push_back(c.cell(item.get_object()));
    table.AddRow(std::move(row));
  }
  table.Print(out);
}

void PrintDetail(const json::object& obj, std::ostream& out) {
  size_t width = 0;
  for (const auto& kv : obj) width = std::max(width, DisplayWidth(kv.key()));
  for (const auto& kv : obj) {
    std::string line(kv.key());
    line.append(width - DisplayWidth(kv.key()) + 2, ' ');
    line += Sanitize(CellText(kv.value()));
    out << line << '\n';
  }
}

std::string PrettyJson(const json::value& v) {
  std::string out;
  WritePretty(v, 0, out);
  out += '\n';
  return out;
}

void PrintData(const json::value& v, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kYaml) {
    out << config::JsonToYaml({v});
  } else {
    out << PrettyJson(v);
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace platops::cli
