#include "http/message.h"

#include <gtest/gtest.h>

namespace platops::http {
namespace {

TEST(MessageTest, MethodNamesRoundTrip) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch,
                   Method::kDelete, Method::kOptions}) {
    EXPECT_EQ(ParseMethod(MethodName(m)), m) << MethodName(m);
  }
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  EXPECT_EQ(ParseMethod("PROPFIND"), Method::kOther);
}

TEST(MessageTest, HeadersAreCaseInsensitive) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-Thing", "1");
  h.Add("x-thing", "2");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("X-THING"), "1");
  EXPECT_FALSE(h.Get("Accept").has_value());
  h.Set("X-THING", "3");
  ASSERT_EQ(h.items().size(), 2u);
  EXPECT_EQ(h.Get("x-thing"), "3");
  EXPECT_EQ(h.items()[1].first, "X-THING");
}

TEST(MessageTest, RequestQueryAndPathParams) {
  Request req;
  req.query.emplace("limit", "10");
  req.query.emplace("tag", "a");
  req.query.emplace("tag", "b");
  req.path_params["slug"] = "web";
  EXPECT_EQ(req.Query("limit"), "10");
  EXPECT_EQ(req.Query("tag"), "a");
  EXPECT_FALSE(req.Query("cursor").has_value());
  EXPECT_EQ(req.PathParam("slug"), "web");
  EXPECT_EQ(req.PathParam("team"), "");
}

TEST(MessageTest, ResponseConstructors) {
  Response json = Response::Json(201, R"({"id":1})");
  EXPECT_EQ(json.status, 201);
  EXPECT_EQ(json.content_type, "application/json");
  EXPECT_EQ(json.body, R"({"id":1})");
  Response text = Response::Text(200, "ok");
  EXPECT_EQ(text.content_type, "text/plain; charset=utf-8");
  Response metrics = Response::Text(200, "up 1\n", "text/plain; version=0.0.4");
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  Response none = Response::NoContent();
  EXPECT_EQ(none.status, 204);
  EXPECT_TRUE(none.body.empty());
}

TEST(MessageTest, HttpStatusForEveryCode) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kMethodNotAllowed), 405);
  EXPECT_EQ(HttpStatusFor(StatusCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnprocessable), 422);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDeadlineExceeded), 504);
}

TEST(MessageTest, ErrorBodyWithField) {
  Response r = Response::Error(InvalidArgument("must be 1..4, got 7", "services[3].tier"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":"validation_failed","message":"must be 1..4, got 7",)"
                    R"("field":"services[3].tier"}})");
}

TEST(MessageTest, ErrorBodyOmitsEmptyField) {
  EXPECT_EQ(Response::Error(NotFound("service web not found")).body,
            R"({"error":{"code":"not_found","message":"service web not found"}})");
  Response conflict = Response::Error(Conflict("stale version"));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body, R"({"error":{"code":"conflict","message":"stale version"}})");
  Response limited = Response::Error(Status(StatusCode::kResourceExhausted, "slow down"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, R"({"error":{"code":"rate_limited","message":"slow down"}})");
  Response timeout = Response::Error(Status(StatusCode::kDeadlineExceeded, "store timed out"));
  EXPECT_EQ(timeout.status, 504);
  EXPECT_EQ(timeout.body, R"({"error":{"code":"timeout","message":"store timed out"}})");
  EXPECT_FALSE(conflict.headers.Get("WWW-Authenticate").has_value());
}

TEST(MessageTest, UnauthenticatedAsksForBearer) {
  Response r = Response::Error(Status(StatusCode::kUnauthenticated, "missing token"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.Get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(r.body, R"({"error":{"code":"unauthenticated","message":"missing token"}})");
}

TEST(MessageTest, ErrorBodyEscapesUserInput) {
  // Quotes, control characters and invalid UTF-8 from user input must yield valid JSON.
  Response r =
      Response::Error(InvalidArgument("bad \"x\"\n\x01 \xff\xfe caf\xc3\xa9 \xe2\x82", "a\\b"));
  EXPECT_EQ(
      r.body,
      "{\"error\":{\"code\":\"validation_failed\",\"message\":\"bad \\\"x\\\"\\n\\u0001 "
      "\xEF\xBF\xBD\xEF\xBF\xBD caf\xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\",\"field\":\"a\\\\b\"}}");
}

TEST(MessageTest, ErrorBodyRejectsOverlongAndSurrogateEncodings) {
  // An overlong '/' and an encoded surrogate are replaced byte by byte.
  Response r = Response::Error(NotFound("\xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80"));
  EXPECT_EQ(r.body,
            "{\"error\":{\"code\":\"not_found\",\"message\":\"\xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xf0\x9f\x98\x80\"}}");
}

TEST(ResponseErrorTest, InternalDetailStaysInTheLog) {
  Response r = Response::Error(Internal("no such table: servicez (SELECT * FROM servicez)"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("servicez"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("code":"internal")"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace platops::http
