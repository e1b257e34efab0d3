#include "http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace platops::http {
namespace {

Handler Named(std::string name) {
  return [name](Request&) { return Response::Text(200, name); };
}

std::string Call(const Router::Match& m) {
  Request req;
  return m.handler == nullptr ? std::string("<none>") : (*m.handler)(req).body;
}

TEST(RouterTest, LiteralBeatsParameterInEitherOrder) {
  Router a;
  a.Add(Method::kGet, "/api/v1/services/{slug}", Named("param"));
  a.Add(Method::kGet, "/api/v1/services/search", Named("literal"));
  Router b;
  b.Add(Method::kGet, "/api/v1/services/search", Named("literal"));
  b.Add(Method::kGet, "/api/v1/services/{slug}", Named("param"));
  for (const Router* r : {&a, &b}) {
    Router::Match lit = r->Find(Method::kGet, "/api/v1/services/search");
    EXPECT_EQ(Call(lit), "literal");
    EXPECT_EQ(lit.route, "/api/v1/services/search");
    EXPECT_TRUE(lit.params.empty());
    Router::Match par = r->Find(Method::kGet, "/api/v1/services/web");
    EXPECT_EQ(Call(par), "param");
    EXPECT_EQ(par.route, "/api/v1/services/{slug}");
    EXPECT_EQ(par.params.at("slug"), "web");
  }
}

TEST(RouterTest, EarlierLiteralSegmentWins) {
  Router r;
  r.Add(Method::kGet, "/{a}/x", Named("param-first"));
  r.Add(Method::kGet, "/y/{b}", Named("literal-first"));
  EXPECT_EQ(Call(r.Find(Method::kGet, "/y/x")), "literal-first");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/z/x")), "param-first");
}

TEST(RouterTest, SeveralParametersPercentDecoded) {
  Router r;
  r.Add(Method::kGet, "/api/v1/services/{slug}/dependencies/{dep}", Named("dep"));
  Router::Match m = r.Find(Method::kGet, "/api/v1/services/web%20app/dependencies/a%2Fb");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params.at("slug"), "web app");
  EXPECT_EQ(m.params.at("dep"), "a/b");
  EXPECT_EQ(m.route, "/api/v1/services/{slug}/dependencies/{dep}");
}

TEST(RouterTest, RootAndLiteralPaths) {
  Router r;
  r.Add(Method::kGet, "/", Named("root"));
  r.Add(Method::kGet, "/healthz", Named("health"), /*run_inline=*/true);
  EXPECT_EQ(Call(r.Find(Method::kGet, "/")), "root");
  Router::Match m = r.Find(Method::kGet, "/healthz");
  EXPECT_EQ(Call(m), "health");
  EXPECT_TRUE(m.run_inline);
  EXPECT_FALSE(r.Find(Method::kGet, "/").run_inline);
}

TEST(RouterTest, NotFound) {
  Router r;
  r.Add(Method::kGet, "/api/v1/services", Named("list"));
  r.Add(Method::kGet, "/api/v1/services/{slug}", Named("one"));
  Router::Match m = r.Find(Method::kGet, "/x");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(m.status.message(), "no route for GET /x");
  // Segments are exact: a trailing slash is an empty segment that no parameter matches.
  EXPECT_EQ(r.Find(Method::kGet, "/api/v1/services/").status.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Find(Method::kGet, "/api/v1/services/web/").status.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Find(Method::kGet, "/api/v1").status.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Find(Method::kGet, "api/v1/services").status.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Find(Method::kGet, "").status.code(), StatusCode::kNotFound);
}

TEST(RouterTest, MethodNotAllowedListsAllowed) {
  Router r;
  r.Add(Method::kGet, "/api/v1/services/{slug}", Named("get"));
  r.Add(Method::kPut, "/api/v1/services/{slug}", Named("put"));
  r.Add(Method::kDelete, "/api/v1/services/{slug}", Named("delete"));
  r.Add(Method::kPost, "/api/v1/services", Named("create"));
  Router::Match m = r.Find(Method::kPost, "/api/v1/services/web");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.status.code(), StatusCode::kMethodNotAllowed);
  EXPECT_EQ(m.allowed,
            (std::vector<Method>{Method::kGet, Method::kHead, Method::kPut, Method::kDelete}));
  Router::Match list = r.Find(Method::kGet, "/api/v1/services");
  EXPECT_EQ(list.status.code(), StatusCode::kMethodNotAllowed);
  EXPECT_EQ(list.allowed, std::vector<Method>{Method::kPost});
}

TEST(RouterTest, MethodChoosesAmongMatchingTemplates) {
  // A literal route for another method does not hide a parameter route for this one.
  Router r;
  r.Add(Method::kGet, "/a/{x}", Named("get-param"));
  r.Add(Method::kPost, "/a/b", Named("post-literal"));
  EXPECT_EQ(Call(r.Find(Method::kGet, "/a/b")), "get-param");
  EXPECT_EQ(Call(r.Find(Method::kPost, "/a/b")), "post-literal");
  EXPECT_EQ(r.Find(Method::kPost, "/a/c").status.code(), StatusCode::kMethodNotAllowed);
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router r;
  r.Add(Method::kGet, "/status", Named("get-status"));
  r.Add(Method::kGet, "/metrics", Named("get-metrics"));
  r.Add(Method::kHead, "/metrics", Named("head-metrics"));
  Router::Match m = r.Find(Method::kHead, "/status");
  EXPECT_EQ(Call(m), "get-status");
  EXPECT_EQ(m.route, "/status");
  EXPECT_EQ(Call(r.Find(Method::kHead, "/metrics")), "head-metrics");
  EXPECT_EQ(r.Find(Method::kHead, "/nope").status.code(), StatusCode::kNotFound);
}

TEST(RouterTest, RoutesListsWhatWasAdded) {
  Router r;
  r.Add(Method::kGet, "/healthz", Named("h"), true);
  r.Add(Method::kPost, "/api/v1/teams", Named("t"));
  std::vector<RouteInfo> routes = r.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].method, Method::kGet);
  EXPECT_EQ(routes[0].path_template, "/healthz");
  EXPECT_TRUE(routes[0].run_inline);
  EXPECT_EQ(routes[1].path_template, "/api/v1/teams");
  EXPECT_FALSE(routes[1].run_inline);
}

TEST(RouterTest, RejectsBadTemplates) {
  Router r;
  EXPECT_THROW(r.Add(Method::kGet, "healthz", Named("x")), std::invalid_argument);
  EXPECT_THROW(r.Add(Method::kGet, "/a/x{y}", Named("x")), std::invalid_argument);
  r.Add(Method::kGet, "/a", Named("x"));
  EXPECT_THROW(r.Add(Method::kGet, "/a", Named("x")), std::invalid_argument);
}

}  // namespace
}  // namespace platops::http
