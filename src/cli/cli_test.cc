#include "cli/cli.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/json_reader.h"
#include "cli/api_client.h"
#include "cli/apply_command.h"
#include "cli/output.h"
#include "cli/serve_command.h"
#include "server/core.h"
#include "testing/temp_store.h"

namespace platops::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// Answers requests from a table of "METHOD URL" -> response; records every request. Unknown
// requests get the API's 404.
class FakeServer {
 public:
  void On(const std::string& method_and_url, int status, std::string body) {
    routes_[method_and_url] = http::ClientResponse{status, {}, std::move(body)};
  }
  void Unreachable() { unreachable_ = true; }

  Result<http::ClientResponse> Send(const http::ClientRequest& req) {
    requests.push_back(req);
    if (unreachable_) return Unavailable(req.url + ": Couldn't connect to server");
    auto it = routes_.find(std::string(http::MethodName(req.method)) + " " + req.url);
    if (it != routes_.end()) return it->second;
    return http::ClientResponse{
        404, {}, R"({"error":{"code":"not_found","message":"no route )" + req.url + R"("}})"};
  }

  std::vector<http::ClientRequest> requests;

 private:
  std::map<std::string, http::ClientResponse> routes_;
  bool unreachable_ = false;
};

class ForwardingClient : public http::Client {
 public:
  explicit ForwardingClient(FakeServer& server) : server_(server) {}
  Result<http::ClientResponse> Send(const http::ClientRequest& req) override {
    return server_.Send(req);
  }

 private:
  FakeServer& server_;
};

std::string Header(const http::ClientRequest& req, const std::string& name) {
  for (const auto& [k, v] : req.headers)
    if (k == name) return v;
  return {};
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kBase = "http://127.0.0.1:9470";

class CliTest : public ::testing::Test {
 protected:
  int RunCli(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    CliIo io{in_, out_, err_, env_, [this] { return std::make_unique<ForwardingClient>(server_); }};
    return cli::Run(args, io);
  }
  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }
  json::value LastBody() const {
    auto v = ParseJson(server_.requests.back().body);
    EXPECT_TRUE(v.ok()) << server_.requests.back().body;
    return v.ok() ? *v : json::value();
  }

  FakeServer server_;
  std::map<std::string, std::string> env_{{"PLATOPS_TOKEN", "secret-token"}};
  std::istringstream in_;
  std::ostringstream out_, err_;
};

// --- exit codes and errors ---

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({}), kExitUsage);
  EXPECT_NE(err().find("subcommand is required"), std::string::npos) << err();
  EXPECT_EQ(RunCli({"service"}), kExitUsage);
  EXPECT_EQ(RunCli({"service", "list", "--bogus"}), kExitUsage);
  EXPECT_NE(err().find("--bogus"), std::string::npos) << err();
  EXPECT_EQ(RunCli({"service", "list", "--limit", "x"}), kExitUsage);
  EXPECT_EQ(RunCli({"service", "get"}), kExitUsage);
  EXPECT_EQ(RunCli({"-o", "xml", "service", "list"}), kExitUsage);
  EXPECT_EQ(RunCli({"apply", "-f", "/nonexistent/platops/conf"}), kExitUsage);
  EXPECT_EQ(RunCli({"service", "create", "--slug", "api", "--name", "API"}), kExitUsage);
  EXPECT_EQ(err(), "error: --team is required (or use -f FILE)\n");
  EXPECT_EQ(RunCli({"token", "create", "--name", "ci", "--expires", "soon"}), kExitUsage);
  EXPECT_TRUE(server_.requests.empty());
  EXPECT_TRUE(out().empty());
}

TEST_F(CliTest, HelpExitsZero) {
  EXPECT_EQ(RunCli({"--help"}), kExitOk);
  EXPECT_NE(out().find("apply"), std::string::npos);
  EXPECT_EQ(RunCli({"service", "list", "--help"}), kExitOk);
  EXPECT_NE(out().find("--limit"), std::string::npos) << out();
}

TEST_F(CliTest, VersionPrintsTheBuildVersion) {
  EXPECT_EQ(RunCli({"--version"}), kExitOk);
  EXPECT_EQ(out(), std::string("platops ") + server::Version() + "\n");
  EXPECT_EQ(RunCli({"version"}), kExitOk);
  EXPECT_TRUE(server_.requests.empty());
}

TEST_F(CliTest, ApiErrorExitsOneWithCodeFieldAndMessage) {
  server_.On("GET http://127.0.0.1:9470/api/v1/services/nope", 404,
             R"({"error":{"code":"not_found","message":"no service \"nope\""}})");
  EXPECT_EQ(RunCli({"service", "get", "nope"}), kExitFailure);
  EXPECT_EQ(err(), "error: not_found: no service \"nope\"\n");
  EXPECT_TRUE(out().empty());

  server_.On("POST http://127.0.0.1:9470/api/v1/services", 400,
             R"({"error":{"code":"validation_failed","message":"must be 1..4, got 7",)"
             R"("field":"tier"}})");
  EXPECT_EQ(RunCli({"service", "create", "--slug", "api", "--name", "API", "--team", "core",
                    "--tier", "7"}),
            kExitFailure);
  EXPECT_EQ(err(), "error: validation_failed: tier: must be 1..4, got 7\n");
}

TEST_F(CliTest, UnauthenticatedWithoutTokenSaysHowToSetIt) {
  env_.clear();
  server_.On("GET http://127.0.0.1:9470/api/v1/teams?limit=1000", 401,
             R"({"error":{"code":"unauthenticated","message":"missing token"}})");
  EXPECT_EQ(RunCli({"team", "list"}), kExitFailure);
  EXPECT_EQ(err(), "error: unauthenticated: missing token (set --token or PLATOPS_TOKEN)\n");
  EXPECT_EQ(Header(server_.requests.back(), "Authorization"), "");
}

TEST_F(CliTest, ConnectionFailureExitsOne) {
  server_.Unreachable();
  EXPECT_EQ(RunCli({"user", "list"}), kExitFailure);
  EXPECT_EQ(err(),
            "error: unavailable: http://127.0.0.1:9470/api/v1/users?limit=1000: Couldn't connect "
            "to server\n");
}

TEST_F(CliTest, ServerAndTokenFromEnvironmentAndFlags) {
  env_["PLATOPS_SERVER"] = "http://ops.example:8080/";
  server_.On("GET http://ops.example:8080/api/v1/teams?limit=1000", 200,
             R"({"items":[],"next_cursor":null})");
  EXPECT_EQ(RunCli({"team", "list"}), kExitOk) << err();
  EXPECT_EQ(Header(server_.requests.back(), "Authorization"), "Bearer secret-token");

  server_.On("GET http://other:9/api/v1/teams?limit=1000", 200, R"({"items":[]})");
  EXPECT_EQ(RunCli({"--server", "other:9", "team", "list", "--token", "flag-token"}), kExitOk)
      << err();
  EXPECT_EQ(server_.requests.back().url, "http://other:9/api/v1/teams?limit=1000");
  EXPECT_EQ(Header(server_.requests.back(), "Authorization"), "Bearer flag-token");
}

// --- lists and tables ---

TEST(TableTest, AlignsColumnsWithoutTrailingSpaces) {
  Table t({"SLUG", "NAME", "TIER"});
  t.AddRow({"payments-api", "Payments API", "1"});
  t.AddRow({"db", "Zürich DB", ""});
  t.AddRow({"x", "multi\nline"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(),
            "SLUG          NAME          TIER\n"
            "payments-api  Payments API  1\n"
            "db            Zürich DB\n"
            "x             multi line\n");
}

TEST_F(CliTest, ListFollowsNextCursorAndPrintsTable) {
  server_.On("GET http://127.0.0.1:9470/api/v1/services?limit=1000", 200,
             R"({"items":[{"slug":"api","name":"API","tier":1,"team":"core",)"
             R"("depends_on":[{"service":"db","kind":"hard"},{"service":"cache","kind":"soft"}]}],)"
             R"("next_cursor":"c 1"})");
  server_.On("GET http://127.0.0.1:9470/api/v1/services?limit=1000&cursor=c%201", 200,
             R"({"items":[{"slug":"db","name":"Database","tier":2,"team":"data-platform",)"
             R"("depends_on":[]}],"next_cursor":null})");
  ASSERT_EQ(RunCli({"service", "list"}), kExitOk) << err();
  EXPECT_EQ(server_.requests.size(), 2u);
  EXPECT_EQ(out(),
            "SLUG  NAME      TIER  TEAM           DEPENDS_ON\n"
            "api   API       1     core           db,cache(soft)\n"
            "db    Database  2     data-platform  -\n");

  ASSERT_EQ(RunCli({"-o", "json", "service", "list"}), kExitOk) << err();
  auto all = ParseJson(out());
  ASSERT_TRUE(all.ok()) << out();
  EXPECT_EQ(all->at("items").as_array().size(), 2u);
  EXPECT_TRUE(all->at("next_cursor").is_null());
}

TEST_F(CliTest, ListWithLimitFetchesOnePage) {
  server_.On("GET http://127.0.0.1:9470/api/v1/users?limit=1", 200,
             R"({"items":[{"name":"alice","email":"a@x.io","role":"admin","time_zone":"UTC"}],)"
             R"("next_cursor":"alice"})");
  ASSERT_EQ(RunCli({"user", "list", "--limit", "1", "-o", "yaml"}), kExitOk) << err();
  EXPECT_EQ(server_.requests.size(), 1u);
  EXPECT_EQ(out(),
            "items:\n"
            "  - name: alice\n"
            "    email: a@x.io\n"
            "    role: admin\n"
            "    time_zone: UTC\n"
            "next_cursor: alice\n");
}

TEST_F(CliTest, EventsPagesWithAfterSeq) {
  server_.On("GET http://127.0.0.1:9470/api/v1/events?subject_type=service&after_seq=5&limit=1000",
             200,
             R"({"items":[{"seq":6,"time":"2026-01-01T00:00:00Z","actor":"admin",)"
             R"("action":"service.created","subject":{"type":"service","id":"api"}}],)"
             R"("next_cursor":"6"})");
  server_.On("GET http://127.0.0.1:9470/api/v1/events?subject_type=service&limit=1000&after_seq=6",
             200, R"({"items":[],"next_cursor":null})");
  ASSERT_EQ(RunCli({"events", "--subject-type", "service", "--after-seq", "5"}), kExitOk) << err();
  EXPECT_EQ(out(),
            "SEQ  TIME                  ACTOR  ACTION           SUBJECT\n"
            "6    2026-01-01T00:00:00Z  admin  service.created  service/api\n");
}

TEST_F(CliTest, TokenListTable) {
  server_.On("GET http://127.0.0.1:9470/api/v1/tokens?user=ci", 200,
             R"({"items":[{"id":"tok_1","name":"deploy","user":"ci","role":"operator",)"
             R"("created_at":"2026-01-01T00:00:00Z","expires_at":null,"last_used_at":null,)"
             R"("revoked_at":null}],"next_cursor":null})");
  ASSERT_EQ(RunCli({"token", "list", "--user", "ci"}), kExitOk) << err();
  EXPECT_EQ(out(),
            "ID     NAME    USER  ROLE      EXPIRES  LAST_USED  REVOKED\n"
            "tok_1  deploy  ci    operator  never    -          -\n");
}

// --- create, delete, tokens ---

TEST_F(CliTest, CreateServiceFromFlags) {
  server_.On("POST http://127.0.0.1:9470/api/v1/services", 201,
             R"({"slug":"api","name":"API","tier":2,"team":"core","depends_on":[]})");
  ASSERT_EQ(RunCli({"service", "create", "--slug", "api", "--name", "API", "--team", "core",
                    "--tier", "2"}),
            kExitOk)
      << err();
  EXPECT_EQ(JsonToString(LastBody()), R"({"slug":"api","name":"API","team":"core","tier":2})");
  EXPECT_EQ(Header(server_.requests.back(), "Content-Type"), "application/json");
  EXPECT_EQ(out(),
            "SLUG  NAME  TIER  TEAM  DEPENDS_ON\n"
            "api   API   2     core  -\n");
}

TEST_F(CliTest, CreateFromFileDropsKind) {
  testing::TempDir dir;
  WriteText(dir.path() / "team.yaml", "kind: Team\nslug: core\nname: Core\nmembers: [alice]\n");
  server_.On("POST http://127.0.0.1:9470/api/v1/teams", 201, R"({"slug":"core"})");
  ASSERT_EQ(RunCli({"team", "create", "-f", (dir.path() / "team.yaml").string()}), kExitOk)
      << err();
  EXPECT_EQ(JsonToString(LastBody()), R"({"slug":"core","name":"Core","members":["alice"]})");

  WriteText(dir.path() / "svc.yaml", "kind: Service\nslug: api\n");
  EXPECT_EQ(RunCli({"team", "create", "-f", (dir.path() / "svc.yaml").string()}), kExitFailure);
  EXPECT_NE(err().find("kind must be Team"), std::string::npos) << err();
  // -f and field flags exclude each other.
  EXPECT_EQ(RunCli({"team", "create", "-f", (dir.path() / "team.yaml").string(), "--slug", "x"}),
            kExitUsage);
}

TEST_F(CliTest, DeleteServiceWithForce) {
  server_.On("DELETE http://127.0.0.1:9470/api/v1/services/api?force=true", 204, "");
  ASSERT_EQ(RunCli({"service", "delete", "api", "--force"}), kExitOk) << err();
  EXPECT_EQ(err(), "deleted service api\n");
  server_.On("DELETE http://127.0.0.1:9470/api/v1/services/db", 409,
             R"({"error":{"code":"conflict","message":"api depends on db"}})");
  EXPECT_EQ(RunCli({"service", "delete", "db"}), kExitFailure);
  EXPECT_EQ(err(), "error: conflict: api depends on db\n");
}

TEST_F(CliTest, DependentsTransitive) {
  server_.On("GET http://127.0.0.1:9470/api/v1/services/db/dependents?transitive=true", 200,
             R"({"service":"db","transitive":true,"items":[{"slug":"api","name":"API","tier":1,)"
             R"("depth":1,"kind":"hard","via":"db"}]})");
  ASSERT_EQ(RunCli({"service", "dependents", "db", "--transitive"}), kExitOk) << err();
  EXPECT_EQ(out(),
            "SLUG  NAME  TIER  DEPTH  KIND  VIA\n"
            "api   API   1     1      hard  db\n");
}

TEST_F(CliTest, TokenCreateOnlinePrintsSecretOnce) {
  server_.On("POST http://127.0.0.1:9470/api/v1/tokens", 201,
             R"({"id":"tok_ab","name":"ci","user":"admin","role":"operator",)"
             R"("created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-31T00:00:00Z",)"
             R"("last_used_at":null,"revoked_at":null,"secret":"pla_123"})");
  ASSERT_EQ(RunCli({"token", "create", "--name", "ci", "--role", "operator", "--expires", "30d"}),
            kExitOk)
      << err();
  EXPECT_EQ(JsonToString(LastBody()), R"({"name":"ci","role":"operator","expires_in":"30d"})");
  EXPECT_EQ(out(), "pla_123\n");
  EXPECT_NE(err().find("tok_ab"), std::string::npos) << err();
}

// --- apply ---

TEST(ApplyTest, ReadDocumentsWalksDirectorySortedWithSources) {
  testing::TempDir tmp;
  fs::path conf = tmp.path() / "conf";
  WriteText(conf / "b" / "services.yaml",
            "kind: Service\nslug: api\ntier: 1\n---\n---\nkind: Service\nslug: db\n");
  WriteText(conf / "a.yml", "kind: Team\nslug: core\n");
  WriteText(conf / "c.json", R"([{"kind":"User","name":"alice"},{"kind":"User","name":"bob"}])");
  WriteText(conf / "notes.txt", "not config");
  WriteText(conf / ".git" / "x.yaml", "kind: Team\nslug: hidden\n");

  auto docs = ReadDocuments({conf.string()});
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 5u);
  auto src = [&](size_t i) { return (*docs)[i].file + "#" + std::to_string((*docs)[i].index); };
  EXPECT_EQ(src(0), (conf / "a.yml").string() + "#0");
  EXPECT_EQ(src(1), (conf / "b" / "services.yaml").string() + "#0");
  EXPECT_EQ(src(2), (conf / "b" / "services.yaml").string() + "#1");
  EXPECT_EQ(src(3), (conf / "c.json").string() + "#0");
  EXPECT_EQ(src(4), (conf / "c.json").string() + "#1");
  EXPECT_EQ(JsonToString((*docs)[1].body), R"({"kind":"Service","slug":"api","tier":1})");
  EXPECT_EQ(JsonToString((*docs)[4].body), R"({"kind":"User","name":"bob"})");

  WriteText(conf / "bad.yaml", "kind: [\n");
  auto bad = ReadDocuments({conf.string()});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.yaml"), std::string::npos);
}

TEST_F(CliTest, ApplySendsDocumentsWithSourcesAndPrintsPlan) {
  testing::TempDir tmp;
  fs::path conf = tmp.path() / "conf";
  WriteText(conf / "teams.yaml", "kind: Team\nslug: core\nname: Core\n");
  WriteText(conf / "services.yaml",
            "kind: Service\nslug: payments-api\nname: Payments\nteam: core\n---\n"
            "kind: Service\nslug: api\nname: API\nteam: core\ntier: 2\n");
  fs::path extra = tmp.path() / "extra.yaml";
  WriteText(extra, "kind: User\nname: alice\nemail: a@x.io\n");
  server_.On(
      "POST http://127.0.0.1:9470/api/v1/apply", 200,
      R"({"dry_run":true,"applied":false,)"
      R"("summary":{"create":1,"delete":1,"unchanged":1,"update":1},)"
      R"("plan":[{"kind":"Team","key":"core","action":"unchanged"},)"
      R"({"kind":"Service","key":"payments-api","action":"create"},)"
      R"({"kind":"Service","key":"api","action":"update","changed_fields":["tier","links"]},)"
      R"({"kind":"Service","key":"old","action":"delete"}]})");
  ASSERT_EQ(RunCli({"apply", "-f", conf.string(), "-f", extra.string(), "--dry-run"}), kExitOk)
      << err();
  json::value body = LastBody();
  const auto& docs = body.at("documents").as_array();
  const auto& sources = body.at("sources").as_array();
  ASSERT_EQ(docs.size(), 4u);
  ASSERT_EQ(sources.size(), 4u);
  EXPECT_EQ(JsonToString(sources[0]),
            R"({"file":")" + (conf / "services.yaml").string() + R"(","index":0})");
  EXPECT_EQ(JsonToString(sources[1]),
            R"({"file":")" + (conf / "services.yaml").string() + R"(","index":1})");
  EXPECT_EQ(JsonToString(sources[2]),
            R"({"file":")" + (conf / "teams.yaml").string() + R"(","index":0})");
  EXPECT_EQ(JsonToString(sources[3]), R"({"file":")" + extra.string() + R"(","index":0})");
  EXPECT_EQ(JsonToString(docs[1]),
            R"({"kind":"Service","slug":"api","name":"API","team":"core","tier":2})");
  EXPECT_EQ(body.at("dry_run"), json::value(true));
  EXPECT_EQ(body.at("prune"), json::value(false));
  EXPECT_EQ(out(),
            "unchanged team/core\n"
            "create    service/payments-api\n"
            "update    service/api (tier, links)\n"
            "delete    service/old\n"
            "dry run: 1 to create, 1 to update, 1 to delete, 1 unchanged; nothing was changed\n");
}

TEST_F(CliTest, ApplyErrorsPrintEachDetailAndExitOne) {
  testing::TempDir tmp;
  WriteText(tmp.path() / "s.yaml", "kind: Service\nslug: api\ntier: 7\n");
  server_.On("POST http://127.0.0.1:9470/api/v1/apply", 422,
             R"({"error":{"code":"unprocessable","message":"2 document(s) failed",)"
             R"("details":[{"file":"conf/s.yaml","document":0,"kind":"Service","key":"api",)"
             R"("field":"tier","code":"validation_failed","message":"must be 1..4, got 7"},)"
             R"({"file":"conf/s.yaml","document":1,"kind":"Service","key":"db","field":"team",)"
             R"("code":"unprocessable","message":"team \"x\" does not exist"},)"
             R"({"file":"","document":2,"kind":"Team","key":"","field":"bogus",)"
             R"("code":"validation_failed","message":"unknown field"}]}})");
  EXPECT_EQ(RunCli({"apply", "-f", (tmp.path() / "s.yaml").string(), "--prune"}), kExitFailure);
  EXPECT_EQ(LastBody().at("prune"), json::value(true));
  EXPECT_EQ(err(),
            "conf/s.yaml#0 service/api tier: must be 1..4, got 7\n"
            "conf/s.yaml#1 service/db team: team \"x\" does not exist\n"
            "<request>#2 team bogus: unknown field\n"
            "error: 3 document(s) failed; nothing was changed\n");
  EXPECT_TRUE(out().empty());
}

TEST_F(CliTest, ApplyAppliedSummary) {
  testing::TempDir tmp;
  WriteText(tmp.path() / "t.yaml", "kind: Team\nslug: core\nname: Core\n");
  server_.On("POST http://127.0.0.1:9470/api/v1/apply", 200,
             R"({"dry_run":false,"applied":true,)"
             R"("summary":{"create":1,"delete":0,"unchanged":0,"update":0},)"
             R"("plan":[{"kind":"Team","key":"core","action":"create"}]})");
  ASSERT_EQ(RunCli({"apply", "-f", tmp.path().string()}), kExitOk) << err();
  EXPECT_EQ(out(), "create    team/core\napplied: 1 created, 0 updated, 0 deleted, 0 unchanged\n");
}

// --- export ---

constexpr const char* kExportBody =
    R"({"documents":[)"
    R"({"kind":"User","name":"alice","email":"a@x.io","time_zone":"UTC","role":"admin"},)"
    R"({"kind":"Team","slug":"core","name":"Core","description":"","members":["alice"]},)"
    R"({"kind":"Service","slug":"api","name":"API","tier":1,"team":"core","tags":[],)"
    R"("links":{},"depends_on":[{"service":"db","kind":"hard"}]},)"
    R"({"kind":"Service","slug":"db","name":"DB","tier":2,"team":"core","tags":["sql"],)"
    R"("links":{"docs":"https://x"},"depends_on":[]}]})";

TEST(ExportTest, KindFileNames) {
  EXPECT_EQ(KindFileName("Service"), "services.yaml");
  EXPECT_EQ(KindFileName("User"), "users.yaml");
  EXPECT_EQ(KindFileName("EscalationPolicy"), "escalationpolicies.yaml");
  EXPECT_EQ(KindFileName("Gateway"), "gateways.yaml");
  EXPECT_EQ(KindFileName("Status"), "statuses.yaml");
}

TEST_F(CliTest, ExportToDirectoryWritesOneFilePerKindByteStably) {
  server_.On("GET http://127.0.0.1:9470/api/v1/export", 200, kExportBody);
  testing::TempDir tmp;
  fs::path dir = tmp.path() / "out" / "state";
  ASSERT_EQ(RunCli({"export", "-o", dir.string()}), kExitOk) << err();
  EXPECT_TRUE(out().empty());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"services.yaml", "teams.yaml", "users.yaml"}));
  const std::string services = ReadText(dir / "services.yaml");
  EXPECT_EQ(services,
            "kind: Service\n"
            "slug: api\n"
            "name: API\n"
            "tier: 1\n"
            "team: core\n"
            "tags: []\n"
            "links: {}\n"
            "depends_on:\n"
            "  - service: db\n"
            "    kind: hard\n"
            "---\n"
            "kind: Service\n"
            "slug: db\n"
            "name: DB\n"
            "tier: 2\n"
            "team: core\n"
            "tags:\n"
            "  - sql\n"
            "links:\n"
            "  docs: https://x\n"
            "depends_on: []\n");
  EXPECT_EQ(ReadText(dir / "users.yaml"),
            "kind: User\nname: alice\nemail: a@x.io\ntime_zone: UTC\nrole: admin\n");
  const std::string teams = ReadText(dir / "teams.yaml");

  // Same state, same bytes; and the files read back as the same documents.
  ASSERT_EQ(RunCli({"export", "-o", dir.string()}), kExitOk) << err();
  EXPECT_EQ(ReadText(dir / "services.yaml"), services);
  EXPECT_EQ(ReadText(dir / "teams.yaml"), teams);
  auto docs = ReadDocuments({dir.string()});
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ(docs->size(), 4u);
}

TEST_F(CliTest, ExportToStdoutIsOneYamlStream) {
  server_.On("GET http://127.0.0.1:9470/api/v1/export", 200, kExportBody);
  ASSERT_EQ(RunCli({"export"}), kExitOk) << err();
  std::string first = out();
  EXPECT_EQ(first.rfind("kind: User\nname: alice\n", 0), 0u) << first;
  size_t separators = 0;
  for (size_t p = first.find("---\n"); p != std::string::npos; p = first.find("---\n", p + 1))
    ++separators;
  EXPECT_EQ(separators, 3u);
  ASSERT_EQ(RunCli({"export"}), kExitOk);
  EXPECT_EQ(out(), first);
}

// --- serve configuration ---

TEST(ServeConfigTest, FlagsOverrideFileAndEnvironmentOverridesBoth) {
  testing::TempDir tmp;
  fs::path file = tmp.path() / "platops.yaml";
  WriteText(file, "data_dir: /srv/from-file\nlisten: 127.0.0.1:1111\nlog:\n  level: debug\n");
  ServeFlags flags;
  flags.config_file = file.string();
  flags.listen = "127.0.0.1:2222";
  flags.log_format = "json";
  std::map<std::string, std::string> env{{"PLATOPS_LISTEN", "127.0.0.1:3333"},
                                         {"PLATOPS_TOKEN", "client-only"}};
  auto config = BuildServerConfig(flags, env);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->data_dir, "/srv/from-file");
  EXPECT_EQ(config->listen, "127.0.0.1:3333");
  EXPECT_EQ(config->log.level, "debug");
  EXPECT_EQ(config->log.format, "json");

  env.erase("PLATOPS_LISTEN");
  config = BuildServerConfig(flags, env);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->listen, "127.0.0.1:2222");

  flags.listen = "nonsense";
  EXPECT_FALSE(BuildServerConfig(flags, env).ok());
}

TEST_F(CliTest, ServeWithInvalidConfigurationIsAUsageError) {
  EXPECT_EQ(RunCli({"serve", "--listen", "nonsense"}), kExitUsage);
  EXPECT_NE(err().find("listen"), std::string::npos) << err();
  EXPECT_EQ(RunCli({"serve", "--log-level", "loud"}), kExitUsage);
}

TEST_F(CliTest, ConfigDefaultPrintsTheDefaultFile) {
  ASSERT_EQ(RunCli({"config", "default"}), kExitOk);
  EXPECT_EQ(out(), server::DefaultConfigYaml());
}

// --- offline admin commands on a real data directory ---

class OfflineTest : public CliTest {
 protected:
  void SetUp() override {
    SystemClock clock;
    auto core = server::Core::Open(dir_.path().string(), {}, nullptr, clock);
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    auto admin = (*core)->identity().Bootstrap(std::nullopt);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  }
  testing::TempDir dir_;
};

TEST_F(OfflineTest, TokenCreateOfflineMakesAWorkingToken) {
  ASSERT_EQ(RunCli({"token", "create", "--data-dir", dir_.path().string(), "--user", "admin",
                    "--role", "operator", "--expires", "30d", "--name", "ci"}),
            kExitOk)
      << err();
  std::string secret = out();
  ASSERT_FALSE(secret.empty());
  secret.pop_back();  // newline
  EXPECT_TRUE(server_.requests.empty());

  SystemClock clock;
  auto core = server::Core::Open(dir_.path().string(), {}, nullptr, clock);
  ASSERT_TRUE(core.ok());
  auto principal = (*core)->identity().Authenticate(secret);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->user, "admin");
  EXPECT_EQ(principal->role, identity::Role::kOperator);
  EXPECT_EQ(principal->token_name, "ci");
  core->reset();

  ASSERT_EQ(RunCli({"token", "revoke", "ci", "--data-dir", dir_.path().string()}), kExitOk)
      << err();
  EXPECT_EQ(RunCli({"token", "revoke", "ci", "--data-dir", dir_.path().string()}), kExitFailure);
  EXPECT_NE(err().find("not_found"), std::string::npos) << err();
}

TEST_F(OfflineTest, TokenCreateOfflineNeedsUserAndRole) {
  EXPECT_EQ(RunCli({"token", "create", "--data-dir", dir_.path().string(), "--user", "admin"}),
            kExitUsage);
  EXPECT_EQ(RunCli({"token", "create", "--data-dir", dir_.path().string(), "--user", "nobody",
                    "--role", "viewer"}),
            kExitFailure);
  EXPECT_NE(err().find("does not exist"), std::string::npos) << err();
}

TEST_F(OfflineTest, AuditVerifyReportsIntactChain) {
  ASSERT_EQ(RunCli({"audit", "verify", "--data-dir", dir_.path().string()}), kExitOk) << err();
  EXPECT_EQ(out().rfind("checked ", 0), 0u) << out();
  EXPECT_NE(out().find(" events\nchain intact\n"), std::string::npos) << out();
  EXPECT_EQ(out().find("checked 0 events"), std::string::npos) << out();
}

TEST_F(OfflineTest, AuditVerifyDetectsTampering) {
  {
    SystemClock clock;
    auto core = server::Core::Open(dir_.path().string(), {}, nullptr, clock);
    ASSERT_TRUE(core.ok());
    Status st = (*core)->store().Write([](store::Tx& tx) -> Status {
      return tx.Exec("UPDATE events SET actor = 'mallory' WHERE seq = 1", {}).status();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_EQ(RunCli({"audit", "verify", "--data-dir", dir_.path().string()}), kExitFailure);
  EXPECT_NE(out().find("chain broken at seq 1: "), std::string::npos) << out();
}

TEST_F(CliTest, AuditVerifyRefusesADirectoryWithoutDatabase) {
  testing::TempDir empty;
  EXPECT_EQ(RunCli({"audit", "verify", "--data-dir", empty.path().string()}), kExitFailure);
  EXPECT_NE(err().find("no platops.db"), std::string::npos) << err();
  EXPECT_FALSE(fs::exists(empty.path() / "platops.db"));
}

}  // namespace
}  // namespace platops::cli
