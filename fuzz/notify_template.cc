// Fuzzes Alertmanager notification templates (user `templates:` files and templated receiver
// fields): any text loads as a definition file or fails with Go's "template: " error; any text
// renders against a sample notification, in text and in HTML mode, or fails the same way.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/notify_template.h"

namespace {

platops::alerting::NotificationData Sample() {
  using platops::Timestamp;
  platops::alerting::NotificationData d;
  d.receiver = "team.sre";
  d.group_key = "{}:{alertname=\"DiskFull\"}";
  d.group_labels = {{"alertname", "DiskFull"}};
  d.external_url = "http://platops:9470";
  d.now = Timestamp(std::chrono::milliseconds(1'767'225'600'000));
  platops::alerting::Alert firing;
  firing.labels = {{"alertname", "DiskFull"}, {"instance", "db-1"}, {"severity", "critical"}};
  firing.annotations = {{"summary", "<b>disk</b> full"}};
  firing.starts_at = d.now - std::chrono::minutes(5);
  firing.ends_at = d.now + std::chrono::minutes(5);
  platops::alerting::Alert resolved = firing;
  resolved.labels.Set("instance", "db-2");
  resolved.ends_at = d.now - std::chrono::minutes(1);
  d.alerts = {firing, resolved};
  return d;
}

void CheckError(const platops::Status& s) {
  if (!s.message().starts_with("template: ")) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const platops::alerting::NotificationData kData = Sample();
  static const auto kDefaults = platops::alerting::NotificationTemplates::Load();
  if (!kDefaults.ok()) std::abort();
  for (bool html : {false, true}) {
    auto out = kDefaults->Render(text, kData, html);
    if (!out.ok()) CheckError(out.status());
  }
  auto loaded = platops::alerting::NotificationTemplates::Load({{"fuzz.tmpl", std::string(text)}});
  if (!loaded.ok()) {
    CheckError(loaded.status());
    return 0;
  }
  auto subject = loaded->Render(R"({{ template "__subject" . }})", kData);
  if (!subject.ok()) CheckError(subject.status());
  return 0;
}
