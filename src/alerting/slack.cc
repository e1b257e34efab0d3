#include "alerting/slack.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <utility>
#include <vector>

#include "alerting/go_json.h"
#include "alerting/webhook_notify.h"
#include "base/strings.h"

namespace platops::alerting {
namespace {

namespace json = boost::json;

// Writes one JSON object member by member, in call order, as Go's encoder would.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  void Close() { out_ += '}'; }

  void String(std::string_view name, std::string_view value) {
    Key(name);
    AppendGoJsonString(out_, value);
  }
  void StringOmitEmpty(std::string_view name, std::string_view value) {
    if (!value.empty()) String(name, value);
  }
  void Bool(std::string_view name, bool value) {
    Key(name);
    out_ += value ? "true" : "false";
  }
  // The member's raw JSON text.
  void Raw(std::string_view name, std::string_view json_text) {
    Key(name);
    out_ += json_text;
  }

 private:
  void Key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendGoJsonString(out_, name);
    out_ += ':';
  }

  std::string& out_;
  bool first_ = true;
};

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Byte offset of rune `n` (s.size() when s has fewer runes).
size_t RuneOffset(std::string_view s, size_t n) {
  size_t runes = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (runes == n) return i;
      ++runes;
    }
  }
  return s.size();
}

// notify.TruncateInRunes: at most `n` runes, the last one "…" when cut.
std::string TruncateInRunes(std::string_view s, size_t n) {
  if (RuneCount(s) <= n) return std::string(s);
  if (n <= 3) return std::string(s.substr(0, RuneOffset(s, n)));
  return std::string(s.substr(0, RuneOffset(s, n - 1))) + "…";
}

// Slack's control-character escaping for text that must not be read as markup.
std::string SlackEscape(std::string_view s) { return EscapeMarkup(s); }

// A URL inside <...|...>: escaped, and "|" percent-encoded so it cannot end the URL early.
std::string SlackEscapeUrl(std::string_view url) {
  std::string out;
  for (char c : SlackEscape(url)) {
    if (c == '|') {
      out += "%7C";
    } else {
      out += c;
    }
  }
  return out;
}

// "*<link|title>*\n" + text, the text cut so that the whole stays within Slack's limit.
std::string SectionText(std::string_view title, std::string_view link, std::string_view text) {
  std::string head;
  if (!title.empty()) {
    head = link.empty() ? "*" + SlackEscape(title) + "*"
                        : "*<" + SlackEscapeUrl(link) + "|" + SlackEscape(title) + ">*";
    if (!text.empty()) head += "\n";
  }
  const size_t head_runes = RuneCount(head);
  if (head_runes >= kSlackMaxSectionChars) {
    return TruncateInRunes(head + std::string(text), kSlackMaxSectionChars);
  }
  return head + TruncateInRunes(text, kSlackMaxSectionChars - head_runes);
}

// Renders templates and remembers the first error with the field it came from.
class Renderer {
 public:
  explicit Renderer(const RenderFn& render) : render_(render) {}

  std::string operator()(std::string_view text, const std::string& field) {
    if (!status_.ok() || text.empty()) return {};
    Result<std::string> out = render_(text, false);
    if (!out.ok()) {
      status_ = Status(out.status().code(), out.status().message(), field);
      return {};
    }
    return std::move(out).value();
  }
  const Status& status() const { return status_; }

 private:
  const RenderFn& render_;
  Status status_;
};

std::string Index(std::string_view name, size_t i) {
  return std::string(name) + "[" + std::to_string(i) + "]";
}

// A string member of a field or action as written ("" when absent).
std::string Member(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<std::string> FieldsJson(const SlackConfig& c, Renderer& render) {
  json::value parsed;
  try {
    parsed = json::parse(c.fields_json.empty() ? "[]" : c.fields_json);
  } catch (const std::exception&) {
    return InvalidArgument("is not a JSON list", "fields");
  }
  if (!parsed.is_array()) return InvalidArgument("must be a list", "fields");
  std::string out;
  for (size_t i = 0; i < parsed.get_array().size(); ++i) {
    const json::value& v = parsed.get_array()[i];
    const std::string path = Index("fields", i);
    if (!v.is_object()) return InvalidArgument("must be an object", path);
    const json::object& f = v.get_object();
    // A field's own `short` wins over short_fields.
    bool is_short = c.short_fields;
    if (const json::value* s = f.if_contains("short"); s && s->is_bool()) is_short = s->get_bool();
    std::string title = render(Member(f, "title"), path + ".title");
    std::string value = render(Member(f, "value"), path + ".value");
    if (!render.status().ok()) return render.status();
    out += out.empty() ? "[" : ",";
    ObjectWriter w(out);
    w.StringOmitEmpty("title", title);
    w.StringOmitEmpty("value", value);
    w.Bool("short", is_short);
    w.Close();
  }
  if (!out.empty()) out += "]";
  return out;
}

Result<std::string> ActionsJson(const SlackConfig& c, Renderer& render) {
  json::value parsed;
  try {
    parsed = json::parse(c.actions_json.empty() ? "[]" : c.actions_json);
  } catch (const std::exception&) {
    return InvalidArgument("is not a JSON list", "actions");
  }
  if (!parsed.is_array()) return InvalidArgument("must be a list", "actions");
  std::string out;
  for (size_t i = 0; i < parsed.get_array().size(); ++i) {
    const json::value& v = parsed.get_array()[i];
    const std::string path = Index("actions", i);
    if (!v.is_object()) return InvalidArgument("must be an object", path);
    const json::object& a = v.get_object();
    // A URL button: Alertmanager drops the message-action members (name, value, confirm).
    const bool url_button = !Member(a, "url").empty();
    std::string type = render(Member(a, "type"), path + ".type");
    std::string text = render(Member(a, "text"), path + ".text");
    std::string url = render(Member(a, "url"), path + ".url");
    std::string style = render(Member(a, "style"), path + ".style");
    std::string name, value;
    std::string confirm;
    if (!url_button) {
      name = render(Member(a, "name"), path + ".name");
      value = render(Member(a, "value"), path + ".value");
      if (const json::value* cv = a.if_contains("confirm"); cv && cv->is_object()) {
        const json::object& co = cv->get_object();
        const std::string cpath = path + ".confirm";
        std::string ctext = render(Member(co, "text"), cpath + ".text");
        std::string ctitle = render(Member(co, "title"), cpath + ".title");
        std::string ok_text = render(Member(co, "ok_text"), cpath + ".ok_text");
        std::string dismiss = render(Member(co, "dismiss_text"), cpath + ".dismiss_text");
        ObjectWriter cw(confirm);
        cw.StringOmitEmpty("text", ctext);
        cw.StringOmitEmpty("title", ctitle);
        cw.StringOmitEmpty("ok_text", ok_text);
        cw.StringOmitEmpty("dismiss_text", dismiss);
        cw.Close();
      }
    }
    if (!render.status().ok()) return render.status();
    out += out.empty() ? "[" : ",";
    ObjectWriter w(out);
    w.StringOmitEmpty("type", type);
    w.StringOmitEmpty("text", text);
    w.StringOmitEmpty("url", url);
    w.StringOmitEmpty("style", style);
    w.StringOmitEmpty("name", name);
    w.StringOmitEmpty("value", value);
    if (!confirm.empty()) w.Raw("confirm", confirm);
    w.Close();
  }
  if (!out.empty()) out += "]";
  return out;
}

}  // namespace

Result<std::string> SlackPayload(const SlackConfig& c, const RenderFn& render_fn) {
  Renderer render(render_fn);
  const std::string channel = render(c.channel, "channel");
  const std::string username = render(c.username, "username");
  const std::string icon_emoji = render(c.icon_emoji, "icon_emoji");
  const std::string icon_url = render(c.icon_url, "icon_url");
  const std::string title = TruncateInRunes(render(c.title, "title"), kSlackMaxTitleRunes);
  const std::string title_link = render(c.title_link, "title_link");
  const std::string pretext = render(c.pretext, "pretext");
  const std::string text = render(c.text, "text");
  const std::string fallback = render(c.fallback, "fallback");
  const std::string callback_id = render(c.callback_id, "callback_id");
  const std::string image_url = render(c.image_url, "image_url");
  const std::string thumb_url = render(c.thumb_url, "thumb_url");
  const std::string footer = render(c.footer, "footer");
  const std::string color = render(c.color, "color");
  if (!render.status().ok()) return render.status();
  PLATOPS_ASSIGN_OR_RETURN(std::string fields, FieldsJson(c, render));
  PLATOPS_ASSIGN_OR_RETURN(std::string actions, ActionsJson(c, render));

  std::string out;
  ObjectWriter top(out);
  top.StringOmitEmpty("channel", channel);
  top.StringOmitEmpty("username", username);
  top.StringOmitEmpty("icon_emoji", icon_emoji);
  top.StringOmitEmpty("icon_url", icon_url);
  if (c.link_names) top.Bool("link_names", true);
  top.String("text", fallback.empty() ? title : fallback);

  const std::string section = SectionText(title, title_link, text);
  if (!section.empty()) {
    std::string blocks = "[";
    ObjectWriter block(blocks);
    block.String("type", "section");
    std::string section_text;
    ObjectWriter st(section_text);
    st.String("type", "mrkdwn");
    st.String("text", section);
    st.Close();
    block.Raw("text", section_text);
    block.Close();
    blocks += "]";
    top.Raw("blocks", blocks);
  }

  std::string attachment;
  ObjectWriter att(attachment);
  att.StringOmitEmpty("pretext", pretext);
  att.String("fallback", fallback);
  att.String("callback_id", callback_id);
  if (!fields.empty()) att.Raw("fields", fields);
  if (!actions.empty()) att.Raw("actions", actions);
  att.StringOmitEmpty("image_url", image_url);
  att.StringOmitEmpty("thumb_url", thumb_url);
  att.String("footer", footer);
  att.StringOmitEmpty("color", color);
  std::string mrkdwn = "[";
  const std::vector<std::string> default_mrkdwn_in = {"fallback", "pretext", "text"};
  const std::vector<std::string>& mrkdwn_in = c.mrkdwn_in.empty() ? default_mrkdwn_in : c.mrkdwn_in;
  for (size_t i = 0; i < mrkdwn_in.size(); ++i) {
    if (i > 0) mrkdwn += ',';
    AppendGoJsonString(mrkdwn, mrkdwn_in[i]);
  }
  mrkdwn += "]";
  att.Raw("mrkdwn_in", mrkdwn);
  att.Close();
  top.Raw("attachments", "[" + attachment + "]");
  top.Close();
  return out;
}

std::string RedactSecretUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return "<secret>";
  const size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return "<secret>";
  return std::string(url.substr(0, authority_start)) + std::string(authority) + "/<secret>";
}

Result<OutgoingNotification> SlackNotification(const SlackConfig& c, size_t index,
                                               const NotificationData& data, const RenderFn& render,
                                               const SecretBox& box, std::string idempotency_key) {
  const std::string prefix = Index("slack_configs", index);
  if (c.api_url.value.empty()) return InvalidArgument("must not be empty", prefix + ".api_url");
  Result<std::string> body = SlackPayload(c, render);
  if (!body.ok()) return body.status().WithFieldPrefix(prefix);
  OutgoingNotification n;
  n.idempotency_key = std::move(idempotency_key);
  n.receiver = data.receiver;
  n.integration = Index("slack", index);
  n.kind = "slack";
  n.target = RedactSecretUrl(c.api_url.value);
  n.request = std::move(body).value();
  DeliverySecret secret{.url = c.api_url.value};
  ApplyHttpConfig(c.http_config, n, secret);
  n.sealed_secret = SealDeliverySecret(box, secret);
  return n;
}

}  // namespace platops::alerting
