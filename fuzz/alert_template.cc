// Fuzzes the Go-template engine of alerting rules: any text is parsed without crashing; a
// template that parses is expanded with sample data (labels, a value, a fake query result) and
// either yields text or an error in Go's "template: <name>:" form.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = platops::alerting::Template::Parse("__alert_Fuzz", text);
  if (!t.ok()) {
    if (!t.status().message().starts_with("template: ")) std::abort();
    return 0;
  }
  platops::alerting::TemplateData d;
  d.labels = {{"instance", "db-1:9100"}, {"job", "node"}};
  d.external_labels = {{"cluster", "eu-1"}};
  d.external_url = "http://platops:9470";
  d.value = 1234.5;
  d.query = [](std::string_view) -> platops::Result<std::vector<platops::alerting::TemplateSample>> {
    return std::vector<platops::alerting::TemplateSample>{{{{"__name__", "up"}, {"job", "node"}}, 1}};
  };
  auto out = t->Expand(d);
  if (!out.ok() && !out.status().message().starts_with("template: ")) std::abort();
  return 0;
}
